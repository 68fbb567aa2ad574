import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ingesterConfigSchema } from '@pncf/ingester/config';
import { repoRoot, type StartedBroker, startBroker } from '@pncf/kafka-local';
import { type EnvSchema, loadConfig } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { Command } from 'commander';

interface ServiceSpec {
  name: 'ingester' | 'trainer' | 'scorer';
  /** From the service's own schema, so its default or an HTTP_PORT override is honoured the same way. */
  port: number;
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

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
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

export function upCommand(): Command {
  return new Command('up')
    .description('run the whole pipeline locally: Kafka (unless KAFKA_BROKERS is set), ingester, trainer, scorer')
    .option(
      '--data-dir <dir>',
      'state that survives restarts (Kafka data, store, models, logs)',
      path.join(repoRoot, '.data'),
    )
    .action(async (options: { dataDir: string }) => {
      const dataDir = path.resolve(options.dataDir);
      const logDir = path.join(dataDir, 'logs');
      fs.mkdirSync(logDir, { recursive: true });

      let broker: StartedBroker | undefined;
      let brokers = process.env.KAFKA_BROKERS;
      if (!brokers) {
        process.stdout.write('starting the local Kafka broker… ');
        broker = await startBroker({
          stateDir: path.join(dataDir, 'kafka'),
          port: Number(process.env.KAFKA_PORT ?? 9092),
          controllerPort: Number(process.env.KAFKA_CONTROLLER_PORT ?? 9093),
        });
        brokers = broker.brokers.join(',');
        console.log(`ready in ${(broker.timings.totalMs / 1000).toFixed(1)} s (${brokers}, log ${broker.logFile})`);
      } else {
        console.log(`using Kafka at ${brokers}`);
      }

      const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: brokers };
      // One HTTP_PORT variable cannot serve three services: each uses its schema's default port here.
      delete env.HTTP_PORT;
      const services: ServiceSpec[] = (['ingester', 'trainer', 'scorer'] as const).map((name) => ({
        name,
        port: Number(loadConfig(name, schemas[name], env).HTTP_PORT),
      }));
      const children = services.map((spec) => ({ spec, child: spawnService(spec, env, logDir) }));
      let stopping = false;
      const stopAll = async (code: number) => {
        if (stopping) return;
        stopping = true;
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
        process.exit(code);
      };
      process.on('SIGINT', () => void stopAll(0));
      process.on('SIGTERM', () => void stopAll(0));

      try {
        await Promise.all(
          children.map(async ({ spec, child }) => {
            await waitHealthy(`http://127.0.0.1:${spec.port}/healthz`, child, 90_000).catch((error: Error) => {
              throw new Error(`${spec.name}: ${error.message}; see ${path.join(logDir, `${spec.name}.log`)}`);
            });
          }),
        );
      } catch (error) {
        console.error(error instanceof Error ? error.message : error);
        await stopAll(1);
        return;
      }
      console.log('\nrunning — Ctrl-C stops everything');
      for (const { spec } of children) {
        console.log(
          `  ${spec.name.padEnd(9)} http://127.0.0.1:${spec.port}/metrics   /healthz   log ${path.join(logDir, `${spec.name}.log`)}`,
        );
      }
      for (const { spec, child } of children) {
        child.once('exit', (code) => {
          if (stopping) return;
          console.error(`${spec.name} exited unexpectedly (code ${code}); see its log`);
          void stopAll(1);
        });
      }
    });
}
