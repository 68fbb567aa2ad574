import type { ModelRegistry } from '@pncf/registry';

interface Estimate {
  mean: number;
  low: number;
  high: number;
}

/** The trainer's gate as recorded in version.json (services/trainer/src/pipeline.ts, GateRecord). */
export interface GateSummary {
  metric: string;
  k: number;
  reason: string;
  decision?: 'publish' | 'reject';
  baseline?: string;
  window?: { fromSequence: number; toSequence: number; evaluated: { users: number; pairs: number } };
  comparison?: { level: number; candidate: Estimate; incumbent: Estimate; difference: Estimate };
}

export interface ModelSummary {
  version: string;
  createdAt: string;
  users: number;
  items: number;
  /** Users the holdout figures were measured on. */
  holdoutUsers?: number;
  recall10?: number;
  ndcg10?: number;
  /**
   * What recall10/ndcg10 were measured on: the gate's window (pairs first seen after the serving model's snapshot)
   * or a random holdout (the first model). Undefined for versions written before the window gate.
   */
  evaluation?: 'window' | 'random-holdout';
  gate?: GateSummary;
}

interface Metadata {
  data?: { users: number; items: number };
  evaluation?: 'window' | 'random-holdout';
  holdout?: { users?: number; ks: number[]; metrics: Record<string, number[] | undefined> };
  gate?: GateSummary;
}

/** The current model of a registry in one line's worth of numbers, or undefined before the first one. */
export function summarizeModel(modelRegistry: ModelRegistry): ModelSummary | undefined {
  const version = modelRegistry.currentVersion();
  return version ? summarizeVersion(modelRegistry, version) : undefined;
}

/** One version of a registry in one line's worth of numbers (throws when the version fails verification). */
export function summarizeVersion(modelRegistry: ModelRegistry, version: string): ModelSummary {
  const { manifest } = modelRegistry.open(version);
  const meta = manifest.metadata as Metadata;
  const at = meta.holdout?.ks.indexOf(10) ?? -1;
  return {
    version,
    createdAt: manifest.createdAt,
    users: meta.data?.users ?? 0,
    items: meta.data?.items ?? 0,
    ...(meta.holdout?.users !== undefined ? { holdoutUsers: meta.holdout.users } : {}),
    ...(at >= 0 ? { recall10: meta.holdout?.metrics.recall?.[at], ndcg10: meta.holdout?.metrics.ndcg?.[at] } : {}),
    ...(meta.evaluation ? { evaluation: meta.evaluation } : {}),
    ...(meta.gate ? { gate: meta.gate } : {}),
  };
}

/** Which data a model's figures come from, for labels: never pairs the model trained on (except `holdout`, old). */
export function holdoutLabel(model: ModelSummary): string {
  if (model.evaluation === 'window') return 'window';
  if (model.evaluation === 'random-holdout') return 'random holdout';
  return 'holdout';
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;
const interval = (e: Estimate, format: (x: number) => string = (x) => x.toFixed(4)) =>
  `${format(e.mean)} [${format(e.low)}, ${format(e.high)}]`;

/**
 * The lines `pncf up` prints for a new model version: its figures on data it never trained on, labelled (the
 * gate's window for versions after the first, with the gate's comparison and intervals; a random holdout for the
 * first), and the gate's decision.
 */
export function describeModel(model: ModelSummary): string[] {
  const label = holdoutLabel(model);
  const { gate } = model;
  const window = gate?.window;
  const range = window ? `after sequence ${window.fromSequence}, up to ${window.toSequence}` : '';
  let figures: string;
  let where = model.evaluation === 'random-holdout' ? ' (first model: nothing to compare with)' : '';
  if (model.recall10 === undefined) {
    figures = `no ${label} figures`;
    if (window) where = ` (no adoptions to evaluate ${range})`;
  } else {
    figures = `${label} recall@10 ${model.recall10.toFixed(4)}, ndcg@10 ${model.ndcg10?.toFixed(4)}`;
    if (window) where = ` (${window.evaluated.users} authors' new tags first seen ${range})`;
  }
  const lines = [`model ${model.version}: ${model.users} authors, ${model.items} tags, ${figures}${where}`];
  if (gate && model.evaluation === 'window') {
    const c = gate.comparison;
    const level = c ? `${Math.round(c.level * 100)} % intervals` : '';
    lines.push(
      c
        ? `    gate ${gate.metric}@${gate.k} on the window (${level}): ${interval(c.candidate)} vs ${gate.baseline ?? 'serving'} ` +
            `${interval(c.incumbent)}, difference ${interval(c.difference, signed)} → ${gate.decision ?? 'publish'}`
        : `    gate ${gate.metric}@${gate.k}: nothing to compare on the window → ${gate.decision ?? 'publish'}`,
      `    ${gate.reason}`,
    );
  }
  return lines;
}

/**
 * Wait until the scorer serves `version` (its /readyz names the model it serves): a new version is published
 * before the scorer has loaded and swapped to it. False when it has not within timeoutMs. Polling, not a retry:
 * what it waits for is another process's state, an error only means "not up yet", and the steady 250 ms pace is
 * what keeps the terminal's report prompt.
 */
export async function waitForServedModel(scorerUrl: string, version: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const ready = (await (await fetch(`${scorerUrl}/readyz`)).json()) as { model?: string | null };
      if (ready.model === version) return true;
    } catch {
      // Not up yet: keep polling until the deadline.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** "author-000042 → tag-00017 (0.91), tag-00003 (0.88), …" from the scorer's HTTP API. */
export async function suggestionsLine(scorerUrl: string, user: string, k = 5): Promise<string> {
  try {
    const response = await fetch(`${scorerUrl}/recommendations/${encodeURIComponent(user)}?k=${k}`);
    if (!response.ok) return `${user} → (${response.status} ${(await response.text()).slice(0, 80)})`;
    const body = (await response.json()) as { items?: { item: string; score: number }[] };
    const items = (body.items ?? []).map((entry) => `${entry.item} (${entry.score.toFixed(2)})`);
    return `${user} → ${items.join(', ') || '(nothing new to suggest)'}`;
  } catch (error) {
    return `${user} → (scorer unreachable: ${(error as Error).message})`;
  }
}
