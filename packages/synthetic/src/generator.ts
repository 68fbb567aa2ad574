import { deriveSeed, fromPairs, type Interactions, Random, upperBound } from '@pncf/data';
import { defaultSyntheticOptions, type SyntheticOptions } from './options.js';

/** The stream as parallel typed arrays, in time order; every event has count 1. */
export interface SyntheticStream {
  options: SyntheticOptions;
  authorIds: string[];
  tagIds: string[];
  authors: Uint32Array;
  tags: Uint32Array;
  timestamps: Float64Array;
}

export interface InteractionEvent {
  user: string;
  item: string;
  count: number;
  ts: number;
}

/** Index of the first entry of the ascending `cumulative[0..length)` that exceeds `target` (the last when none does). */
const searchCumulative = (cumulative: Float64Array, length: number, target: number): number =>
  Math.min(length - 1, upperBound(cumulative, 0, length, target));

/** Moment (event index) each entity appears: a prefix exists from the start, the rest at spread-out moments. */
function birthIndices(count: number, initialShare: number, events: number): Uint32Array {
  const births = new Uint32Array(count);
  const initial = Math.max(1, Math.round(count * initialShare));
  for (let i = initial; i < count; i++) births[i] = Math.floor(((i - initial + 1) / (count - initial + 1)) * events);
  return births;
}

/**
 * The latent world behind the stream: author activity and topics, topic tag lists, birth moments. Built from
 * the seed alone, so the stream and the ground truth of what comes next agree.
 */
class World {
  readonly activityCumulative: Float64Array;
  readonly authorBirths: Uint32Array;
  readonly tagBirths: Uint32Array;
  readonly topicStart: Uint32Array;
  readonly authorTopics: Uint32Array;
  readonly authorTopicCumulative: Float64Array;
  readonly topicTags: Uint32Array;
  readonly zipfCumulative: Float64Array;

  constructor(readonly options: SyntheticOptions) {
    const { authors, tags, topics, tagsPerTopic, maxTopicsPerAuthor, activityTail, seed } = options;
    const rng = new Random(deriveSeed(seed, 1));

    this.activityCumulative = new Float64Array(authors);
    let total = 0;
    for (let a = 0; a < authors; a++) {
      // Pareto(activityTail), capped: real authors write at most a few hundred videos.
      total += Math.min(60, (1 - rng.next()) ** (-1 / activityTail));
      this.activityCumulative[a] = total;
    }
    this.authorBirths = birthIndices(authors, options.initialAuthorShare, options.events);
    this.tagBirths = birthIndices(tags, options.initialTagShare, options.events);

    this.topicStart = new Uint32Array(authors + 1);
    const chosenTopics: number[] = [];
    const topicWeights: number[] = [];
    for (let a = 0; a < authors; a++) {
      const k = 1 + rng.int(maxTopicsPerAuthor);
      let cumulative = 0;
      for (let j = 0; j < k; j++) {
        chosenTopics.push(rng.int(topics));
        cumulative += 0.2 + rng.next();
        topicWeights.push(cumulative);
      }
      this.topicStart[a + 1] = chosenTopics.length;
    }
    this.authorTopics = Uint32Array.from(chosenTopics);
    this.authorTopicCumulative = Float64Array.from(topicWeights);

    const perTopic = Math.min(tagsPerTopic, tags);
    this.topicTags = new Uint32Array(topics * perTopic);
    for (let t = 0; t < topics; t++) {
      for (let r = 0; r < perTopic; r++) this.topicTags[t * perTopic + r] = rng.int(tags);
    }
    this.zipfCumulative = new Float64Array(perTopic);
    let zipf = 0;
    for (let r = 0; r < perTopic; r++) {
      zipf += 1 / (r + 1);
      this.zipfCumulative[r] = zipf;
    }
  }

