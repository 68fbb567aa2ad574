/**
 * The word2vec inner loop (skip-gram or CBOW with negative sampling) over fixed-size bags, on plain typed
 * arrays so that it runs unchanged in the main thread and in workers over SharedArrayBuffer. Like the
 * original word2vec, concurrent workers update the shared tables without locks (Hogwild): collisions are
 * rare and harmless for sparse updates.
 */
export interface KernelParams {
  skipGram: boolean;
  dim: number;
  window: number;
  negative: number;
  epochs: number;
  alpha: number;
  minAlpha: number;
}

export interface KernelData {
  tokens: Uint32Array;
  bagSize: number;
  /** Chance of keeping each token occurrence (frequent-token subsampling); 1 keeps everything. */
  keep: Float32Array;
  /** Alias table of the unigram^0.75 noise distribution over the vocabulary. */
  noiseProb: Float32Array;
  noiseAlias: Uint32Array;
  /** Input vectors (the embeddings), vocab × dim. */
  syn0: Float32Array;
  /** Output (context) vectors, vocab × dim. */
  syn1: Float32Array;
}

const MAX_EXP = 6;

/**
 * Train on bags [firstBag, endBag) for params.epochs passes. The learning rate decays linearly over this
 * range's own work, which matches a global schedule when the ranges are equal. Returns the number of
 * (context, target) pairs trained.
 */
export function trainBags(
  data: KernelData,
  params: KernelParams,
  firstBag: number,
  endBag: number,
  seed: number,
): number {
  const { tokens, bagSize, keep, noiseProb, noiseAlias, syn0, syn1 } = data;
  const { dim, window, negative, epochs, skipGram } = params;
  const vocab = noiseProb.length;
  const sentence = new Uint32Array(bagSize);
  const neu1 = new Float32Array(dim);
  const neu1e = new Float32Array(dim);
  // xorshift32 kept in a local so the hot loop does no property access for randomness.
  let rnd = seed >>> 0 || 0x2545f491;
  const totalBags = (endBag - firstBag) * epochs;
  let doneBags = 0;
  let pairs = 0;

  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let bag = firstBag; bag < endBag; bag++, doneBags++) {
      const alpha = Math.max(params.minAlpha, params.alpha - (params.alpha - params.minAlpha) * (doneBags / totalBags));
      let len = 0;
      const base = bag * bagSize;
      for (let t = 0; t < bagSize; t++) {
        const tok = tokens[base + t]!;
        const k = keep[tok]!;
        if (k < 1) {
          rnd ^= rnd << 13;
          rnd ^= rnd >>> 17;
          rnd ^= rnd << 5;
          if (k < (rnd >>> 0) / 4294967296) continue;
        }
        sentence[len++] = tok;
      }
      for (let pos = 0; pos < len; pos++) {
        const word = sentence[pos]!;
        rnd ^= rnd << 13;
        rnd ^= rnd >>> 17;
        rnd ^= rnd << 5;
        // word2vec's shrunk window: uniform in [1, window].
        const reach = window - ((((rnd >>> 0) / 4294967296) * window) | 0);
        const lo = Math.max(0, pos - reach);
        const hi = Math.min(len - 1, pos + reach);
        if (skipGram) {
          for (let c = lo; c <= hi; c++) {
            if (c === pos) continue;
            const l1 = sentence[c]! * dim;
            neu1e.fill(0);
            for (let d = 0; d <= negative; d++) {
              let target = word;
              let label = 1;
              if (d > 0) {
                rnd ^= rnd << 13;
                rnd ^= rnd >>> 17;
                rnd ^= rnd << 5;
                const u = ((rnd >>> 0) / 4294967296) * vocab;
                const b = u | 0;
                target = u - b < noiseProb[b]! ? b : noiseAlias[b]!;
                if (target === word) continue;
                label = 0;
              }
              const l2 = target * dim;
              let f = 0;
              for (let x = 0; x < dim; x++) f += syn0[l1 + x]! * syn1[l2 + x]!;
              const g = (label - (f > MAX_EXP ? 1 : f < -MAX_EXP ? 0 : 1 / (1 + Math.exp(-f)))) * alpha;
              for (let x = 0; x < dim; x++) {
                neu1e[x]! += g * syn1[l2 + x]!;
                syn1[l2 + x]! += g * syn0[l1 + x]!;
              }
            }
            for (let x = 0; x < dim; x++) syn0[l1 + x]! += neu1e[x]!;
            pairs++;
          }
        } else {
          neu1.fill(0);
          neu1e.fill(0);
          let cw = 0;
          for (let c = lo; c <= hi; c++) {
            if (c === pos) continue;
            const l1 = sentence[c]! * dim;
            for (let x = 0; x < dim; x++) neu1[x]! += syn0[l1 + x]!;
            cw++;
          }
          if (cw === 0) continue;
          const inv = 1 / cw;
          for (let x = 0; x < dim; x++) neu1[x]! *= inv;
          for (let d = 0; d <= negative; d++) {
            let target = word;
            let label = 1;
            if (d > 0) {
              rnd ^= rnd << 13;
              rnd ^= rnd >>> 17;
              rnd ^= rnd << 5;
              const u = ((rnd >>> 0) / 4294967296) * vocab;
              const b = u | 0;
              target = u - b < noiseProb[b]! ? b : noiseAlias[b]!;
              if (target === word) continue;
              label = 0;
            }
            const l2 = target * dim;
            let f = 0;
            for (let x = 0; x < dim; x++) f += neu1[x]! * syn1[l2 + x]!;
            const g = (label - (f > MAX_EXP ? 1 : f < -MAX_EXP ? 0 : 1 / (1 + Math.exp(-f)))) * alpha;
            for (let x = 0; x < dim; x++) {
              neu1e[x]! += g * syn1[l2 + x]!;
              syn1[l2 + x]! += g * neu1[x]!;
            }
          }
          for (let c = lo; c <= hi; c++) {
            if (c === pos) continue;
            const l1 = sentence[c]! * dim;
            for (let x = 0; x < dim; x++) syn0[l1 + x]! += neu1e[x]!;
          }
          pairs += cw;
        }
      }
    }
  }
  return pairs;
}
