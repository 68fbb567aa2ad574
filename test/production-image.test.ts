import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@pncf/kafka-local';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyProductionTree } from '../infra/docker/production-tree.js';
import { argsOf, imageCommand, readDockerfile } from './support/dockerfile.js';
import { uniqueName } from './support/kafka.js';
import { repoRoot, type ServiceProcess, stopService, waitForHttp, watchService } from './support/services.js';

// No Docker engine runs here, so the image's layout is rebuilt in a temporary folder the way the Dockerfile builds
// it: npm run build in this checkout (the build stage), the tree infra/docker assembles from it, the final stage's
// own `npm ci` command, and then the image's CMD (plain node, no tsx installed, NODE_OPTIONS cleared) against the
// test broker.
const run = promisify(execFile);
const stages = readDockerfile();
const finalStage = stages.at(-1)!;
const command = imageCommand(stages);

/** The final stage's `npm ci …`, as its RUN line has it. */
const productionInstall = argsOf(finalStage, 'RUN')
  .flatMap((line) => line.split('&&').map((part) => part.trim()))
  .find((part) => part.startsWith('npm ci'));

/** The final stage's ENV, where it sets a literal value (NODE_ENV=production). */
const imageEnv = Object.fromEntries(
  argsOf(finalStage, 'ENV')
    .map((line) => line.split('=') as [string, string])
    .filter(([, value]) => !value.includes('$')),
);

/** The environment outside the image minus what would smuggle in a loader: no NODE_OPTIONS (tsx, vitest). */
function plainEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...imageEnv, ...extra };
  delete env.NODE_OPTIONS;
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  return env;
}

let app: string;

beforeAll(async () => {
  expect(productionInstall).toMatch(/^npm ci .*--omit=dev/);
  await run('npm', ['run', 'build'], { cwd: repoRoot });
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-image-'));
  copyProductionTree(repoRoot, app);
  // The packages come from the cache the checkout's own npm ci filled; the network only for what it lacks.
  await run('sh', ['-c', productionInstall!], { cwd: app, env: { ...process.env, npm_config_prefer_offline: 'true' } });
}, 900_000);

afterAll(() => {
  if (app) fs.rmSync(app, { recursive: true, force: true });
});

describe('the production image’s tree', () => {
  it('holds compiled JavaScript and production dependencies only', () => {
    for (const devOnly of ['tsx', 'typescript', 'vitest', '@biomejs/biome']) {
      expect(fs.existsSync(path.join(app, 'node_modules', devOnly)), devOnly).toBe(false);
    }
    for (const name of ['ingester', 'trainer', 'scorer']) {
      expect(fs.existsSync(path.join(app, 'services', name, 'dist', 'main.js')), name).toBe(true);
    }
    const sources = ['packages', 'services', 'infra'].flatMap((group) =>
      fs
        .readdirSync(path.join(app, group))
        .filter((workspace) => fs.existsSync(path.join(app, group, workspace, 'src')))
        .map((workspace) => `${group}/${workspace}/src`),
    );
    expect(sources).toEqual([]);
    // What the compiled code reads next to itself: the WebAssembly kernels and the event schemas.
    for (const asset of ['packages/pncf/dist/word2vec.wasm', 'packages/pncf/dist/tower.wasm']) {
      expect(fs.existsSync(path.join(app, asset)), asset).toBe(true);
    }
    expect(fs.readdirSync(path.join(app, 'packages/events/schema')).length).toBeGreaterThan(0);
  });

  it('runs worker threads from the emitted JavaScript: word2vec, and tower scoring on the wasm backend', async () => {
    const conditions = command.join(' ').match(/--conditions=\S+/g) ?? [];
    expect(conditions).toEqual(['--conditions=compiled']);
    const probe = path.join(app, 'worker-probe.mjs');
    fs.writeFileSync(
      probe,
      [
        "import { tfRuntime } from '@pncf/evaluation';",
        "import { initTower, ParallelScorer, prepareTower, referenceWord2Vec, trainWord2Vec } from '@pncf/pncf';",
        'const corpus = { tokens: Uint32Array.from({ length: 400 }, (_, k) => (k * 7) % 20), bagSize: 5, vocabSize: 20 };',
        'const options = { ...referenceWord2Vec, dim: 8, epochs: 2, threads: 2 };',
        "const word2vec = await trainWord2Vec(corpus, options, 1, undefined, { kernel: 'js' });",
        'const { backend } = await tfRuntime();',
        'const table = (rows) => Float32Array.from({ length: rows * 8 }, (_, k) => Math.sin(k));',
        'const model = { numUsers: 6, numItems: 9, userVectors: table(6), itemVectors: table(9), tower: initTower(8, [16, 8], true, 5, 0.5) };',
        'const scorer = await ParallelScorer.create(prepareTower(model), 2);',
        'const scores = new Float32Array(6 * 9);',
        'await scorer.scoreUsers(Uint32Array.from([0, 1, 2, 3, 4, 5]), scores);',
        'await scorer.dispose();',
        'const finite = scores.filter(Number.isFinite).length;',
        'console.log(JSON.stringify({ pairs: word2vec.pairs, kernel: word2vec.kernel, backend, threads: scorer.threads, finite }));',
      ].join('\n'),
    );
    const env = plainEnv({ TF_BACKEND: 'wasm' });
    const { stdout } = await run(process.execPath, [...conditions, probe], { cwd: app, env });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ kernel: 'js', backend: 'wasm', threads: 2, finite: 54 });
    expect(result.pairs).toBeGreaterThan(0);
  });
});

describe('the image’s command, on plain node against the test broker', () => {
  const topics = {
    KAFKA_BROKERS: inject('kafkaBrokers').join(','),
    INTERACTIONS_TOPIC: uniqueName('image-interactions'),
    DEAD_LETTER_TOPIC: uniqueName('image-dead-letter'),
    CHANGELOG_TOPIC: uniqueName('image-counts'),
    RECOMMENDATIONS_TOPIC: uniqueName('image-recommendations'),
    MODEL_UPDATES_TOPIC: uniqueName('image-model-updated'),
    MODEL_ARTIFACTS_TOPIC: uniqueName('image-model-artifacts'),
  };

  async function startImage(service: string, extra: Record<string, string>): Promise<ServiceProcess> {
    const port = await freePort();
    const [file, ...args] = command as [string, ...string[]];
    const env = plainEnv({ ...topics, ...extra, SERVICE: service, HTTP_PORT: String(port) });
    const child = spawn(file, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return watchService(service, child, port);
  }

  // The ingester first: it creates the interactions and changelog topics the scorer waits for.
  it.each([
    ['ingester', { CONSUMER_GROUP: uniqueName('image-ingester') }],
    ['scorer', { CONSUMER_GROUP: uniqueName('image-scorer') }],
  ])('starts the %s, which answers /healthz and stops on SIGTERM', async (service, extra) => {
    const started = await startImage(service, extra);
    try {
      const health = (await (await waitForHttp(started, '/healthz', 120_000)).json()) as { ok: boolean };
      expect(health.ok).toBe(true);
      // The process runs the compiled entry itself (exec), not through a loader.
      const { stdout } = await run('ps', ['-o', 'args=', '-p', String(started.child.pid)]);
      expect(stdout.trim()).toBe(`node --conditions=compiled services/${service}/dist/main.js`);
    } finally {
      expect(await stopService(started)).toBe(0);
    }
    expect(started.output()).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION/);
  });
});
