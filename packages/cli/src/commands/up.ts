import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ingesterConfigSchema } from '@pncf/ingester/config';
import { repoRoot, type StartedBroker, startBroker } from '@pncf/kafka-local';
import { ModelRegistry } from '@pncf/registry';
import { createKafka, type EnvSchema, ensureTopics, kafkaSecurity, loadConfig } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { MultiBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { cliConfig, DEFAULT_DATA_DIR } from '../config.js';
import { DemoStream } from '../demo-stream.js';
import {
  describeModel,
  holdoutLabel,
  type ModelSummary,
  suggestionsLine,
  summarizeModel,
  waitForServedModel,
} from '../pipeline-status.js';

interface ServiceSpec {
  name: 'ingester' | 'trainer' | 'scorer';
  /** INGESTER_HTTP_PORT etc. (cliConfigSchema), whose defaults are the services' own. */
  port: number;
}

/**
 * Keep the supervisor alive when its stdout or stderr is a pipe whose reader went away (`npm start | tee log` and
 * a Ctrl-C that stops tee first): an EPIPE on a write is otherwise an uncaught error that would kill it before it
 * stopped the services and the broker. Output after that is dropped; the services' logs are files anyway.
 */
function surviveClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      stream.write = () => true;
    });
  }
}

const schemas: Record<ServiceSpec['name'], EnvSchema> = {
  ingester: ingesterConfigSchema,
  trainer: trainerConfigSchema,
  scorer: scorerConfigSchema,
};

function spawnService(spec: ServiceSpec, env: NodeJS.ProcessEnv, logDir: string): ChildProcess {
  const log = fs.openSync(path.join(logDir, `${spec.name}.log`), 'a');
  const entry = path.join(repoRoot, 'services', spec.name, 'src', 'main.ts');
  // Own process group, so a terminal Ctrl-C reaches only us and we stop the services in order.
  return spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', log, log],
    detached: true,
  });
}

/**
 * Poll a child's /healthz until it answers 200 with its start finished, the child exits, or timeoutMs passes. Polling rather than the
 * retry policy: it watches a process this command started (checking its exit at every step), and a fixed short
 * pace is what makes the start fast; there is no failing operation to back off from.
 */
async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url);
      // 200 with `starting` while it waits for Kafka: started means the start finished.
      if (response.ok && !('starting' in ((await response.json()) as object))) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not healthy within ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const count = (what: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError(`${what} must be a whole number ≥ 0`);
  return number;
};

interface UpOptions {
  dataDir: string;
  demo: boolean;
  events: number;
  rate: number;
  seed: number;
}

