export interface SyntheticOptions {
  seed: number;
  /** Authors and tags that exist by the end of the stream. */
  authors: number;
  tags: number;
  /** Latent topics: each author writes about a few, each topic favours its own tags. */
  topics: number;
  /** Interaction events (count 1 each) in the stream. */
  events: number;
  /** Share of authors and tags present from the start; the others appear at evenly spread moments. */
  initialAuthorShare: number;
  initialTagShare: number;
  /** Pareto tail index of author activity: smaller means a few authors write most videos. */
  activityTail: number;
  /** Most topics one author writes about (at least 1). */
  maxTopicsPerAuthor: number;
  /** Tags in each topic's core, drawn with Zipf(1) popularity inside the topic. */
  tagsPerTopic: number;
  /** Chance that an event re-uses one of the author's own tags (proportional to past use): counts above 1. */
  reuseProbability: number;
  /** Chance that an event's tag is drawn from all tags by global popularity instead of the author's topics. */
  noiseProbability: number;
  /** Epoch ms of the first event and the mean gap between events. */
  startTs: number;
  meanGapMs: number;
}

export const defaultSyntheticOptions: SyntheticOptions = {
  seed: 1,
  authors: 3000,
  tags: 1500,
  topics: 30,
  events: 100_000,
  initialAuthorShare: 0.7,
  initialTagShare: 0.85,
  activityTail: 1.3,
  maxTopicsPerAuthor: 3,
  tagsPerTopic: 80,
  reuseProbability: 0.45,
  noiseProbability: 0.05,
  startTs: Date.UTC(2026, 0, 1),
  meanGapMs: 1000,
};

/** Options for roughly `events` events, with authors and tags scaled like the real author-tag set. */
export function scaledOptions(events: number, seed = 1): SyntheticOptions {
  const authors = Math.max(50, Math.round(events / 15));
  const tags = Math.max(40, Math.round(Math.sqrt(events) * 4));
  return {
    ...defaultSyntheticOptions,
    seed,
    events,
    authors,
    tags,
    topics: Math.max(5, Math.round(tags / 50)),
    tagsPerTopic: Math.max(10, Math.min(200, Math.round(tags / 15))),
  };
}
