import { fromPairs, numPairs } from '@pncf/data';
import { evaluateModel, ItemKnn, MostPop } from '@pncf/evaluation';
import { describe, expect, it } from 'vitest';
import { AuthorTagGenerator, streamEvents, toInteractions } from '../src/generator.js';
import { scaledOptions } from '../src/options.js';

const options = scaledOptions(60_000, 7);

describe('AuthorTagGenerator', () => {
  const generator = new AuthorTagGenerator(options);
  const stream = generator.generate();
  const data = toInteractions(stream);

  it('is deterministic for a seed and differs across seeds', () => {
    const again = new AuthorTagGenerator(options).generate();
    expect(again.authors).toEqual(stream.authors);
    expect(again.tags).toEqual(stream.tags);
    expect(again.timestamps).toEqual(stream.timestamps);
    const other = new AuthorTagGenerator({ ...options, seed: 8 }).generate();
    expect(other.tags).not.toEqual(stream.tags);
  });

  it('has repeated use (counts above 1), heavy-tailed activity and increasing timestamps', () => {
    const { counts, indptr, rows } = data.byUser;
    let repeated = 0;
    for (const count of counts) if (count > 1) repeated++;
    expect(repeated / counts.length).toBeGreaterThan(0.15);
    const perAuthor = Array.from({ length: rows }, (_, u) => {
      let sum = 0;
      for (let p = indptr[u]!; p < indptr[u + 1]!; p++) sum += counts[p]!;
      return sum;
    }).sort((a, b) => b - a);
    const topShare = perAuthor.slice(0, Math.ceil(rows / 10)).reduce((s, x) => s + x, 0) / options.events;
    expect(topShare).toBeGreaterThan(0.3); // the busiest 10% of authors write over 30% of the events
    for (let i = 1; i < stream.timestamps.length; i++) {
      expect(stream.timestamps[i]).toBeGreaterThanOrEqual(stream.timestamps[i - 1]!);
    }
  });

  it('brings new authors and tags over time', () => {
    const firstSeen = (ids: Uint32Array, size: number) => {
      const first = new Int32Array(size).fill(-1);
      ids.forEach((id, i) => {
        if (first[id] === -1) first[id] = i;
      });
      return first;
    };
    const half = options.events / 2;
    const lateAuthors = [...firstSeen(stream.authors, options.authors)].filter((i) => i >= half).length;
    const lateTags = [...firstSeen(stream.tags, options.tags)].filter((i) => i >= half).length;
    expect(lateAuthors).toBeGreaterThan(options.authors * 0.1);
    expect(lateTags).toBeGreaterThan(options.tags * 0.05);
    const firstHalf = toInteractions(stream, half);
    expect(numPairs(firstHalf)).toBeLessThan(numPairs(data));
  });

  it('streams events in the wire format', () => {
    const [first] = streamEvents(stream, 0, 1);
    expect(first).toEqual({
      user: stream.authorIds[stream.authors[0]!],
      item: stream.tagIds[stream.tags[0]!],
      count: 1,
      ts: stream.timestamps[0],
    });
  });

  it('knows which new tags each author uses next, and they are predictable from the topics', async () => {
    const truth = generator.nextNewTags(20);
    expect(truth.size).toBeGreaterThan(options.authors * 0.5);
    const userIndex = new Map(stream.authorIds.map((id, i) => [id, i]));
    const tagIndex = new Map(stream.tagIds.map((id, i) => [id, i]));
    const users: number[] = [];
    const items: number[] = [];
    for (const [user, tags] of truth) {
      for (const tag of tags) {
        users.push(userIndex.get(user)!);
        items.push(tagIndex.get(tag)!);
        expect(
          data.byUser.indices.subarray(
            data.byUser.indptr[userIndex.get(user)!],
            data.byUser.indptr[userIndex.get(user)! + 1],
          ),
        ).not.toContain(tagIndex.get(tag));
      }
    }
    const test = fromPairs(stream.authorIds, stream.tagIds, users, items);
    const pop = new MostPop();
    await pop.fit(data);
    const knn = new ItemKnn();
    await knn.fit(data);
    const popRecall = (await evaluateModel(pop, data, test, { ks: [10] })).metrics.recall[0]!;
    const knnRecall = (await evaluateModel(knn, data, test, { ks: [10] })).metrics.recall[0]!;
    // Random guessing would find about 10 / tags of them.
    expect(popRecall).toBeGreaterThan(3 * (10 / options.tags));
    expect(knnRecall).toBeGreaterThan(popRecall * 1.2);
  });
});
