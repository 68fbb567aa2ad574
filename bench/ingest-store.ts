/**
 * The LMDB store alone (no Kafka): write throughput of applyBatch, and read times of snapshot() and per-user
 * lookups on a store of PAIRS distinct pairs. Run: tsx bench/ingest-store.ts
 * Env: PAIRS (2_000_000), BATCH (20_000 events per transaction), STORE_NO_SYNC (false).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InteractionStore, type StoredEvent } from '@pncf/store';

const PAIRS = Number(process.env.PAIRS ?? 2_000_000);
const BATCH = Number(process.env.BATCH ?? 20_000);
const NO_SYNC = process.env.STORE_NO_SYNC === 'true';
const USERS = 200_000;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-bench-store-'));

try {
  const store = InteractionStore.open({ path: dir, noSync: NO_SYNC });
  // Every event is a distinct pair: user k % USERS, and that user's items differ by k / USERS.
  let written = 0;
  const writeStart = performance.now();
  while (written < PAIRS) {
    const events: StoredEvent[] = [];
    for (let k = written; k < Math.min(PAIRS, written + BATCH); k++) {
      events.push({
        offset: BigInt(k),
        user: `user-${k % USERS}`,
        item: `item-${(Math.floor(k / USERS) + (k % USERS) * 31) % 50_000}`,
        count: 1 + (k % 3),
      });
    }
    written += events.length;
    store.applyBatch({ topic: 'bench', partition: 0, events, nextOffset: BigInt(written) });
  }
  const writeSeconds = (performance.now() - writeStart) / 1000;

  const t0 = performance.now();
  const snapshot = store.snapshot();
  const snapshotSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const lookups = 10_000;
  let seen = 0;
  for (let k = 0; k < lookups; k++) {
    const user = store.lookup('user', `user-${(k * 7) % USERS}`);
    if (user !== undefined) seen += store.itemsOfUser(user).indices.length;
  }
  const lookupMicros = ((performance.now() - t1) * 1000) / lookups;
  const stats = store.stats();
  await store.close();

  const result = {
    benchmark: 'ingest-store',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
    noSync: NO_SYNC,
    pairs: snapshot.interactions.byUser.indices.length,
    users: snapshot.interactions.userIds.length,
    items: snapshot.interactions.itemIds.length,
    storeBytes: stats.bytes,
    write: { events: PAIRS, batch: BATCH, seconds: writeSeconds, eventsPerSecond: Math.round(PAIRS / writeSeconds) },
    snapshotSeconds,
    userItemsLookupMicros: lookupMicros,
    itemsSeen: seen,
  };
  console.log(
    `write: ${PAIRS} events (all distinct pairs) in ${writeSeconds.toFixed(2)} s = ${result.write.eventsPerSecond} events/s, ` +
      `batches of ${BATCH}${NO_SYNC ? ', no fsync' : ''}; store ${(stats.bytes / 2 ** 20).toFixed(0)} MiB`,
  );
  console.log(
    `snapshot: ${result.pairs} pairs, ${result.users} users, ${result.items} items in ${snapshotSeconds.toFixed(2)} s`,
  );
  console.log(`lookup + itemsOfUser: ${lookupMicros.toFixed(1)} µs per user`);
  const out = path.join(repoRoot, 'bench', 'results', 'ingest-store.json');
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`→ ${out}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
