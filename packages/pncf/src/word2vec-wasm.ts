/**
 * The SIMD WebAssembly word2vec kernel (native/word2vec.c, built into word2vec.wasm next to this file): the
 * same training as word2vec-kernel.ts on the same inputs, four floats at a time. All tables are copied into one
 * shared WebAssembly memory; each thread (the calling one for a single range, else pooled workers) instantiates
 * the module over it and trains its range of bags without locks (Hogwild), then the tables are copied back into
 * the caller's arrays.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KernelData, KernelParams } from './word2vec-kernel.js';
import { runWasmJob } from './word2vec-wasm-pool.js';

/** One thread's share: bags [firstBag, endBag) and its random seed. */
export interface KernelRange {
  firstBag: number;
  endBag: number;
  seed: number;
}

const PAGE = 65536;
/** Wasm32 addresses: at most 4 GiB of memory. */
const MAX_PAGES = 65536;
/** Below this the module keeps its (unused) stack; our arrays start here. */
const HEAP_BASE = PAGE;

/**
 * The part of the WebAssembly JavaScript API used here: the project compiles against ES2023 and Node's types,
 * neither of which declares it.
 */
interface WasmModule {
  readonly wasmModule: unique symbol;
}
interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export type { WasmModule };

/** Where the committed build of native/word2vec.c lives. */
export const WASM_KERNEL_PATH = fileURLToPath(new URL('./word2vec.wasm', import.meta.url));

/** Compile a build of the kernel (throws where WebAssembly SIMD or shared memory is missing). */
export function compileWasmKernel(bytes: Uint8Array): WasmModule {
  if (!wasm) throw new Error('this runtime has no WebAssembly');
  new wasm.Memory({ initial: 1, maximum: 1, shared: true });
  return new wasm.Module(bytes);
}

let compiled: WasmModule | null | undefined;

/** The committed kernel compiled once, or null when this runtime cannot run it (then 'js' runs). */
export function wasmKernelModule(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = compileWasmKernel(readFileSync(WASM_KERNEL_PATH));
  } catch {
    compiled = null;
  }
  return compiled;
}

const align = (n: number): number => Math.ceil(n / 64) * 64;

/** Byte offsets of every array in the shared memory: the tables, then each thread's private scratch. */
interface Layout {
  tokens: number;
  keep: number;
  noiseProb: number;
  noiseAlias: number;
  syn0: number;
  syn1: number;
  /** Per thread: the kernel's private scratch (w2v_scratch_bytes). */
  scratch: number[];
  bytes: number;
}

function layout(data: KernelData, threads: number, scratchBytes: number): Layout {
  let at = HEAP_BASE;
  const take = (bytes: number): number => {
    const start = at;
    at += align(bytes);
    return start;
  };
  const vocab = data.noiseProb.length;
  const out = {
    tokens: take(data.tokens.byteLength),
    keep: take(vocab * 4),
    noiseProb: take(vocab * 4),
    noiseAlias: take(vocab * 4),
    syn0: take(data.syn0.byteLength),
    syn1: take(data.syn1.byteLength),
    // Cache-line aligned, so that threads never write to the same line of scratch.
    scratch: Array.from({ length: threads }, () => take(scratchBytes)),
  };
  return { ...out, bytes: at };
}

/** The kernel's per-thread scratch size, asked of an instance over a one-page memory of its own. */
function scratchBytes(module: WasmModule, p: KernelParams, bagSize: number): number {
  if (!wasm) throw new Error('this runtime has no WebAssembly');
  const probe = new wasm.Instance(module, {
    env: { memory: new wasm.Memory({ initial: 1, maximum: 1, shared: true }) },
  });
  return (probe.exports.w2v_scratch_bytes as (...args: number[]) => number)(bagSize, p.dim, p.negative);
}

/** Whether a job of this size fits in wasm32's 4 GiB (else the typed-array kernel runs). */
export function wasmKernelFits(module: WasmModule, data: KernelData, p: KernelParams, threads: number): boolean {
  return layout(data, threads, scratchBytes(module, p, data.bagSize)).bytes <= MAX_PAGES * PAGE;
}

/** w2v_train's arguments for one thread, in the C signature's order. */
function trainArgs(l: Layout, data: KernelData, p: KernelParams, t: number, range: KernelRange): number[] {
  return [
    l.scratch[t]!,
    l.tokens,
    data.bagSize,
    l.keep,
    l.noiseProb,
    l.noiseAlias,
    data.noiseProb.length,
    l.syn0,
    l.syn1,
    p.dim,
    p.window,
    p.negative,
    p.skipGram ? 1 : 0,
    p.epochs,
    p.alpha,
    p.minAlpha,
    range.firstBag,
    range.endBag,
    range.seed >>> 0,
  ];
}

type TrainExport = (...args: number[]) => number;

const instantiate = (api: WasmApi, module: WasmModule, memory: WasmMemory): TrainExport =>
  new api.Instance(module, { env: { memory } }).exports.w2v_train as TrainExport;

/**
 * Train `data.syn0`/`data.syn1` in place with the wasm kernel (the committed build unless another `module` is
 * given): one range runs in the calling thread, several run in one worker thread each over the shared memory.
 * With a `signal` every range runs in a worker, and an abort terminates them and rejects with its reason.
 * Returns the number of (context, target) pairs trained.
 */
export async function trainBagsWasm(
  data: KernelData,
  params: KernelParams,
  ranges: KernelRange[],
  module: WasmModule | null = wasmKernelModule(),
  signal?: AbortSignal,
): Promise<number> {
  signal?.throwIfAborted();
  if (!module || !wasm) throw new Error('the WebAssembly word2vec kernel needs WebAssembly SIMD and shared memory');
  const l = layout(data, ranges.length, scratchBytes(module, params, data.bagSize));
  if (l.bytes > MAX_PAGES * PAGE) throw new Error(`word2vec job needs ${l.bytes} bytes, over wasm32's 4 GiB`);
  const pages = Math.ceil(l.bytes / PAGE);
  const memory = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
  const buffer = memory.buffer;
  const put = (offset: number, source: Float32Array | Uint32Array): void => {
    new Uint8Array(buffer, offset, source.byteLength).set(
      new Uint8Array(source.buffer, source.byteOffset, source.byteLength),
    );
  };
  put(l.tokens, data.tokens);
  put(l.keep, data.keep);
  put(l.noiseProb, data.noiseProb);
  put(l.noiseAlias, data.noiseAlias);
  put(l.syn0, data.syn0);
  put(l.syn1, data.syn1);

  let pairs = 0;
  // A stoppable run needs a worker even for one range: the calling thread cannot leave a kernel call.
  if (ranges.length === 1 && !signal) {
    pairs = instantiate(wasm, module, memory)(...trainArgs(l, data, params, 0, ranges[0]!));
  } else {
    const jobs = ranges.map((range, t) =>
      runWasmJob({ module, memory, args: trainArgs(l, data, params, t, range) }, signal),
    );
    for (const n of await Promise.all(jobs)) pairs += n;
  }
  data.syn0.set(new Float32Array(buffer, l.syn0, data.syn0.length));
  data.syn1.set(new Float32Array(buffer, l.syn1, data.syn1.length));
  return pairs;
}
