import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { saveArtifact } from '@pncf/pncf';
import { ArtifactIntegrityError, ModelRegistry } from '@pncf/registry';
import { ModelArtifactError, StoreNotReadyError } from '@pncf/runtime';
import { InteractionStore, type StoredEvent } from '@pncf/store';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistorySource } from '../src/history.js';
import { scorerMetrics } from '../src/metrics.js';
import { ModelHolder } from '../src/model-holder.js';
import { fixture, historyFixture } from './fixture.js';

interface LogLine {
  level: number;
  msg: string;
  err?: { type: string; name?: string; message: string; code?: string; retriable?: boolean };
  version?: string;
  serving?: string | null;
}

/** A real pino logger whose lines land in an array (so the logged error is checked as a reader sees it). */
function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('ModelHolder with the load worker (real store, registry and worker thread)', () => {
  const { artifact, data } = fixture();
  let root: string;
  let modelRegistry: ModelRegistry;
  let metricsRegistry: Registry;
  let holder: ModelHolder;
  let history: HistorySource;
  const log = capturingLogger();

  const publish = (mutate?: (staged: string) => void, model = artifact) => {
    const staged = modelRegistry.createStaging();
    saveArtifact(staged, model);
    mutate?.(staged);
    return modelRegistry.publish(staged, {}).version;
  };
  const loads = async (outcome: string) =>
    (await metricsRegistry.getSingleMetric('pncf_scorer_model_loads_total')!.get()).values.find(
      (value) => value.labels.outcome === outcome,
    )?.value ?? 0;
  const refusal = () => log.lines.filter((line) => /^model (refused|not loaded yet)/.test(line.msg)).at(-1);

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-model-holder-'));
    modelRegistry = new ModelRegistry(path.join(root, 'models'));
    metricsRegistry = new Registry();
    const storePath = path.join(root, 'store');
    const store = InteractionStore.open({ path: storePath });
    history = new HistorySource(store, 60_000);
    let filled = false;
    holder = new ModelHolder({
      modelRegistry,
      storePath,
      storeReady: () => filled,
      candidates: { nearest: 20, popular: 10 },
      metrics: scorerMetrics(metricsRegistry, () => holder.current),
      logger: log.logger,
    });

    // Before the store is complete (the view has not caught up): refused with the typed, retriable StoreNotReadyError.
    publish();
    await holder.check('test');
    expect(holder.current).toBeUndefined();
    expect(refusal()?.err).toMatchObject({
      type: 'StoreNotReadyError',
      code: StoreNotReadyError.code,
      retriable: true,
    });

    const events: StoredEvent[] = [];
    const { indptr, indices, counts } = data.byUser;
    let offset = 0n;
    for (let u = 0; u < data.userIds.length; u++) {
      for (let p = indptr[u]!; p < indptr[u + 1]!; p++) {
        events.push({ offset: offset++, user: data.userIds[u]!, item: data.itemIds[indices[p]!]!, count: counts[p]! });
      }
    }
    store.applyBatch({ topic: 'model-holder-test', partition: 0, events, nextOffset: offset });
    filled = true;
  }, 120_000);

  afterAll(async () => {
    await holder?.stop();
    holder?.current?.dispose();
    await history?.store.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('loads an intact version in the worker and swaps it in, the one refused before the store existed included', async () => {
    // The retriable refusal above did not block this version: it loads on the next check, with no new publish.
    const version = modelRegistry.currentVersion();
    await holder.check('test');
    expect(holder.current?.version).toBe(version);
    expect(await loads('loaded')).toBe(1);
  });

  it('refuses a version whose files fail their checksums: the typed error crosses the thread, the model stays', async () => {
    const serving = holder.current?.version;
    const failedBefore = await loads('failed');
    const broken = publish();
    const file = path.join(modelRegistry.versionsDir, broken, 'tensors.bin');
    const bytes = fs.readFileSync(file);
    bytes[0] = bytes[0]! ^ 0xff;
    fs.writeFileSync(file, bytes);

    await holder.check('test');
    expect(holder.current?.version).toBe(serving);
    expect(await loads('failed')).toBe(failedBefore + 1);
    expect(refusal()).toMatchObject({ version: broken, serving });
    // Rebuilt as a ModelArtifactError (pino's `type`), keeping the worker-side class name.
    expect(refusal()?.err).toMatchObject({
      type: 'ModelArtifactError',
      name: 'ArtifactIntegrityError',
      code: ModelArtifactError.code,
      retriable: false,
    });
    expect(refusal()?.err?.message).toMatch(/checksum mismatch for tensors\.bin/);
    // Remembered: the same pointer is not tried again.
    await holder.check('test');
    expect(await loads('failed')).toBe(failedBefore + 1);
  });

  it('refuses a version that passes its checksums but is no readable artifact, as MODEL_ARTIFACT_INVALID', async () => {
    const serving = holder.current?.version;
    const unreadable = publish((staged) => {
      const manifest = path.join(staged, 'manifest.json');
      if (!fs.existsSync(manifest)) throw new Error(`the artifact layout changed: no ${manifest}`);
      fs.writeFileSync(manifest, '{"format": "something else"}');
    });
    await holder.check('test');
    expect(holder.current?.version).toBe(serving);
    expect(refusal()).toMatchObject({ version: unreadable });
    expect(refusal()?.err).toMatchObject({ type: 'ModelArtifactError', code: ModelArtifactError.code });
    expect(refusal()?.err?.message).toMatch(new RegExp(`^model ${unreadable}: `));
  });

  it('loads a history model (PNCF+) in the worker and swaps it in, and a tower after it', async () => {
    const history = historyFixture().artifact;
    const version = publish(undefined, history);
    await holder.check('test');
    expect(holder.current?.version).toBe(version);
    expect(holder.current?.kind).toBe('history');
    const [result] = holder.current!.recommend([{ user: 'u1', history: { items: ['i1'], counts: [1] } }], 5).results;
    expect(result).toMatchObject({ source: 'model' });
    expect(result!.items).toHaveLength(5);
    const tower = publish();
    await holder.check('test');
    expect(holder.current?.version).toBe(tower);
    expect(holder.current?.kind).toBe('tower');
  });

  it('ArtifactIntegrityError is a ModelArtifactError for callers in this thread too', () => {
    expect(new ArtifactIntegrityError('x')).toBeInstanceOf(ModelArtifactError);
  });
});
