/**
 * Kafka in a container through testcontainers, for test runs on machines with a Docker engine. The packages are
 * development dependencies, loaded only when this path is taken, so the services never need them.
 */

export interface StartedKafkaContainer {
  brokers: string[];
  image: string;
  stop(): Promise<void>;
}

// The port @testcontainers/kafka maps for clients outside the container.
const KAFKA_CLIENT_PORT = 9093;

/** Why no Docker engine can be used (as testcontainers looks for one: DOCKER_HOST, the socket, …), or undefined. */
export async function dockerEngineProblem(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (error) {
    const where = process.env.DOCKER_HOST ? `DOCKER_HOST=${process.env.DOCKER_HOST}` : 'DOCKER_HOST unset';
    return `testcontainers: ${(error as Error).message}; ${where}`;
  }
}

export async function startKafkaContainer(image: string): Promise<StartedKafkaContainer> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer(image).start();
  return {
    brokers: [`${container.getHost()}:${container.getMappedPort(KAFKA_CLIENT_PORT)}`],
    image,
    stop: async () => {
      await container.stop();
    },
  };
}
