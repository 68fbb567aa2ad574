/**
 * The tower trainer's arrays in one WebAssembly memory, and the SIMD kernel (native/tower.c, built into
 * tower.wasm next to this file) that works on them: gathering a batch's embedding rows, drawing dropout masks,
 * and the lazy Adam update of the embedding rows a batch touched. The embedding tables live here for the
 * trainer's life; the batch buffers grow with the largest batch seen (growing the memory keeps its contents,
 * and every view is taken afresh).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, type AdamStep } from './adam.js';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;
/** wasm32 addresses: at most 4 GiB (the build declares that maximum). */
const MAX_PAGES = 65536;
/** The kernel never touches the shadow stack, so the arrays may start at the bottom of the memory. */
const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;

let compiled: object | undefined;
const towerModule = (): object => {
  compiled ??= new wasm.Module(readFileSync(fileURLToPath(new URL('./tower.wasm', import.meta.url))));
  return compiled;
};

type Kernel = (...args: number[]) => number;

/** One embedding table and its lazy-Adam state. */
interface TableOffsets {
  table: number;
  m: number;
  v: number;
  acc: number;
  stamp: number;
  touched: number;
  rows: number;
}

export class TowerKernel {
  private readonly memory: WasmMemory;
  private readonly gatherRows: Kernel;
  private readonly dropoutMask: Kernel;
  private readonly embeddingAdam: Kernel;
  private readonly outputForward: Kernel;
  private readonly outputBackward: Kernel;
  private readonly reluMask: Kernel;
  /** Whether the last outputLogits applied ReLU (and dropout) to its input: outputGradients goes through them. */
  private activated = false;
  private readonly tables: [TableOffsets, TableOffsets];
  /** Where the batch buffers start (after the tables); their layout depends on the batch capacity. */
  private readonly batchBase: number;
  private capacity = 0;
  private batchOffsets = {
    users: 0,
    items: 0,
    input: 0,
    gradient: 0,
    masks: [] as number[],
    hidden: 0,
    logits: 0,
    logitGradient: 0,
    hiddenGradient: 0,
  };
  /** The output layer's kernel (and its scaled copy) and gradient. */
  private readonly output: { kernel: number; gradient: number };

  /**
   * @param userVectors, itemVectors initial tables (copied in)
   * @param dim embedding width; a batch's input rows are 2·dim wide
   * @param maskWidths the width of each layer that gets a dropout mask
   * @param outputWidth the width of the output layer's input (the last hidden layer's)
   */
  constructor(
    userVectors: Float32Array,
    itemVectors: Float32Array,
    readonly dim: number,
    private readonly maskWidths: number[],
    private readonly outputWidth: number,
  ) {
    let at = 0;
    const take = (bytes: number): number => {
      const start = at;
      at += align(bytes);
      return start;
    };
    const layoutTable = (values: Float32Array): TableOffsets => {
      const rows = values.length / dim;
      return {
        table: take(values.byteLength),
        m: take(values.byteLength),
        v: take(values.byteLength),
        acc: take(values.byteLength),
        stamp: take(rows * 4),
        touched: take(rows * 4),
        rows,
      };
    };
    this.tables = [layoutTable(userVectors), layoutTable(itemVectors)];
    this.output = { kernel: take(outputWidth * 4), gradient: take(outputWidth * 4) };
    this.batchBase = at;
    this.memory = new wasm.Memory({ initial: Math.ceil(at / PAGE) + 1, maximum: MAX_PAGES });
    const exports = new wasm.Instance(towerModule(), { env: { memory: this.memory } }).exports;
    this.gatherRows = exports.tower_gather as Kernel;
    this.dropoutMask = exports.tower_dropout_mask as Kernel;
    this.embeddingAdam = exports.tower_embedding_adam as Kernel;
    this.outputForward = exports.tower_output_forward as Kernel;
    this.outputBackward = exports.tower_output_backward as Kernel;
    this.reluMask = exports.tower_relu_mask as Kernel;
    this.table(0).set(userVectors);
    this.table(1).set(itemVectors);
    for (const { stamp, rows } of this.tables) new Int32Array(this.memory.buffer, stamp, rows).fill(-1);
  }

  /** A live view of table 0 (users) or 1 (items); invalid after the next call that may grow the memory. */
  table(side: 0 | 1): Float32Array {
    const t = this.tables[side];
    return new Float32Array(this.memory.buffer, t.table, t.rows * this.dim);
  }

