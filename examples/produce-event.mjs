// Publish one interaction event with kafkajs: node examples/produce-event.mjs <user> <item> [count]
import { Kafka } from 'kafkajs';

const [user, item, count = '1'] = process.argv.slice(2);
const kafka = new Kafka({
  clientId: 'example-producer',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
});
const producer = kafka.producer();
await producer.connect();
const event = { user, item, count: Number(count), ts: Date.now() };
// Key = user: a user's events stay in order on one partition.
const [result] = await producer.send({
  topic: 'interactions',
  messages: [{ key: user, value: JSON.stringify(event) }],
});
console.log(JSON.stringify({ sent: event, partition: result.partition, offset: result.baseOffset }));
await producer.disconnect();
