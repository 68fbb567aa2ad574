import { indexOfIds, Random } from '@pncf/data';
import { buildAlias } from './alias.js';
import { type BagCorpus, numBags } from './bags.js';
import { startTsWorker } from './ts-worker.js';
import { type KernelData, type KernelParams, trainBags } from './word2vec-kernel.js';
import { type KernelRange, trainBagsWasm, wasmKernelFits, wasmKernelModule } from './word2vec-wasm.js';
import type { WorkerJob } from './word2vec-worker.js';

export interface Word2VecOptions {
  mode: 'skipgram' | 'cbow';
  dim: number;
  window: number;
  /** Negative samples per positive, drawn from the unigram^noiseExponent distribution. */
  negative: number;
  noiseExponent: number;
  epochs: number;
  /** Learning rate, decayed linearly to minAlpha over training. */
  alpha: number;
  minAlpha: number;
  /** Frequent-token subsampling threshold (word2vec's `sample`); 0 disables it. */
  sample: number;
  /** 1 runs in the calling thread and is deterministic for a seed; more uses lock-free worker threads. */
  threads: number;
}

/** The reference code's gensim 3 settings (CBOW, mean, window 5, 5 negatives, 5 epochs). */
export const referenceWord2Vec: Word2VecOptions = {
  mode: 'cbow',
  dim: 32,
  window: 5,
  negative: 5,
  noiseExponent: 0.75,
  epochs: 5,
  alpha: 0.025,
  minAlpha: 0.0001,
  sample: 1e-3,
  threads: 1,
};

/** Both word2vec tables, vocab × dim, row = dense index (the harness's user or item index). */
export interface Embeddings {
  vocabSize: number;
  dim: number;
  vectors: Float32Array;
  context: Float32Array;
}

/**
 * Which inner loop trains: 'wasm' is the SIMD WebAssembly kernel (word2vec-wasm.ts), 'js' the typed-array one
 * (word2vec-kernel.ts), 'auto' the first when this runtime has WebAssembly SIMD. PNCF_W2V_KERNEL=js|wasm|auto
 * sets the default (e.g. to run a whole fit on the fallback).
 */
export type Word2VecKernel = 'auto' | 'wasm' | 'js';

export interface Word2VecRunOptions {
  kernel?: Word2VecKernel;
  /**
   * Stops the training: a kernel call is one uninterruptible loop over every epoch, so with a signal each range
   * runs in a worker thread (one range included) and an abort terminates the workers, rejecting with the reason
   * at once. The typed-array kernel on one thread runs in the calling thread and only checks before it starts.
   */
  signal?: AbortSignal;
}

export interface Word2VecResult {
  embeddings: Embeddings;
  pairs: number;
  seconds: number;
  /** The kernel that trained ('auto' resolved). */
  kernel: 'wasm' | 'js';
}

const KERNELS: readonly Word2VecKernel[] = ['auto', 'wasm', 'js'];

/** The kernel to run: the caller's choice, else PNCF_W2V_KERNEL, else auto; auto takes wasm where it can run. */
function pickKernel(
  asked: Word2VecKernel | undefined,
  data: KernelData,
  params: KernelParams,
  threads: number,
): 'wasm' | 'js' {
  const fromEnv = process.env.PNCF_W2V_KERNEL as Word2VecKernel | undefined;
  if (fromEnv !== undefined && !KERNELS.includes(fromEnv)) {
    throw new Error(`PNCF_W2V_KERNEL=${fromEnv}: expected one of ${KERNELS.join(', ')}`);
  }
  const kernel = asked ?? fromEnv ?? 'auto';
  if (kernel === 'js') return 'js';
  const module = wasmKernelModule();
  const usable = module !== null && wasmKernelFits(module, data, params, threads);
  if (kernel === 'wasm' && !usable) {
    throw new Error(
      'word2vec kernel "wasm" asked for, but this runtime lacks WebAssembly SIMD or the job is over 4 GiB',
    );
  }
  return usable ? 'wasm' : 'js';
}

/** Fresh tables as word2vec initialises them: small uniform input vectors, zero output vectors. */
export function initEmbeddings(vocabSize: number, dim: number, seed: number): Embeddings {
  const rng = new Random(seed);
  const vectors = new Float32Array(vocabSize * dim);
  for (let k = 0; k < vectors.length; k++) vectors[k] = (rng.next() - 0.5) / dim;
  return { vocabSize, dim, vectors, context: new Float32Array(vocabSize * dim) };
}

/**
 * Warm start for online retraining: rows whose id existed before continue from their old vectors, new ids
 * start fresh. Ids are matched by string because dense indices are reassigned on every rebuild.
 */
export function warmStartEmbeddings(
  previous: Embeddings,
  previousIds: string[],
  ids: string[],
  seed: number,
): Embeddings {
  const out = initEmbeddings(ids.length, previous.dim, seed);
  const old = indexOfIds(previousIds);
  const d = previous.dim;
  for (let k = 0; k < ids.length; k++) {
    const p = old.get(ids[k]!);
    if (p === undefined) continue;
    out.vectors.set(previous.vectors.subarray(p * d, (p + 1) * d), k * d);
    out.context.set(previous.context.subarray(p * d, (p + 1) * d), k * d);
  }
  return out;
}

function tokenFrequencies(corpus: BagCorpus): Float64Array {
  const freq = new Float64Array(corpus.vocabSize);
  for (let k = 0; k < corpus.tokens.length; k++) freq[corpus.tokens[k]!]!++;
  return freq;
}