  /** Make room for batches of up to `batch` samples. */
  private reserve(batch: number): void {
    if (batch <= this.capacity) return;
    let at = this.batchBase;
    const take = (bytes: number): number => {
      const start = at;
      at += align(bytes);
      return start;
    };
    const width = 2 * this.dim;
    // Masks are drawn eight at a time: room for the last, partial group.
    this.batchOffsets = {
      users: take(batch * 4),
      items: take(batch * 4),
      input: take(batch * width * 4),
      gradient: take(batch * width * 4),
      masks: this.maskWidths.map((w) => take((batch * w + 8) * 4)),
      hidden: take(batch * this.outputWidth * 4),
      logits: take(batch * 4),
      logitGradient: take(batch * 4),
      hiddenGradient: take(batch * this.outputWidth * 4),
    };
    const pages = Math.ceil(at / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
    this.capacity = batch;
  }

  /** The batch's input rows, user vector then item vector per sample (a view, valid until the next call). */
  gather(users: Uint32Array, items: Uint32Array): Float32Array {
    const batch = users.length;
    this.reserve(batch);
    const o = this.batchOffsets;
    const buffer = this.memory.buffer;
    new Uint32Array(buffer, o.users, batch).set(users);
    new Uint32Array(buffer, o.items, batch).set(items);
    const [u, i] = this.tables;
    this.gatherRows(o.input, o.users, o.items, batch, u.table, i.table, this.dim);
    return new Float32Array(buffer, o.input, batch * 2 * this.dim);
  }

  /**
   * Layer k's dropout mask for a batch: 1/keep with probability keep, else 0 (keep honoured to 1/65536), from
   * `seed` (a view, valid until the next call).
   */
  mask(layer: number, batch: number, keep: number, seed: number): Float32Array {
    this.reserve(batch);
    const at = this.batchOffsets.masks[layer]!;
    const size = batch * this.maskWidths[layer]!;
    this.dropoutMask(at, size, Math.round(keep * 65536), 1 / keep, seed >>> 0);
    return new Float32Array(this.memory.buffer, at, size);
  }

  /**
   * The output layer (outputWidth → 1) forward: logits = h·w + bias for the batch's last hidden activations h
   * (a view, valid until the next call). With `activation`, the input is the last hidden layer before its ReLU,
   * and ReLU and that layer's dropout mask (`mask`: the layer's index, as given to mask()) are applied here first.
   * h and w are copied in and kept for outputGradients.
   */
  outputLogits(
    h: Float32Array,
    batch: number,
    w: Float32Array,
    bias: number,
    activation?: { mask?: number },
  ): Float32Array {
    this.reserve(batch);
    const o = this.batchOffsets;
    const buffer = this.memory.buffer;
    const size = batch * this.outputWidth;
    new Float32Array(buffer, o.hidden, size).set(h);
    new Float32Array(buffer, this.output.kernel, this.outputWidth).set(w);
    this.activated = activation !== undefined;
    if (activation) {
      this.reluMask(o.hidden, activation.mask === undefined ? 0 : o.masks[activation.mask]!, size);
    }
    this.outputForward(o.hidden, batch, this.outputWidth, this.output.kernel, bias, o.logits);
    return new Float32Array(buffer, o.logits, batch);
  }

  /**
   * The output layer's backward pass from dL/dlogits, for the h and w of the last outputLogits: the kernel's
   * gradient hᵀ·dlogits and the gradient at h times `scale`, taken on through the ReLU and dropout when
   * outputLogits applied them (views, valid until the next call).
   */
  outputGradients(dLogits: Float32Array, batch: number, scale: number): { kernel: Float32Array; hidden: Float32Array } {
    const o = this.batchOffsets;
    const buffer = this.memory.buffer;
    new Float32Array(buffer, o.logitGradient, batch).set(dLogits.subarray(0, batch));
    const width = this.outputWidth;
    this.outputBackward(
      o.hidden,
      o.logitGradient,
      batch,
      width,
      this.output.kernel,
      scale,
      this.activated ? 1 : 0,
      this.output.gradient,
      o.hiddenGradient,
    );
    return {
      kernel: new Float32Array(buffer, this.output.gradient, width),
      hidden: new Float32Array(buffer, o.hiddenGradient, batch * width),
    };
  }

  /**
   * Lazy Adam on both tables from the gradient at the tower's input (batch × 2·dim, user half then item half):
   * only rows of the last gathered batch move, a row's samples summed first. `t` is the step number.
   */
  updateEmbeddings(gradient: Float32Array, batch: number, t: number, adam: AdamStep): void {
    const o = this.batchOffsets;
    const width = 2 * this.dim;
    new Float32Array(this.memory.buffer, o.gradient, batch * width).set(gradient.subarray(0, batch * width));
    for (const side of [0, 1] as const) {
      const s = this.tables[side];
      this.embeddingAdam(
        s.table,
        s.m,
        s.v,
        s.acc,
        s.stamp,
        s.touched,
        side === 0 ? o.users : o.items,
        batch,
        o.gradient,
        width,
        side * this.dim,
        this.dim,
        t,
        adam.learningRate,
        adam.firstCorrection,
        adam.secondCorrection,
        ADAM_BETA1,
        ADAM_BETA2,
        ADAM_EPSILON,
      );
    }
  }
}
