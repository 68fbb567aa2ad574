import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingesterConfigSchema } from '@pncf/ingester/config';
import { type EnvSchema, loadConfig } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { argsOf, imageCommand, readDockerfile } from './support/dockerfile.js';

// No Docker engine runs here, so the compose file is checked against the services' own config schemas.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readYaml = (file: string) => parse(fs.readFileSync(path.join(repoRoot, file), 'utf8'));

interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  ports?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
}
const compose = readYaml('docker-compose.yml') as { services: Record<string, ComposeService> };
const schemaOf: Record<string, EnvSchema> = {
  ingester: ingesterConfigSchema,
  trainer: trainerConfigSchema,
  scorer: scorerConfigSchema,
};
/** The compose services built from the Dockerfile, by the service (main.ts) each runs: two scorer replicas. */
const builtServices = Object.entries(compose.services)
  .filter(([, service]) => service.build !== undefined)
  .map(([name, service]) => ({
    name,
    service: String(service.build?.args?.SERVICE),
    schema: schemaOf[String(service.build?.args?.SERVICE)]!,
  }));
const schemas: Record<string, EnvSchema> = Object.fromEntries(builtServices.map(({ name, schema }) => [name, schema]));
const environmentOf = (name: string) =>
  Object.fromEntries(
    Object.entries(compose.services[name]?.environment ?? {}).map(([key, value]) => [key, String(value)]),
  );

