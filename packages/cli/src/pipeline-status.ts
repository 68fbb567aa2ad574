import type { ModelRegistry } from '@pncf/registry';

export interface ModelSummary {
  version: string;
  createdAt: string;
  users: number;
  items: number;
  recall10?: number;
  ndcg10?: number;
}

interface Metadata {
  data?: { users: number; items: number };
  holdout?: { ks: number[]; metrics: Record<string, number[] | undefined> };
}

/** The current model of a registry in one line's worth of numbers, or undefined before the first one. */
export function summarizeModel(modelRegistry: ModelRegistry): ModelSummary | undefined {
  const version = modelRegistry.currentVersion();
  if (!version) return undefined;
  const { manifest } = modelRegistry.open(version);
  const meta = manifest.metadata as Metadata;
  const at = meta.holdout?.ks.indexOf(10) ?? -1;
  return {
    version,
    createdAt: manifest.createdAt,
    users: meta.data?.users ?? 0,
    items: meta.data?.items ?? 0,
    ...(at >= 0 ? { recall10: meta.holdout?.metrics.recall?.[at], ndcg10: meta.holdout?.metrics.ndcg?.[at] } : {}),
  };
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