  /** A tag for author a from its topics (or noise), among the first `bornTags` tags. */
  drawFreshTag(a: number, bornTags: number, rng: Random): number {
    if (rng.next() >= this.options.noiseProbability) {
      const start = this.topicStart[a]!;
      const end = this.topicStart[a + 1]!;
      // Known defect, kept on purpose: the running total restarts at 0 for each author, so `base` (the previous
      // author's last total) skews the pick towards the author's later topics. Fixing it changes the stream every
      // committed figure of the generated data set was measured on; freshTagProbabilities reproduces it exactly.
      const base = start > 0 ? this.authorTopicCumulative[start - 1]! : 0;
      const perTopic = this.zipfCumulative.length;
      for (let attempt = 0; attempt < 8; attempt++) {
        const pick = base + rng.next() * (this.authorTopicCumulative[end - 1]! - base);
        let j = start;
        while (j < end - 1 && this.authorTopicCumulative[j]! <= pick) j++;
        const topic = this.authorTopics[j]!;
        const rank = searchCumulative(this.zipfCumulative, perTopic, rng.next() * this.zipfCumulative[perTopic - 1]!);
        const tag = this.topicTags[topic * perTopic + rank]!;
        if (tag < bornTags) return tag;
      }
    }
    return rng.int(bornTags);
  }

  /**
   * The distribution drawFreshTag samples from once every tag exists: the chance of each topic as its pick
   * actually selects it (the share of the pick's range that lands in the topic's slot), Zipf within the topic,
   * and the noise share spread evenly over all tags.
   */
  freshTagProbabilities(a: number): Float64Array {
    const { tags, noiseProbability } = this.options;
    const out = new Float64Array(tags).fill(noiseProbability / tags);
    const start = this.topicStart[a]!;
    const end = this.topicStart[a + 1]!;
    const cumulative = this.authorTopicCumulative;
    const base = start > 0 ? cumulative[start - 1]! : 0;
    const top = cumulative[end - 1]!;
    const lo = Math.min(base, top);
    const hi = Math.max(base, top);
    const perTopic = this.zipfCumulative.length;
    const zipfTotal = this.zipfCumulative[perTopic - 1]!;
    for (let j = start; j < end; j++) {
      // drawFreshTag takes topic j for picks in [cumulative[j-1], cumulative[j]) (open-ended at both ends).
      const from = j > start ? cumulative[j - 1]! : Number.NEGATIVE_INFINITY;
      const to = j < end - 1 ? cumulative[j]! : Number.POSITIVE_INFINITY;
      const share =
        hi > lo ? Math.max(0, Math.min(hi, to) - Math.max(lo, from)) / (hi - lo) : base >= from && base < to ? 1 : 0;
      if (share === 0) continue;
      const topic = this.authorTopics[j]!;
      for (let r = 0; r < perTopic; r++) {
        const zipf = (this.zipfCumulative[r]! - (r > 0 ? this.zipfCumulative[r - 1]! : 0)) / zipfTotal;
        out[this.topicTags[topic * perTopic + r]!]! += (1 - noiseProbability) * share * zipf;
      }
    }
    return out;
  }
}

/**
 * A seeded synthetic author-tag stream with the structure PNCF is for: authors write about a few latent topics,
 * activity is heavy-tailed, authors re-use their own tags (so pair counts exceed 1), and authors and tags keep
 * appearing over time. Same options, same stream.
 */
export class AuthorTagGenerator {
  readonly options: SyntheticOptions;
  private readonly world: World;
  private history: Uint32Array[] | undefined;
  private historyLength: Uint32Array | undefined;

  constructor(options: Partial<SyntheticOptions> = {}) {
    this.options = { ...defaultSyntheticOptions, ...options };
    this.world = new World(this.options);
  }

  authorId = (a: number): string => `author-${String(a).padStart(6, '0')}`;
  tagId = (t: number): string => `tag-${String(t).padStart(5, '0')}`;

