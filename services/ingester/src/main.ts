import { connectKafkaAdmin, runService } from '@pncf/runtime';
import { ingesterConfigSchema } from './config.js';

await runService({
  name: 'ingester',
  schema: ingesterConfigSchema,
  portVariable: 'HTTP_PORT',
  async start({ config, logger }) {
    const admin = await connectKafkaAdmin({
      brokers: config.KAFKA_BROKERS,
      clientId: 'pncf-ingester',
      logger,
      topics: [
        { topic: config.INTERACTIONS_TOPIC, partitions: config.INTERACTIONS_PARTITIONS },
        { topic: config.DEAD_LETTER_TOPIC, partitions: 1 },
      ],
    });
    return { stop: () => admin.disconnect() };
  },
});
