// Kills its own process with SIGKILL at one send of the counts changelog, to test the ingester's outbox:
//   CRASH_CHANGELOG_TOPIC=<topic> CRASH_AT_SEND=<n> CRASH_WHEN=before|after node --import tsx --import ./test/support/crash-at-changelog-send.mjs <entry>
// before: the n-th send to the topic never leaves (its pairs are committed in LMDB, not in Kafka);
// after: the n-th send is acknowledged, and the process dies before the outbox entries are cleared.
// It wraps kafkajs's producer (the one module instance every workspace resolves) and changes nothing else.
import { createRequire } from 'node:module';

const topic = process.env.CRASH_CHANGELOG_TOPIC;
const at = Number(process.env.CRASH_AT_SEND);
const when = process.env.CRASH_WHEN ?? 'before';
if (!topic || !(at >= 1))
  throw new Error('crash-at-changelog-send: CRASH_CHANGELOG_TOPIC and CRASH_AT_SEND are required');

const { Kafka } = createRequire(`${process.cwd()}/`)('kafkajs');
const createProducer = Kafka.prototype.producer;
let sends = 0;
Kafka.prototype.producer = function producer(...args) {
  const created = createProducer.apply(this, args);
  const send = created.send.bind(created);
  created.send = async (record) => {
    if (record.topic !== topic || ++sends !== at) return send(record);
    if (when === 'before') process.kill(process.pid, 'SIGKILL');
    const result = await send(record);
    process.kill(process.pid, 'SIGKILL');
    return result;
  };
  return created;
};
