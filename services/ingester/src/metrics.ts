import { REJECT_REASONS } from '@pncf/events';
import type { InteractionStore, StoreStats } from '@pncf/store';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngesterMetrics = ReturnType<typeof createIngesterMetrics>;

/** Messages behind per owned partition. */
export type LagSource = () => Promise<Map<number, number>>;

export function createIngesterMetrics(
  metricsRegistry: Registry,
  store: InteractionStore,
  topic: string,
  lag: LagSource,
) {
  const registers = [metricsRegistry];
  const metrics = {
    consumed: new Counter({
      name: 'pncf_ingester_events_consumed_total',
      help: 'Messages read from the interactions topic',
      registers,
    }),
    stored: new Counter({
      name: 'pncf_ingester_events_stored_total',
      help: 'Valid events whose counts were written to the store',
      registers,
    }),
    duplicates: new Counter({
      name: 'pncf_ingester_events_duplicate_total',
      help: 'Redelivered events skipped because their offset was already stored',
      registers,
    }),
    erasures: new Counter({
      name: 'pncf_ingester_erase_events_total',
      help: 'Erase events consumed (each removes every pair of its user; a redelivered one removes nothing again)',
      registers,
    }),
    deadLettered: new Counter({
      name: 'pncf_ingester_events_dead_lettered_total',
      help: 'Malformed messages sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'pncf_ingester_batch_messages',
      help: 'Messages per batch (one LMDB transaction each)',
      buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'pncf_ingester_batch_duration_seconds',
      help: 'Time to validate, dead-letter and store one batch',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    delaySeconds: new Histogram({
      name: 'pncf_ingester_event_delay_seconds',
      help: 'From the Kafka message timestamp (produce time) to the commit of its count',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    lag: new Gauge({
      name: 'pncf_ingester_consumer_lag_messages',
      help: 'Messages of an owned partition not yet in the store (partition end minus stored offset), read at scrape time',
      labelNames: ['topic', 'partition'],
      registers,
      async collect() {
        // A broker that does not answer must not hang the scrape: keep the last values then.
        const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref());
        const lags = await Promise.race([lag().catch(() => undefined), timeout]);
        if (!lags) return;
        this.reset();
        for (const [partition, value] of lags) this.set({ topic, partition: String(partition) }, value);
      },
    }),
    changelogSent: new Counter({
      name: 'pncf_ingester_changelog_records_sent_total',
      help: 'Pair totals and tombstones sent to the counts changelog (re-sends after a crash included)',
      registers,
    }),
    outbox: new Gauge({
      name: 'pncf_ingester_changelog_outbox_pairs',
      help: 'Changed pairs recorded in the store but not yet acknowledged by the changelog topic',
      registers,
      collect() {
        this.set(store.outboxSize());
      },
    }),
    assigned: new Gauge({
      name: 'pncf_ingester_assigned_partitions',
      help: 'Partitions this ingester owns',
      registers,
    }),
  };
  for (const reason of REJECT_REASONS) metrics.deadLettered.inc({ reason }, 0);

  // Read at scrape time so the figures include what other ingesters wrote to the same store.
  let cached: { at: number; stats: StoreStats } | undefined;
  const stats = (): StoreStats => {
    const now = Date.now();
    if (!cached || now - cached.at > 100) cached = { at: now, stats: store.stats() };
    return cached.stats;
  };
  const storeGauge = (name: string, help: string, pick: (s: StoreStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(stats()));
      },
    });
  storeGauge('pncf_ingester_store_size_bytes', 'Size of the LMDB data file', (s) => s.bytes);
  storeGauge('pncf_ingester_store_pairs', 'Distinct (user, item) pairs in the store', (s) => s.pairs);
  storeGauge('pncf_ingester_store_users', 'Users in the store', (s) => s.users);
  storeGauge('pncf_ingester_store_items', 'Items in the store', (s) => s.items);
  storeGauge('pncf_ingester_store_sequence', 'Sequence number of the last write', (s) => s.sequence);
  return metrics;
}
