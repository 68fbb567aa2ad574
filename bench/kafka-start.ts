/**
 * Start time of the local broker with a cold jar cache (empty Maven repository and .kafka cache: everything
 * comes from Maven Central) and with a warm one. Run: npm run bench:kafka-start
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startBroker } from '@pncf/kafka-local';

const runs = Number(process.env.RUNS ?? 3);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-bench-kafka-'));
const cacheDir = path.join(scratch, 'cache');
// A private Maven repository makes the first start truly cold without touching ~/.m2.
const env = {
  ...process.env,
  MAVEN_OPTS: `${process.env.MAVEN_OPTS ?? ''} -Dmaven.repo.local=${path.join(scratch, 'm2')}`,
};

const results = [];
try {
  for (let run = 0; run <= runs; run++) {
    const label = run === 0 ? 'cold' : 'warm';
    const broker = await startBroker({
      stateDir: path.join(scratch, `state-${run}`),
      cacheDir,
      port: await freePort(),
      controllerPort: await freePort(),
      fresh: true,
      env,
    });
    const stopStart = Date.now();
    await broker.stop();
    const result = { cache: label, ...broker.timings, stopMs: Date.now() - stopStart };
    console.log(JSON.stringify(result));
    results.push(result);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

const warm = results.filter((r) => r.cache === 'warm').map((r) => r.totalMs);
const summary = {
  benchmark: 'kafka-start',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, node: process.version },
  coldTotalMs: results[0]?.totalMs,
  warmTotalMsMedian: warm.sort((a, b) => a - b)[Math.floor(warm.length / 2)],
  runs: results,
};
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'kafka-start.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
console.log(`cold start ${summary.coldTotalMs} ms, warm start median ${summary.warmTotalMsMedian} ms → ${out}`);
