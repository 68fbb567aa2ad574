import { KafkaJSAggregateError, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import {
  declaredRetriable,
  deserializeError,
  isRetriable,
  KafkaUnavailableError,
  ModelArtifactError,
  PncfError,
  serializeError,
  TOPIC_ALREADY_EXISTS,
  UNCLASSIFIED,
  WorkerError,
} from '../src/errors.js';

// kafkajs's protocol errors (createTopics puts one per topic in a KafkaJSAggregateError) are built from an entry of
// its error table ({ type, code, retriable, message }).
const protocolError = (type: string, retriable: boolean) =>
  new KafkaJSProtocolError({ type, code: 0, retriable, message: type } as never);

describe('typed errors', () => {
  it('carry a stable code, retriable, cause and their class name', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new KafkaUnavailableError('no answer', { cause });
    expect(error).toBeInstanceOf(PncfError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('KafkaUnavailableError');
    expect(error.code).toBe('KAFKA_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(new ModelArtifactError('bad').retriable).toBe(false);
    const config = new ConfigError('svc', ['X: bad']);
    expect(config).toBeInstanceOf(PncfError);
    expect([config.code, config.retriable, config.name]).toEqual(['CONFIG_INVALID', false, 'ConfigError']);
  });
});

describe('isRetriable', () => {
  it('reads PncfError and kafkajs errors by their retriable flag', () => {
    expect(isRetriable(new KafkaUnavailableError('x'))).toBe(true);
    expect(isRetriable(new WorkerError('x'))).toBe(false);
    expect(isRetriable(new KafkaJSConnectionError('refused'))).toBe(true);
    expect(isRetriable(new KafkaJSNonRetriableError('no'))).toBe(false);
    expect(isRetriable(protocolError('LEADER_NOT_AVAILABLE', true))).toBe(true);
    expect(isRetriable(protocolError('TOPIC_AUTHORIZATION_FAILED', false))).toBe(false);
  });

  it('treats an error that says nothing as not retriable, a programming error as known not retriable', () => {
    expect(isRetriable(new Error('plain'))).toBe(false);
    expect(declaredRetriable(new Error('plain'))).toBeUndefined();
    expect(declaredRetriable(new TypeError('x is undefined'))).toBe(false);
    expect(isRetriable('a string')).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
  });

  it('follows the cause of an error that declares nothing', () => {
    expect(isRetriable(new Error('wrapped', { cause: new KafkaUnavailableError('x') }))).toBe(true);
  });

  it('recognises TOPIC_ALREADY_EXISTS by its type, also inside kafkajs aggregate errors, only when asked', () => {
    const exists = protocolError(TOPIC_ALREADY_EXISTS, false);
    const aggregate = new KafkaJSAggregateError('Topic creation errors', [
      exists,
      protocolError('LEADER_NOT_AVAILABLE', true),
    ]);
    const options = { retriableKafkaTypes: [TOPIC_ALREADY_EXISTS] };
    expect(isRetriable(exists)).toBe(false);
    expect(isRetriable(exists, options)).toBe(true);
    expect(isRetriable(aggregate)).toBe(false);
    expect(isRetriable(aggregate, options)).toBe(true);
    const invalid = new KafkaJSAggregateError('Topic creation errors', [
      exists,
      protocolError('INVALID_REPLICATION_FACTOR', false),
    ]);
    expect(isRetriable(invalid, options)).toBe(false);
    // A message that merely mentions it does not count.
    expect(isRetriable(new Error('Topic with this name already exists'), options)).toBe(false);
  });
});

describe('serializeError / deserializeError', () => {
  it('round-trip a typed error through structured clone as its own class', () => {
    const original = new ModelArtifactError('model v000002: checksum mismatch', { cause: new Error('sha256') });
    const wire = structuredClone(serializeError(original));
    expect(wire).toMatchObject({ name: 'ModelArtifactError', code: 'MODEL_ARTIFACT_INVALID', retriable: false });
    const rebuilt = deserializeError(wire);
    expect(rebuilt).toBeInstanceOf(ModelArtifactError);
    expect(rebuilt.message).toBe(original.message);
    expect(rebuilt.stack).toBe(original.stack);
    expect((rebuilt.cause as Error).message).toBe('sha256');
  });

  it('keeps the name of a subclass unknown to the receiver, and the code and retriability of any error', () => {
    class ArtifactIntegrityError extends ModelArtifactError {}
    const rebuilt = deserializeError(serializeError(new ArtifactIntegrityError('file missing')));
    expect(rebuilt).toBeInstanceOf(ModelArtifactError);
    expect(rebuilt.name).toBe('ArtifactIntegrityError');

    const custom = deserializeError(serializeError(new PncfError('SOMETHING', 'x', { retriable: true })));
    expect([custom.code, custom.retriable]).toEqual(['SOMETHING', true]);

    const system = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    const fromSystem = deserializeError(serializeError(system));
    expect([fromSystem.code, fromSystem.retriable, fromSystem.name]).toEqual(['ENOENT', false, 'Error']);

    const plain = deserializeError(serializeError(new RangeError('bad length')));
    expect([plain.code, plain.name, plain.message]).toEqual([UNCLASSIFIED, 'RangeError', 'bad length']);
    expect(deserializeError(serializeError('thrown string')).message).toBe('thrown string');
  });
});