  /** The whole stream as typed arrays (time order). */
  generate(): SyntheticStream {
    const { events, authors: authorCount, tags: tagCount, reuseProbability, startTs, meanGapMs } = this.options;
    const world = this.world;
    const rng = new Random(deriveSeed(this.options.seed, 2));
    const authors = new Uint32Array(events);
    const tags = new Uint32Array(events);
    const timestamps = new Float64Array(events);
    // Per-author tag history, grown by doubling: re-use draws a uniform past event, i.e. a tag ∝ its count.
    const history: Uint32Array[] = new Array(authorCount);
    const historyLength = new Uint32Array(authorCount);
    let bornAuthors = 0;
    let bornTags = 0;
    let ts = startTs;
    for (let i = 0; i < events; i++) {
      while (bornAuthors < authorCount && world.authorBirths[bornAuthors]! <= i) bornAuthors++;
      while (bornTags < tagCount && world.tagBirths[bornTags]! <= i) bornTags++;
      const a = searchCumulative(
        world.activityCumulative,
        bornAuthors,
        rng.next() * world.activityCumulative[bornAuthors - 1]!,
      );
      const used = historyLength[a]!;
      let tag: number;
      if (used > 0 && rng.next() < reuseProbability) tag = history[a]![rng.int(used)]!;
      else tag = world.drawFreshTag(a, bornTags, rng);

      let own = history[a];
      if (!own || own.length === used) {
        const grown = new Uint32Array(Math.max(8, used * 2));
        if (own) grown.set(own);
        own = grown;
        history[a] = grown;
      }
      own[used] = tag;
      historyLength[a] = used + 1;

      authors[i] = a;
      tags[i] = tag;
      ts += meanGapMs * -Math.log(1 - rng.next());
      timestamps[i] = Math.round(ts);
    }
    this.history = history;
    this.historyLength = historyLength;
    const authorIds = Array.from({ length: authorCount }, (_, a) => this.authorId(a));
    const tagIds = Array.from({ length: tagCount }, (_, t) => this.tagId(t));
    return { options: this.options, authorIds, tagIds, authors, tags, timestamps };
  }

  /**
   * The ground truth behind an author's new tags (author = dense index, as in the stream): the probability that
   * the author's next fresh draw (an event that is not a re-use of an own tag) is each tag, once every tag exists.
   * Ranking an author's unused tags by it is the oracle that knows the latent topics (a ceiling for any model).
   */
  freshTagProbabilities(author: number): Float64Array {
    return this.world.freshTagProbabilities(author);
  }

  /**
   * The tags each author would use next that they have not used yet: the author's process continued for
   * `horizon` more events. Call after generate(). Authors without new tags in the horizon are left out.
   */
  nextNewTags(horizon = 20): Map<string, string[]> {
    if (!this.history || !this.historyLength) throw new Error('call generate() first');
    const rng = new Random(deriveSeed(this.options.seed, 3));
    const truth = new Map<string, string[]>();
    const seen = new Set<number>();
    for (let a = 0; a < this.options.authors; a++) {
      const used = this.historyLength[a]!;
      if (used === 0) continue;
      const own = this.history[a]!;
      seen.clear();
      for (let j = 0; j < used; j++) seen.add(own[j]!);
      const fresh: string[] = [];
      for (let step = 0; step < horizon; step++) {
        // Re-use events bring no new tag; only fresh draws can.
        if (rng.next() < this.options.reuseProbability) continue;
        const tag = this.world.drawFreshTag(a, this.options.tags, rng);
        if (!seen.has(tag)) {
          seen.add(tag);
          fresh.push(this.tagId(tag));
        }
      }
      if (fresh.length > 0) truth.set(this.authorId(a), fresh);
    }
    return truth;
  }
}

/** Iterate the stream as interaction events (the wire format producers send). */
export function* streamEvents(
  stream: SyntheticStream,
  from = 0,
  to = stream.authors.length,
): Generator<InteractionEvent> {
  for (let i = from; i < to; i++) {
    yield {
      user: stream.authorIds[stream.authors[i]!]!,
      item: stream.tagIds[stream.tags[i]!]!,
      count: 1,
      ts: stream.timestamps[i]!,
    };
  }
}

/** The first `upTo` events aggregated into counts, with the generator's id spaces. */
export function toInteractions(stream: SyntheticStream, upTo = stream.authors.length): Interactions {
  return fromPairs(stream.authorIds, stream.tagIds, stream.authors.subarray(0, upTo), stream.tags.subarray(0, upTo));
}
