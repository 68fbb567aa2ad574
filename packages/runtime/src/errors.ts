/**
 * Typed errors, modelled on kafkajs's: every error the code throws on purpose carries a stable `code` to log and
 * branch on, and `retriable` (whether doing the same thing again may succeed), so a retry policy decides from the
 * error and never from its message. Errors that cross a thread boundary travel as a SerializedError and are
 * rebuilt on the other side (serializeError / deserializeError).
 */

export interface PncfErrorOptions {
  /** Whether the same operation, tried again later, may succeed. Defaults to false. */
  retriable?: boolean;
  cause?: unknown;
}

export class PncfError extends Error {
  /** Stable and machine-readable, e.g. KAFKA_UNAVAILABLE; messages may change, codes do not. */
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: PncfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

type ErrorClassOptions = Omit<PncfErrorOptions, 'retriable'>;

/** A PncfError subclass whose code and retriability are fixed by what went wrong, not by the thrower. */
function errorKind(code: string, retriable: boolean) {
  return class extends PncfError {
    static readonly code = code;
    constructor(message: string, options: ErrorClassOptions = {}) {
      super(code, message, { cause: options.cause, retriable });
    }
  };
}

/** The Kafka cluster does not answer (no connection, no metadata, no controller yet). Retriable. */
export class KafkaUnavailableError extends errorKind('KAFKA_UNAVAILABLE', true) {}

/** A topic exists but its partitions are not served yet (no leader, offsets not listable). Retriable. */
export class TopicNotReadyError extends errorKind('TOPIC_NOT_READY', true) {
  readonly topic: string | undefined;
  constructor(message: string, options: ErrorClassOptions & { topic?: string } = {}) {
    super(message, options);
    this.topic = options.topic;
  }
}

/** A Kafka bootstrap address cannot work as given (its host name does not resolve). Not retriable. */
export class KafkaAddressError extends errorKind('KAFKA_ADDRESS_INVALID', false) {}

/**
 * The brokers answered but refused this client: SASL credentials rejected, or a TLS handshake that failed on a
 * certificate or a protocol mismatch. Not retriable: the same settings are refused again.
 */
export class KafkaSecurityError extends errorKind('KAFKA_SECURITY_REFUSED', false) {}

/** A topic a service needs does not exist and the service may not create it (KAFKA_CREATE_TOPICS=false). */
export class TopicMissingError extends errorKind('TOPIC_MISSING', false) {}

/** A model artifact is missing, corrupt or unreadable (checksums, manifest, tensors). Not retriable. */
export class ModelArtifactError extends errorKind('MODEL_ARTIFACT_INVALID', false) {}

/** The interaction store does not exist yet (the ingester creates it). Retriable. */
export class StoreNotReadyError extends errorKind('STORE_NOT_READY', true) {}

/** A worker thread died or answered nothing (not an error it reported itself). Not retriable. */
export class WorkerError extends errorKind('WORKER_FAILED', false) {}

/**
 * A transactional producer was fenced: another producer with the same transactional id initialised after it (a
 * newer leader), so this one can never write again. Not retriable.
 */
export class ProducerFencedError extends errorKind('PRODUCER_FENCED', false) {}

/** Codes deserializeError rebuilds as their own class; any other code becomes a plain PncfError. */
const classesByCode: Record<string, new (message: string, options?: { cause?: unknown }) => PncfError> = {
  [KafkaUnavailableError.code]: KafkaUnavailableError,
  [TopicNotReadyError.code]: TopicNotReadyError,
  [KafkaAddressError.code]: KafkaAddressError,
  [KafkaSecurityError.code]: KafkaSecurityError,
  [TopicMissingError.code]: TopicMissingError,
  [ModelArtifactError.code]: ModelArtifactError,
  [StoreNotReadyError.code]: StoreNotReadyError,
  [WorkerError.code]: WorkerError,
  [ProducerFencedError.code]: ProducerFencedError,
};

/** Code of an error that carried none (a plain Error from a library); rebuilt errors always have a code. */
export const UNCLASSIFIED = 'UNCLASSIFIED';

/** An error as plain data, for postMessage and JSON: what a receiver needs to rebuild and log it. */
export interface SerializedError {
  name: string;
  /** The PncfError code, or a Node system error code (ENOENT, …); absent for a plain Error. */
  code?: string;
  message: string;
  retriable?: boolean;
  stack?: string;
  cause?: SerializedError;
}

const MAX_CAUSE_DEPTH = 4;

/** Any thrown value as a SerializedError (structured-clone safe), causes included. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, retriable } = error as { code?: unknown; retriable?: unknown };
  return {
    name: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: error.message,
    ...(typeof retriable === 'boolean' ? { retriable } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(error.cause !== undefined && depth < MAX_CAUSE_DEPTH ? { cause: serializeError(error.cause, depth + 1) } : {}),
  };
}

/**
 * The typed error of a SerializedError: an instance of the class its code names (a ModelArtifactError for
 * MODEL_ARTIFACT_INVALID, …), otherwise a PncfError with the remote code (or UNCLASSIFIED) and retriability. The
 * remote name (e.g. ArtifactIntegrityError, a subclass unknown here) and stack are kept for the logs.
 */
export function deserializeError(serialized: SerializedError): PncfError {
  const cause = serialized.cause === undefined ? undefined : deserializeError(serialized.cause);
  const options = cause === undefined ? {} : { cause };
  const Known = serialized.code === undefined ? undefined : classesByCode[serialized.code];
  const error = Known
    ? new Known(serialized.message, options)
    : new PncfError(serialized.code ?? UNCLASSIFIED, serialized.message, {
        ...options,
        retriable: serialized.retriable ?? false,
      });
  error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}

/** kafkajs's error type for a topic that exists already (createTopics), matched by type, never by message. */
export const TOPIC_ALREADY_EXISTS = 'TOPIC_ALREADY_EXISTS';

// Programming errors: trying again runs into the same bug (kafkajs treats them the same way).
const UNRECOVERABLE = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

export interface RetriabilityOptions {
  /** kafkajs error types (`error.type`) that count as retriable here, e.g. [TOPIC_ALREADY_EXISTS] for createTopics. */
  retriableKafkaTypes?: readonly string[];
}

/**
 * What an error declares about retrying: its own `retriable` (PncfError, kafkajs's KafkaJSError), that of every
 * error inside an aggregate (kafkajs's KafkaJSAggregateError, one per topic), false for a programming error,
 * else its cause's; undefined when nothing says (a plain Error).
 */
export function declaredRetriable(error: unknown, options: RetriabilityOptions = {}, depth = 0): boolean | undefined {
  if (error === null || typeof error !== 'object' || depth > MAX_CAUSE_DEPTH) return undefined;
  const { retriable, type, errors, name, cause } = error as {
    retriable?: unknown;
    type?: unknown;
    errors?: unknown;
    name?: unknown;
    cause?: unknown;
  };
  if (typeof type === 'string' && options.retriableKafkaTypes?.includes(type)) return true;
  if (typeof retriable === 'boolean') return retriable;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors.every((inner) => declaredRetriable(inner, options, depth + 1) === true);
  }
  if (typeof name === 'string' && UNRECOVERABLE.has(name)) return false;
  return declaredRetriable(cause, options, depth + 1);
}

/** Whether an error is known to be retriable; an error that says nothing is not. */
export function isRetriable(error: unknown, options: RetriabilityOptions = {}): boolean {
  return declaredRetriable(error, options) === true;
}

/**
 * kafkajs's answers for a fenced transactional producer: INVALID_PRODUCER_EPOCH (47), and PRODUCER_FENCED (90), which
 * kafkajs 2.2 does not name.
 */
const FENCED_KAFKA_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);
const FENCED_KAFKA_CODES = new Set([47, 90]);

/** Whether an error, or one it wraps, says that the producer was fenced by a newer one with its transactional id. */
export function isProducerFenced(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > MAX_CAUSE_DEPTH) return false;
  if (error instanceof ProducerFencedError) return true;
  const { type, code, cause, originalError, errors } = error as {
    type?: unknown;
    code?: unknown;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  if (typeof type === 'string' && FENCED_KAFKA_TYPES.has(type)) return true;
  if (typeof code === 'number' && FENCED_KAFKA_CODES.has(code)) return true;
  if (Array.isArray(errors) && errors.some((inner) => isProducerFenced(inner, depth + 1))) return true;
  return isProducerFenced(cause, depth + 1) || isProducerFenced(originalError, depth + 1);
}
