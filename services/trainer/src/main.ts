import { connectKafkaAdmin, runService } from '@pncf/runtime';
import { trainerConfigSchema } from './config.js';

await runService({
  name: 'trainer',
  schema: trainerConfigSchema,
  portVariable: 'HTTP_PORT',
  async start({ config, logger }) {
    const admin = await connectKafkaAdmin({
      brokers: config.KAFKA_BROKERS,
      clientId: 'pncf-trainer',
      logger,
      topics: [{ topic: config.MODEL_UPDATES_TOPIC, partitions: 1 }],
    });
    return { stop: () => admin.disconnect() };
  },
});
