import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toKafkaMessage } from '@pncf/events';
import { freePort } from '@pncf/kafka-local';
import { ModelRegistry } from '@pncf/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { testBrokers, testKafka, trainerDeployment, uniqueName } from './support/kafka.js';
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

/** promtool, which the same package installs beside prometheus. */
function promtoolBinary(): string {
  const bin = path.join(path.dirname(fs.realpathSync(prometheusBinary())), 'promtool');
  if (!fs.existsSync(bin)) throw new Error(`no promtool beside prometheus (${bin})`);
  return bin;
}

const rulesFile = path.join(repoRoot, 'infra/prometheus/alerts.yml');

describe('the shipped alert rules', () => {
  it('pass promtool check rules', { timeout: 300_000 }, () => {
    const output = execFileSync(promtoolBinary(), ['check', 'rules', rulesFile], { encoding: 'utf8' });
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests (alerts.test.yml: each alert fires when its condition holds for its `for`)', {
    timeout: 60_000,
  }, () => {
    const tests = path.join(repoRoot, 'infra/prometheus/alerts.test.yml');
    const output = execFileSync(promtoolBinary(), ['test', 'rules', tests], { encoding: 'utf8' });
    expect(output).toContain('SUCCESS');
  });

  it('link every alert to a README section that exists', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    // GitHub's anchors: the heading in lower case, punctuation dropped, spaces as hyphens.
    const anchors = new Set(
      [...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N} _-]/gu, '')
          .replace(/ /g, '-'),
      ),
    );
    const groups = (parse(fs.readFileSync(rulesFile, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups;
    const alerts = groups.flatMap((group) => group.rules);
    expect(alerts.length).toBeGreaterThanOrEqual(13);
    for (const alert of alerts) {
      const url = alert.annotations.runbook_url ?? '';
      expect(url, alert.alert).toMatch(/^README\.md#/);
      expect(anchors, `${alert.alert} → ${url}`).toContain(url.split('#')[1]);
    }
  });
});

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  annotations: Record<string, string>;
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
      ...trainerDeployment('prom'),
      RECOMMENDATIONS_TOPIC: uniqueName('prom-recs'),
      CHANGELOG_TOPIC: uniqueName('prom-counts'),
      STORE_PATH: path.join(root, 'ingester-store'),
      MODEL_DIR: path.join(root, 'models'),
      TRAIN_AT_STARTUP: 'false',
      // The failed-load alert below needs the scorer to notice a new CURRENT quickly.
      MODEL_POLL_MS: '500',
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
    // The shipped rules with every `for` cut to 1 s, so alerts fire within seconds of their condition holding (the
    // real durations are covered by alerts.test.yml).
    const rules = parse(fs.readFileSync(rulesFile, 'utf8')) as { groups: { rules: AlertRule[] }[] };
    for (const rule of rules.groups.flatMap((group) => group.rules)) if (rule.for) rule.for = '1s';
    const fastRulesFile = path.join(root, 'alerts.yml');
    fs.writeFileSync(fastRulesFile, stringify(rules));
    config.rule_files = [fastRulesFile];
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
    expect(await value('sum(pncf_ingester_events_stored_total)')).toBe(2);
    expect(await value('sum(pncf_ingester_events_dead_lettered_total)')).toBe(1);
    expect(await value('sum(pncf_ingester_consumer_lag_messages)')).toBeGreaterThanOrEqual(0);
    expect(await value('pncf_trainer_run_in_progress{job="trainer"}')).toBe(0);
    // Counters of known label values exist at 0 before anything happened.
    expect(await value('pncf_scorer_model_loads_total{outcome="failed"}')).toBe(0);
    expect(await value('pncf_trainer_runs_total{outcome="failed"}')).toBe(0);
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
    for (const [metric] of expr.matchAll(/\bpncf_[a-z_]+/g)) {
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
      // Grafana replaces $__rate_interval (at least four scrape intervals) before sending the query.
      const query = expr.replaceAll('$__rate_interval', '1m');
      await api(`/api/v1/query?query=${encodeURIComponent(query)}`); // throws unless Prometheus accepts it
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
        'PncfIngesterDown',
        'PncfTrainerDown',
        'PncfScorerDown',
        'PncfApiErrorRatioHigh',
        'PncfApiLatencyHigh',
        'PncfModelLoadFailed',
        'PncfServingVersionBehind',
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

  interface Alert {
    labels: Record<string, string>;
    state: 'pending' | 'firing';
  }
  const firing = (name: string) =>
    eventually(async () => {
      const { alerts } = await api<{ alerts: Alert[] }>('/api/v1/alerts');
      return alerts.find((alert) => alert.labels.alertname === name && alert.state === 'firing');
    }, `${name} firing`);
  const firingNow = async () =>
    (await api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts
      .filter((alert) => alert.state === 'firing')
      .map((alert) => alert.labels.alertname);

  it('fires PncfModelLoadFailed when the scorer refuses a published version', { timeout: 90_000 }, async () => {
    // Prometheus must have seen the counter at 0 first: the alert is on its increase.
    await eventually(async () => {
      const data = await api<{ result: unknown[] }>(
        `/api/v1/query?query=${encodeURIComponent('pncf_scorer_model_loads_total{outcome="failed"} == 0')}`,
      );
      return data.result.length > 0 ? true : undefined;
    }, 'the failed-load counter at 0');
    expect(await firingNow()).not.toContain('PncfModelLoadFailed');

    // A version whose files are not a model: it verifies (its checksums are right) but cannot load.
    const modelRegistry = new ModelRegistry(path.join(root, 'models'));
    const staged = modelRegistry.createStaging();
    fs.writeFileSync(path.join(staged, 'model.json'), '{"not": "a model"}');
    const version = modelRegistry.publish(staged, {}).version;

    const alert = await firing('PncfModelLoadFailed');
    expect(alert.labels).toMatchObject({ job: 'scorer', outcome: 'failed', severity: 'warning' });
    // The trainer reports the pointer as published while the scorer serves nothing.
    const behind = await firing('PncfServingVersionBehind');
    expect(behind.labels).toMatchObject({ job: 'scorer' });
    expect(version).toBe('v000001');
  });

  it('fires PncfScorerDown when the scorer stops answering, and no other service-down alert', {
    timeout: 90_000,
  }, async () => {
    expect(await firingNow()).not.toContain('PncfScorerDown');
    const scorer = services.find((service) => service.name === 'scorer')!;
    await stopService(scorer);
    const alert = await firing('PncfScorerDown');
    expect(alert.labels).toMatchObject({ job: 'scorer', severity: 'critical' });
    const now = await firingNow();
    expect(now).not.toContain('PncfIngesterDown');
    expect(now).not.toContain('PncfTrainerDown');
  });
});
