import { describe, expect, it } from 'vitest';
import { paperBags, sampleBags } from '../src/bags.js';
import {
  referenceWord2Vec,
  trainWord2Vec as train,
  type Word2VecKernel,
  type Word2VecOptions,
  warmStartEmbeddings,
} from '../src/word2vec.js';
import { clusteredData, groupOfItem, groupSeparation } from './fixtures.js';

const data = clusteredData();
const itemBags = sampleBags(data.byUser, paperBags, 1);
const options: Word2VecOptions = { ...referenceWord2Vec, dim: 16, epochs: 10, sample: 0 };

// Every behaviour holds for both kernels: the SIMD WebAssembly one and the typed-array fallback.
for (const kernel of ['wasm', 'js'] as const satisfies Word2VecKernel[]) {
  describe(`word2vec on bags (${kernel} kernel)`, () => {
    const trainWord2Vec = (...args: Parameters<typeof train>) => train(args[0], args[1], args[2], args[3], { kernel });

    it('runs the kernel it was asked for', async () => {
      expect((await trainWord2Vec(itemBags, { ...options, epochs: 1 }, 3)).kernel).toBe(kernel);
    });

    for (const mode of ['cbow', 'skipgram'] as const) {
      it(`${mode}: items bought by the same community end up closer than items across communities`, async () => {
        const { embeddings, pairs } = await trainWord2Vec(itemBags, { ...options, mode }, 3);
        expect(pairs).toBeGreaterThan(0);
        expect(groupSeparation(embeddings.vectors, data.byUser.cols, 16, (i) => groupOfItem(i))).toBeGreaterThan(0.3);
      });
    }

    it('single-thread mode is deterministic for a seed', async () => {
      const a = await trainWord2Vec(itemBags, options, 11);
      const b = await trainWord2Vec(itemBags, options, 11);
      const c = await trainWord2Vec(itemBags, options, 12);
      expect(a.embeddings.vectors).toEqual(b.embeddings.vectors);
      expect(a.embeddings.vectors).not.toEqual(c.embeddings.vectors);
    });

    it('trains with two worker threads over shared memory and learns the same structure', async () => {
      const { embeddings, pairs } = await trainWord2Vec(itemBags, { ...options, threads: 2 }, 3);
      const single = await trainWord2Vec(itemBags, options, 3);
      // Same amount of work, split across workers (subsampling is off, window shrinking is random).
      expect(pairs / single.pairs).toBeGreaterThan(0.9);
      expect(pairs / single.pairs).toBeLessThan(1.1);
      expect(embeddings.vectors).toBeInstanceOf(Float32Array);
      expect(embeddings.vectors.buffer).not.toBeInstanceOf(SharedArrayBuffer);
      expect(groupSeparation(embeddings.vectors, data.byUser.cols, 16, (i) => groupOfItem(i))).toBeGreaterThan(0.3);
    });

    it('warm start keeps known ids, adds new ones and continues training from the old vectors', async () => {
      const first = await trainWord2Vec(itemBags, options, 3);
      const oldIds = data.itemIds;
      const newIds = [...oldIds.slice(1), 'brand-new', 'another'];
      const warm = warmStartEmbeddings(first.embeddings, oldIds, newIds, 4);
      expect(warm.vocabSize).toBe(newIds.length);
      // Row k of the new table is old row k + 1.
      expect(warm.vectors.subarray(0, 16)).toEqual(first.embeddings.vectors.subarray(16, 32));
      expect(warm.context.subarray(0, 16)).toEqual(first.embeddings.context.subarray(16, 32));
      const fresh = warm.vectors.subarray((newIds.length - 2) * 16);
      expect(Math.max(...fresh.map(Math.abs))).toBeLessThan(0.5 / 16 + 1e-6);

      // Continuing on the same corpus from the old tables: the structure is kept, vectors move only a little.
      const cont = await trainWord2Vec(itemBags, { ...options, epochs: 1, alpha: 0.005 }, 5, first.embeddings);
      expect(groupSeparation(cont.embeddings.vectors, data.byUser.cols, 16, (i) => groupOfItem(i))).toBeGreaterThan(
        0.3,
      );
      await expect(trainWord2Vec(itemBags, options, 5, warm)).rejects.toThrow(/corpus needs/);
    });
  });
}
