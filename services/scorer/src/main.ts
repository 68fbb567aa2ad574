import { connectKafkaAdmin, runService } from '@pncf/runtime';
import { scorerConfigSchema } from './config.js';

await runService({
  name: 'scorer',
  schema: scorerConfigSchema,
  portVariable: 'HTTP_PORT',
  async start({ config, logger }) {
    const admin = await connectKafkaAdmin({
      brokers: config.KAFKA_BROKERS,
      clientId: 'pncf-scorer',
      logger,
      topics: [
        {
          topic: config.RECOMMENDATIONS_TOPIC,
          partitions: config.RECOMMENDATIONS_PARTITIONS,
          config: { 'cleanup.policy': 'compact' },
        },
        { topic: config.MODEL_UPDATES_TOPIC, partitions: 1 },
      ],
    });
    return { stop: () => admin.disconnect() };
  },
});
