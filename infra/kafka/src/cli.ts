import path from 'node:path';
import { Command } from 'commander';
import { startBroker, stopBroker } from './broker.js';
import { ensureKafkaJars } from './jars.js';
import { defaultCacheDir } from './paths.js';

const defaultStateDir = path.join(defaultCacheDir, 'broker');
const program = new Command('kafka-local').description('The local single-node Kafka broker (KRaft) of this checkout');

program
  .command('fetch')
  .description('download the broker jars from Maven Central into .kafka/libs (a no-op when cached)')
  .action(() => {
    const started = Date.now();
    const jars = ensureKafkaJars(defaultCacheDir);
    console.log(`${jars.downloaded ? 'fetched' : 'cached'}: ${jars.libDir} (${Date.now() - started} ms)`);
  });

program
  .command('start')
  .description('start a broker in the background and wait until it answers a metadata request')
  .option('--port <n>', 'client port', process.env.KAFKA_PORT ?? '9092')
  .option('--controller-port <n>', 'KRaft controller port', process.env.KAFKA_CONTROLLER_PORT ?? '9093')
  .option('--state-dir <dir>', 'config, log, pid and data of this broker', defaultStateDir)
  .option('--fresh', 'wipe existing data first', false)
  .action(async (options: { port: string; controllerPort: string; stateDir: string; fresh: boolean }) => {
    const broker = await startBroker({
      stateDir: path.resolve(options.stateDir),
      port: Number(options.port),
      controllerPort: Number(options.controllerPort),
      fresh: options.fresh,
      detached: true,
    });
    console.log(
      JSON.stringify({ brokers: broker.brokers.join(','), pid: broker.pid, log: broker.logFile, ...broker.timings }),
    );
  });

program
  .command('stop')
  .description('stop the broker of a state dir (SIGTERM, SIGKILL after 20 s)')
  .option('--state-dir <dir>', 'state dir the broker was started with', defaultStateDir)
  .action(async (options: { stateDir: string }) => {
    const stopped = await stopBroker(path.resolve(options.stateDir));
    console.log(stopped ? 'stopped' : 'not running');
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
