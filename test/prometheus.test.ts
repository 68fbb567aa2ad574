import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toKafkaMessage } from '@pncf/events';
import { freePort } from '@pncf/kafka-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { testBrokers, testKafka, uniqueName } from './support/kafka.js';
import { repoRoot, type ServiceProcess, spawnService, stopService, waitForHttp } from './support/services.js';

/** Debian's prometheus package, installed when missing (CI installs it up front in .ci/run). */
function prometheusBinary(): string {
  const find = () => {
    try {
      return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  let bin = find();
  if (!bin) {
    execFileSync(
      'sh',
      [
        '-c',
        'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus',
      ],
      {
        stdio: 'inherit',
        timeout: 300_000,
      },
    );
    bin = find();
  }
  if (!bin) throw new Error('prometheus is not installed and could not be installed with apt-get');
  return bin;
}

interface Target {
  labels: { job: string };
  health: string;
  lastError: string;
}

describe('Prometheus scrapes the three services with the shipped config and rules', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pncf-prometheus-'));
  const services: ServiceProcess[] = [];
  let prometheus: ChildProcess | undefined;
  let prometheusUrl = '';
  let prometheusLog = '';

  beforeAll(async () => {
    const bin = prometheusBinary();
    const env = {
      KAFKA_BROKERS: testBrokers().join(','),
      LOG_LEVEL: 'warn',
      INTERACTIONS_TOPIC: uniqueName('prom-events'),
      DEAD_LETTER_TOPIC: uniqueName('prom-dlq'),
      CONSUMER_GROUP: uniqueName('prom-group'),
      MODEL_UPDATES_TOPIC: uniqueName('prom-models'),
      RECOMMENDATIONS_TOPIC: uniqueName('prom-recs'),
      CHANGELOG_TOPIC: uniqueName('prom-counts'),
      STORE_PATH: path.join(root, 'ingester-store'),
      MODEL_DIR: path.join(root, 'models'),
      TRAIN_AT_STARTUP: 'false',
    };
    for (const name of ['ingester', 'trainer', 'scorer']) {
      services.push(await spawnService(name, { ...env, VIEW_PATH: path.join(root, `${name}-view`) }));
    }
    await Promise.all(services.map((service) => waitForHttp(service, '/healthz')));

    // Something to count: a few valid events and one malformed.
    const producer = testKafka().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: env.INTERACTIONS_TOPIC,
      messages: [
        toKafkaMessage({ user: 'author-1', item: 'tag-1' }),
        toKafkaMessage({ user: 'author-2', item: 'tag-1', count: 3 }),
        { key: 'author-3', value: '{"user": "author-3"' },
      ],
    });
    await producer.disconnect();

    // The shipped config, with the targets moved to this run's ports and the rules file given by path.
    const config = parse(fs.readFileSync(path.join(repoRoot, 'infra/prometheus/prometheus.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.rule_files = [path.join(repoRoot, 'infra/prometheus/alerts.yml')];
    for (const scrape of config.scrape_configs) {
      const service = services.find((s) => s.name === scrape.job_name)!;
      scrape.static_configs = [{ targets: [`127.0.0.1:${service.port}`] }];
    }
    const configFile = path.join(root, 'prometheus.yml');
    fs.writeFileSync(configFile, stringify(config));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(bin, [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(root, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    prometheus.stderr?.on('data', (chunk) => {
      prometheusLog = (prometheusLog + chunk).slice(-20_000);
    });
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await Promise.all(services.map((service) => stopService(service)));
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function api<T>(route: string): Promise<T> {
    const response = await fetch(`${prometheusUrl}${route}`);
    const body = (await response.json()) as { status: string; data: T };
    if (body.status !== 'success') throw new Error(`${route}: ${JSON.stringify(body)}`);
    return body.data;
  }
  async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (error) {
        last = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`${what} not seen within ${timeoutMs} ms (${String(last ?? '')})\n${prometheusLog}`);
  }

  it('has every target up', { timeout: 90_000 }, async () => {
    const targets = await eventually(async () => {
      const data = await api<{ activeTargets: Target[] }>('/api/v1/targets');
      return data.activeTargets.length === 3 && data.activeTargets.every((t) => t.health === 'up')
        ? data.activeTargets
        : undefined;
    }, 'all targets up');
    expect(targets.map((t) => t.labels.job).sort()).toEqual(['ingester', 'scorer', 'trainer']);
  });

  it('stores the key series of each service', { timeout: 90_000 }, async () => {
    const value = (query: string) =>
      eventually(async () => {
        const data = await api<{ result: { value: [number, string] }[] }>(
          `/api/v1/query?query=${encodeURIComponent(query)}`,
        );
        return data.result.length > 0 ? Number(data.result[0]!.value[1]) : undefined;
      }, query);
    expect(await value('sum(ingester_events_stored_total)')).toBe(2);
    expect(await value('sum(ingester_events_dead_lettered_total)')).toBe(1);
    expect(await value('sum(ingester_consumer_lag)')).toBeGreaterThanOrEqual(0);
    expect(await value('trainer_running{job="trainer"}')).toBe(0);
    expect(await value('nodejs_heap_size_used_bytes{job="scorer"}')).toBeGreaterThan(0);
  });

  /** Names of the metric families the three services expose right now. */
  const exposedMetrics = async () => {
    const exposed = new Set<string>();
    for (const service of services) {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      for (const match of text.matchAll(/^# HELP (\S+)/gm)) exposed.add(match[1]!);
    }
    return exposed;
  };
  const expectExposed = (expr: string, exposed: Set<string>, where = expr) => {
    for (const [metric] of expr.matchAll(/\b(?:ingester|trainer|scorer)_[a-z_]+/g)) {
      expect(exposed, `${metric} in "${where}"`).toContain(metric.replace(/_(bucket|sum|count)$/, ''));
    }
  };

  it('can evaluate every query of the Grafana dashboard, on metrics the services expose', {
    timeout: 60_000,
  }, async () => {
    const dashboard = JSON.parse(
      fs.readFileSync(path.join(repoRoot, 'infra/grafana/dashboards/pncf.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exposed = await exposedMetrics();
    const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(12);
    for (const expr of exprs) {
      await api(`/api/v1/query?query=${encodeURIComponent(expr)}`); // throws unless Prometheus accepts it
      expectExposed(expr, exposed);
    }
  });

  it('loads the alert rules', { timeout: 30_000 }, async () => {
    const data = await eventually(async () => {
      const rules = await api<{ groups: { rules: { name: string; query: string }[] }[] }>('/api/v1/rules');
      return rules.groups.length > 0 ? rules : undefined;
    }, 'rules');
    const rules = data.groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.name)).toEqual(
      expect.arrayContaining([
        'PncfNoNewModel',
        'PncfIngestLagGrowing',
        'PncfDeadLetters',
        'PncfTrainingRunsFailing',
        'PncfCorruptedModel',
      ]),
    );
    // An alert on a metric nobody exposes would never fire.
    const exposed = await exposedMetrics();
    for (const { name, query } of rules) {
      expectExposed(query, exposed, name);
    }
  });
});