type ScrapeConfig = { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
const targetsOf = (config: ScrapeConfig, job: string) =>
  config.scrape_configs.find((scrape) => scrape.job_name === job)?.static_configs.flatMap((s) => s.targets);

describe('Dockerfile', () => {
  const stages = readDockerfile();
  const [build, final] = [stages[0]!, stages.at(-1)!];

  it('compiles the workspaces in a build stage that the image does not keep', () => {
    expect(stages.length).toBeGreaterThan(1);
    const runs = argsOf(build, 'RUN').join(' && ');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build\b/);
    // The image receives the assembled tree only, not the build stage's sources and dev dependencies.
    expect(argsOf(final, 'COPY')).toEqual([`--from=${build.from.split(/\s+AS\s+/i)[1]} /prod /app`]);
  });

  it('installs production dependencies only and runs as an unprivileged user', () => {
    expect(argsOf(final, 'RUN').join(' && ')).toMatch(/npm ci --omit=dev/);
    const users = argsOf(final, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    // The user is set before the command, so the service never runs as root.
    const keywords = final.instructions.map((instruction) => instruction.keyword);
    expect(keywords.lastIndexOf('USER')).toBeLessThan(keywords.lastIndexOf('CMD'));
  });

  it('runs the compiled entry point on plain node, without tsx', () => {
    expect(imageCommand(stages)).toEqual([
      'sh',
      '-c',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell expands SERVICE, JavaScript does not
      'exec node --conditions=compiled services/${SERVICE}/dist/main.js',
    ]);
    expect(final.instructions.map((instruction) => instruction.args).join('\n')).not.toMatch(/tsx/);
  });
});

describe('docker-compose.yml', () => {
  it('has Kafka, Prometheus, Grafana, the ingester, the trainer and two scorer replicas', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'grafana',
      'ingester',
      'kafka',
      'prometheus',
      'scorer-1',
      'scorer-2',
      'trainer',
    ]);
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:4\.1\./);
  });

  it('gives every service a healthcheck, and starts the services once Kafka is healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.healthcheck?.test?.[0], name).toBe('CMD');
    }
    for (const { name } of builtServices) {
      expect((compose.services[name] as { depends_on?: unknown }).depends_on, name).toEqual({
        kafka: { condition: 'service_healthy' },
      });
      const config = loadConfig(name, schemas[name]!, environmentOf(name));
      expect(compose.services[name]?.healthcheck?.test.join(' '), name).toContain(
        `http://127.0.0.1:${config.HTTP_PORT}/healthz`,
      );
    }
  });

  it('runs the scorer replicas in one consumer group, each under a name of its own', () => {
    const replicas = builtServices.filter(({ service }) => service === 'scorer').map(({ name }) => name);
    expect(replicas).toEqual(['scorer-1', 'scorer-2']);
    const configs = replicas.map((name) => loadConfig(name, scorerConfigSchema, environmentOf(name)));
    expect(new Set(configs.map((config) => config.CONSUMER_GROUP)).size).toBe(1);
    expect(configs.map((config) => config.INSTANCE_ID)).toEqual(replicas);
    expect(targetsOf(readYaml('infra/prometheus/prometheus.docker.yml'), 'scorer')).toEqual(
      replicas.map((name) => `${name}:${configs[0]!.HTTP_PORT}`),
    );
  });

  it('publishes every port on the host’s loopback address only', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('mounts files that exist in the repository', () => {
    for (const name of ['prometheus', 'grafana']) {
      const volumes = (compose.services[name] as { volumes?: string[] }).volumes ?? [];
      expect(volumes.length).toBeGreaterThan(0);
      for (const volume of volumes) expect(fs.existsSync(path.join(repoRoot, volume.split(':')[0]!))).toBe(true);
    }
  });

  it('gives each service’s LMDB directory a volume no other service mounts', () => {
    const mountsOf = (name: string) =>
      ((compose.services[name] as { volumes?: string[] }).volumes ?? []).map((volume) => {
        const [source, target] = volume.split(':') as [string, string];
        return { source, target };
      });
    for (const [name, schema] of Object.entries(schemas)) {
      const config = loadConfig(name, schema, {}) as Record<string, unknown>;
      const lmdb = path.posix.join('/app', String(config.STORE_PATH ?? config.VIEW_PATH));
      const holding = mountsOf(name).filter((mount) => lmdb.startsWith(`${mount.target}/`));
      expect(holding, `${name}: ${lmdb}`).toHaveLength(1);
      const others = Object.keys(schemas).filter((other) => other !== name);
      for (const other of others) {
        expect(mountsOf(other).map((mount) => mount.source)).not.toContain(holding[0]!.source);
      }
    }
  });

  describe.each(builtServices)('service $name', ({ name, service: entry, schema }) => {
    const service = compose.services[name]!;
    const environment = environmentOf(name);

    it('is built from the Dockerfile for its own entry point', () => {
      expect(service.build?.args?.SERVICE).toBe(entry);
      // services/<entry>/dist/main.js, which the image runs, is compiled from src/main.ts and shipped by `files`.
      expect(fs.existsSync(path.join(repoRoot, 'services', entry, 'src', 'main.ts'))).toBe(true);
      expect(fs.existsSync(path.join(repoRoot, 'services', entry, 'tsconfig.build.json'))).toBe(true);
      const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'services', entry, 'package.json'), 'utf8'));
      expect(manifest.files).toContain('dist');
    });

    it('sets only variables its config schema declares, with valid values', () => {
      const unknown = Object.keys(environment).filter((key) => !(key in schema.shape));
      expect(unknown).toEqual([]);
      expect(() => loadConfig(name, schema, environment)).not.toThrow();
    });

    it('publishes its HTTP port and reaches Kafka on an advertised listener', () => {
      const config = loadConfig(name, schema, environment);
      // Inside the container on every interface; on the host, this machine only (each replica on a port of its own).
      expect(service.ports).toHaveLength(1);
      expect(service.ports![0]).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+:${config.HTTP_PORT}$`));
      expect(config.HTTP_HOST).toBe('0.0.0.0');
      const advertised = String(compose.services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS);
      for (const broker of config.KAFKA_BROKERS as string[]) expect(advertised).toContain(`//${broker}`);
    });

    it('is scraped by Prometheus, in compose and locally, on the port it listens on', () => {
      const config = loadConfig(name, schema, environment);
      expect(targetsOf(readYaml('infra/prometheus/prometheus.docker.yml'), entry)).toContain(
        `${name}:${config.HTTP_PORT}`,
      );
      const local = loadConfig(name, schema, {});
      expect(targetsOf(readYaml('infra/prometheus/prometheus.yml'), entry)).toEqual([`127.0.0.1:${local.HTTP_PORT}`]);
    });
  });
});
