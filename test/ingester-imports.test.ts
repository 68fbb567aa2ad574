import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Admin } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { createTopics, ingesterEnv, repoRoot, tearDownIngest } from './ingest-support.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp } from './support/services.js';

const recorder = path.join(repoRoot, 'test', 'support', 'record-imports.mjs');
const forbidden = /\/node_modules\/@(tensorflow|resvg)\//;

/** `url ← importer` of every module load the recorder wrote (ESM resolutions and CommonJS modules). */
function readRecord(file: string): { url: string; importer: string }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [url = '', importer = ''] = line.split('\t');
      return { url, importer };
    });
}

// The ingester only moves counts from Kafka into LMDB: its process must not pay for loading TensorFlow.js (or
// the chart renderer). The real process (main.ts, as `pncf up` starts it) runs from start until it has joined
// its consumer group and is stopped; a module hook records everything it loaded on the way.
describe('the ingester process', () => {
  const env = ingesterEnv('imports', { INTERACTIONS_PARTITIONS: '1' });
  const recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-imports-'));
  const record = path.join(recordDir, 'modules.tsv');
  let admin: Admin | undefined;
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    if (service) await stopService(service);
    await tearDownIngest(env, admin, undefined);
    fs.rmSync(recordDir, { recursive: true, force: true });
  });

  it('loads the store and no @tensorflow or @resvg module from start to stop', async () => {
    admin = await createTopics(env, 1);
    service = await spawnService('ingester', { ...env, RECORD_IMPORTS: record }, ['--import', recorder]);
    await waitForHttp(service, '/readyz', 90_000);
    expect(await stopService(service)).toBe(0);

    const loaded = readRecord(record);
    const urls = new Set(loaded.map((entry) => entry.url));
    // The recorder saw the ingester, the store and CommonJS dependencies, so an empty list below means something.
    for (const module of ['services/ingester/src/ingester.ts', 'packages/store/src/store.ts']) {
      expect(urls).toContain(pathToFileURL(path.join(repoRoot, module)).href);
    }
    expect([...urls].some((url) => url.includes('/node_modules/lmdb/'))).toBe(true);
    expect([...urls].some((url) => url.includes('/node_modules/kafkajs/src/'))).toBe(true);
    const offending = loaded.filter((entry) => forbidden.test(entry.url));
    expect(offending.map((entry) => `${entry.url} ← ${entry.importer}`)).toEqual([]);
  }, 150_000);
});