/** word2vec's keep probability: (sqrt(f/(s·N)) + 1)·(s·N)/f, capped at 1. */
function keepProbabilities(freq: Float64Array, total: number, sample: number): Float32Array {
  const keep = new Float32Array(freq.length).fill(1);
  if (sample <= 0) return keep;
  const threshold = sample * total;
  for (let k = 0; k < freq.length; k++) {
    const f = freq[k]!;
    if (f > 0) keep[k] = Math.min(1, (Math.sqrt(f / threshold) + 1) * (threshold / f));
  }
  return keep;
}

function shared<T extends Float32Array | Uint32Array>(source: T): T {
  const Ctor = source.constructor as { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const out = new Ctor(new SharedArrayBuffer(source.length * Ctor.BYTES_PER_ELEMENT));
  out.set(source);
  return out;
}

const workerEntry = new URL('./word2vec-worker.ts', import.meta.url);

function runWorker(job: WorkerJob, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const worker = startTsWorker(workerEntry, { workerData: job });
    const stop = () => {
      reject(signal?.reason);
      void worker.terminate();
    };
    signal?.addEventListener('abort', stop, { once: true });
    const settle = () => signal?.removeEventListener('abort', stop);
    worker.once('message', (m: { pairs: number }) => {
      settle();
      resolve(m.pairs);
    });
    worker.once('error', (error) => {
      settle();
      reject(error);
    });
    worker.once('exit', (code) => {
      settle();
      if (code !== 0) reject(new Error(`word2vec worker exited with code ${code}`));
    });
  });
}

/**
 * Train embeddings on a bag corpus. `init` continues from existing tables (warm start); otherwise fresh
 * ones are drawn from the seed. Pure with threads = 1; with more threads the result depends on scheduling.
 * `run.kernel` picks the inner loop (see Word2VecKernel); both give the same training up to float rounding.
 */
export async function trainWord2Vec(
  corpus: BagCorpus,
  options: Word2VecOptions,
  seed: number,
  init?: Embeddings,
  run: Word2VecRunOptions = {},
): Promise<Word2VecResult> {
  run.signal?.throwIfAborted();
  const started = performance.now();
  const start = init ?? initEmbeddings(corpus.vocabSize, options.dim, seed);
  if (start.vocabSize !== corpus.vocabSize || start.dim !== options.dim) {
    throw new Error(
      `initial embeddings are ${start.vocabSize}×${start.dim}, corpus needs ${corpus.vocabSize}×${options.dim}`,
    );
  }
  const freq = tokenFrequencies(corpus);
  const noiseWeights = freq.map((f) => f ** options.noiseExponent);
  const noise = buildAlias(noiseWeights);
  const keep = keepProbabilities(freq, corpus.tokens.length, options.sample);
  const params: KernelParams = {
    skipGram: options.mode === 'skipgram',
    dim: options.dim,
    window: options.window,
    negative: options.negative,
    epochs: options.epochs,
    alpha: options.alpha,
    minAlpha: options.minAlpha,
  };
  const bags = numBags(corpus);
  const rng = new Random(seed);
  const threads = Math.max(1, Math.min(options.threads, bags));
  // Seeds are drawn the same way for both kernels, so that one thread gives them the same random stream.
  const ranges: KernelRange[] =
    threads === 1
      ? [{ firstBag: 0, endBag: bags, seed: rng.nextU32() }]
      : Array.from({ length: threads }, (_, w) => ({
          firstBag: Math.floor((bags * w) / threads),
          endBag: Math.floor((bags * (w + 1)) / threads),
          seed: rng.nextU32(),
        }));
  const tables = {
    tokens: corpus.tokens,
    bagSize: corpus.bagSize,
    keep,
    noiseProb: noise.prob,
    noiseAlias: noise.alias,
  };
  const kernel = pickKernel(run.kernel, { ...tables, syn0: start.vectors, syn1: start.context }, params, threads);
  let pairs = 0;
  let vectors: Float32Array;
  let context: Float32Array;

  if (kernel === 'wasm') {
    vectors = start.vectors.slice();
    context = start.context.slice();
    pairs = await trainBagsWasm({ ...tables, syn0: vectors, syn1: context }, params, ranges, undefined, run.signal);
  } else if (threads === 1) {
    vectors = start.vectors.slice();
    context = start.context.slice();
    pairs = trainBags({ ...tables, syn0: vectors, syn1: context }, params, 0, bags, ranges[0]!.seed);
  } else {
    vectors = shared(start.vectors);
    context = shared(start.context);
    const data: KernelData = {
      tokens: shared(corpus.tokens),
      bagSize: corpus.bagSize,
      keep: shared(keep),
      noiseProb: shared(noise.prob),
      noiseAlias: shared(noise.alias),
      syn0: vectors,
      syn1: context,
    };
    const jobs = ranges.map((range) => runWorker({ data, params, ...range }, run.signal));
    for (const n of await Promise.all(jobs)) pairs += n;
    // Hand back ordinary (non-shared) arrays so callers can transfer or hash them freely.
    vectors = vectors.slice();
    context = context.slice();
  }
  return {
    embeddings: { vocabSize: corpus.vocabSize, dim: options.dim, vectors, context },
    pairs,
    seconds: (performance.now() - started) / 1000,
    kernel,
  };
}
