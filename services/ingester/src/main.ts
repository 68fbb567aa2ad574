import { connectKafkaAdmin, kafkaSecurity, runService } from '@pncf/runtime';
import { ingesterConfigSchema } from './config.js';
import { ingesterTopics, startIngester } from './ingester.js';

await runService({
  name: 'ingester',
  schema: ingesterConfigSchema,
  portVariable: 'HTTP_PORT',
  async start({ config, logger, metricsRegistry, listen, setStarting }) {
    setStarting(`waiting for Kafka at ${config.KAFKA_BROKERS.join(',')}`);
    await listen();
    const admin = await connectKafkaAdmin({
      brokers: config.KAFKA_BROKERS,
      clientId: 'pncf-ingester',
      logger,
      security: kafkaSecurity(config),
      createTopics: config.KAFKA_CREATE_TOPICS,
      topics: ingesterTopics(config),
    });
    const ingester = await startIngester({ config, logger, metricsRegistry, admin });
    return {
      ready: () => ({ ok: ingester.joined(), partitions: ingester.assignment() }),
      async stop() {
        await ingester.stop();
        await admin.disconnect();
      },
    };
  },
});