export function upCommand(): Command {
  return new Command('up')
    .description('run the whole pipeline locally: Kafka (unless KAFKA_BROKERS is set), ingester, trainer, scorer')
    .option(
      '--data-dir <dir>',
      'state that survives restarts (Kafka data, each service’s own directory, logs)',
      DEFAULT_DATA_DIR,
    )
    .option('--no-demo', 'do not stream the generated author-tag data set into Kafka')
    .option('--events <n>', 'events in the generated author-tag stream', count('events'), 300_000)
    .option('--rate <events/s>', 'pace of the generated stream', count('rate'), 2000)
    .option('--seed <n>', 'seed of the generated stream', count('seed'), 1)
    .action(async (options: UpOptions) => {
      surviveClosedOutput();
      const cli = cliConfig();
      const dataDir = path.resolve(options.dataDir);
      const logDir = path.join(dataDir, 'logs');
      fs.mkdirSync(logDir, { recursive: true });

      let broker: StartedBroker | undefined;
      let brokers = cli.KAFKA_BROKERS;
      const security = kafkaSecurity(cli);
      if (!brokers && security.protocol !== 'PLAINTEXT') {
        // The local broker has one plaintext listener; pretending to secure it would be worse than refusing.
        throw new Error(
          `KAFKA_SECURITY_PROTOCOL=${security.protocol} needs KAFKA_BROKERS: the local broker up starts is PLAINTEXT`,
        );
      }
      if (!brokers) {
        process.stdout.write('starting the local Kafka broker… ');
        broker = await startBroker({
          stateDir: path.join(dataDir, 'kafka'),
          port: cli.KAFKA_PORT,
          controllerPort: cli.KAFKA_CONTROLLER_PORT,
        });
        brokers = broker.brokers.join(',');
        console.log(`ready in ${(broker.timings.totalMs / 1000).toFixed(1)} s (${brokers}, log ${broker.logFile})`);
      } else {
        console.log(`using Kafka at ${brokers}`);
      }

      const env: NodeJS.ProcessEnv = {
        ...process.env,
        KAFKA_BROKERS: brokers,
      };
      const ports = { ingester: cli.INGESTER_HTTP_PORT, trainer: cli.TRAINER_HTTP_PORT, scorer: cli.SCORER_HTTP_PORT };
      // Each service keeps its state in a directory of its own, as on separate hosts: the ingester's store; the
      // trainer's and the scorer's counts views, which they build from the changelog topic; the trainer's model
      // registry, and the scorer's own copy that its receiver fills from the artifact topic.
      const own: Record<ServiceSpec['name'], NodeJS.ProcessEnv> = {
        ingester: { STORE_PATH: cli.STORE_PATH ?? path.join(dataDir, 'ingester', 'store') },
        trainer: {
          VIEW_PATH: path.join(dataDir, 'trainer', 'view'),
          MODEL_DIR: cli.MODEL_DIR ?? path.join(dataDir, 'models'),
        },
        scorer: { VIEW_PATH: path.join(dataDir, 'scorer', 'view'), MODEL_DIR: path.join(dataDir, 'scorer', 'models') },
      };
      // Each service's env with its own port (one HTTP_PORT cannot serve three services), validated here first.
      const envOf = (name: ServiceSpec['name']): NodeJS.ProcessEnv => ({
        ...env,
        HTTP_PORT: String(ports[name]),
        ...own[name],
      });
      const configs = {
        ingester: loadConfig('ingester', schemas.ingester, envOf('ingester')),
        trainer: loadConfig('trainer', schemas.trainer, envOf('trainer')),
        scorer: loadConfig('scorer', schemas.scorer, envOf('scorer')),
      };
      const services: ServiceSpec[] = (['ingester', 'trainer', 'scorer'] as const).map((name) => ({
        name,
        port: ports[name],
      }));
      const children = services.map((spec) => ({ spec, child: spawnService(spec, envOf(spec.name), logDir) }));
      const abort = new AbortController();
      let bars: MultiBar | undefined;
      let stopping = false;
      const stopAll = async (code: number) => {
        if (stopping) return;
        stopping = true;
        abort.abort();
        bars?.stop();
        console.log('\nstopping…');
        // Reverse order: consumers of the model first, the ingester (sole writer) last, then the broker.
        for (const { spec, child } of [...children].reverse()) {
          await stopChild(child);
          console.log(`  ${spec.name} stopped`);
        }
        if (broker) {
          await broker.stop();
          console.log('  kafka stopped');
        }
        console.log(`state kept in ${dataDir}: the next start continues from there`);
        process.exit(code);
      };
      // SIGHUP too: a closed terminal would otherwise end the supervisor alone, leaving its own-group children.
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stopAll(0));

      try {
        await Promise.all(
          children.map(async ({ spec, child }) => {
            await waitHealthy(`http://127.0.0.1:${spec.port}/healthz`, child, 120_000).catch((error: Error) => {
              throw new Error(`${spec.name}: ${error.message}; see ${path.join(logDir, `${spec.name}.log`)}`);
            });
          }),
        );
      } catch (error) {
        console.error(error instanceof Error ? error.message : error);
        await stopAll(1);
        return;
      }
      for (const { spec, child } of children) {
        child.once('exit', (code) => {
          if (stopping) return;
          console.error(`${spec.name} exited unexpectedly (code ${code}); see its log`);
          void stopAll(1);
        });
      }
      const scorerUrl = `http://127.0.0.1:${configs.scorer.HTTP_PORT}`;
      console.log('\nrunning — Ctrl-C stops everything');
      console.log(
        `  recommendations  ${scorerUrl}/recommendations/<author>?k=10   (OpenAPI: ${scorerUrl}/openapi.json)`,
      );
      for (const { spec } of children) {
        console.log(
          `  ${spec.name.padEnd(9)} metrics http://127.0.0.1:${spec.port}/metrics   log ${path.join(logDir, `${spec.name}.log`)}`,
        );
      }
      console.log('  Prometheus config: infra/prometheus/prometheus.yml (scrapes these ports)\n');

      // What the terminal shows: the stream's progress, and each new model with a few authors' suggestions.
      const modelRegistry = new ModelRegistry(String(configs.trainer.MODEL_DIR));
      bars = new MultiBar(
        {
          format: ' {name} |{bar}| {value}/{total} events | {status}',
          hideCursor: true,
          clearOnComplete: false,
          noTTYOutput: true,
          notTTYSchedule: 10_000,
        },
        Presets.shades_classic,
      );
      let demo: DemoStream | undefined;
      let lastModel: ModelSummary | undefined;
      const status = () =>
        lastModel
          ? `model ${lastModel.version} ${
              lastModel.recall10 === undefined
                ? `(no ${holdoutLabel(lastModel)} figures)`
                : `${holdoutLabel(lastModel)} recall@10 ${lastModel.recall10.toFixed(3)}`
            } (${lastModel.users} authors, ${lastModel.items} tags)`
          : 'waiting for the first model';
      if (options.demo) {
        demo = new DemoStream({
          kafka: createKafka({ brokers: brokers.split(','), clientId: 'pncf-demo-stream', security }),
          topic: String(configs.ingester.INTERACTIONS_TOPIC),
          dataDir,
          events: options.events,
          seed: options.seed,
          rate: options.rate,
          signal: abort.signal,
        });
        const admin = createKafka({ brokers: brokers.split(','), clientId: 'pncf-up', security }).admin();
        await admin.connect();
        await ensureTopics(admin, [
          {
            topic: String(configs.ingester.INTERACTIONS_TOPIC),
            partitions: Number(configs.ingester.INTERACTIONS_PARTITIONS),
          },
        ]);
        await admin.disconnect();
      }
      const bar = bars.create(demo?.total ?? 0, demo?.produced ?? 0, {
        name: 'generated author-tag stream',
        status: status(),
      });
      const examples = demo?.busiestAuthors(3) ?? [];
      const watch = setInterval(async () => {
        bar.update(demo?.produced ?? 0, { status: status() });
        let model: ModelSummary | undefined;
        try {
          model = summarizeModel(modelRegistry);
        } catch (error) {
          bars?.log(`current model unreadable: ${(error as Error).message}\n`);
        }
        if (!model || model.version === lastModel?.version) return;
        lastModel = model;
        const [headline, ...gateLines] = describeModel(model);
        bars?.log(`${new Date().toISOString()} ${headline}\n`);
        for (const line of gateLines) bars?.log(`${line}\n`);
        if (!(await waitForServedModel(scorerUrl, model.version))) {
          bars?.log(
            `    the scorer has not loaded ${model.version} within a minute (see ${path.join(logDir, 'scorer.log')})\n`,
          );
          return;
        }
        for (const author of examples) bars?.log(`    ${await suggestionsLine(scorerUrl, author)}\n`);
      }, 1000);
      watch.unref();
      if (demo) {
        demo.run().then(
          () => bars?.log(`the generated stream is complete (${demo.total} events); services keep running\n`),
          (error: Error) => {
            if (!stopping) bars?.log(`the generated stream stopped: ${error.message}\n`);
          },
        );
      }
    });
}
