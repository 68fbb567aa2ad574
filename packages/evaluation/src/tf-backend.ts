import * as tf from '@tensorflow/tfjs';

export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface TfRuntime {
  tf: typeof tf;
  backend: TfBackendName;
}

let selected: Promise<TfRuntime> | undefined;

async function trySet(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && (await tf.ready().then(() => tf.getBackend() === name));
  } catch {
    return false;
  }
}

/**
 * Picks the fastest TensorFlow.js backend that loads here — tfjs-node ('tensorflow', native), else wasm,
 * else the pure-JS cpu backend — once per process, and reports which through `log`. tfjs-node is optional
 * (native build), so it is imported dynamically by a name the type checker does not resolve.
 */
export function tfRuntime(log: (message: string) => void = () => {}): Promise<TfRuntime> {
  selected ??= (async () => {
    const nodeBackend = '@tensorflow/tfjs-node';
    try {
      await import(/* @vite-ignore */ nodeBackend);
      if (await trySet('tensorflow')) {
        log('tfjs backend: tensorflow (tfjs-node)');
        return { tf, backend: 'tensorflow' as const };
      }
    } catch {
      // not installed or no native binary for this platform
    }
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      registerWasmSegmentSum();
      if (await trySet('wasm')) {
        log('tfjs backend: wasm');
        return { tf, backend: 'wasm' as const };
      }
    } catch {
      // wasm binary missing
    }
    await trySet('cpu');
    log('tfjs backend: cpu (slow: neither tfjs-node nor wasm could be loaded)');
    return { tf, backend: 'cpu' as const };
  })();
  return selected;
}

/** The slice of the wasm backend this module touches (tfjs does not export the class type from its root). */
interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * The wasm backend lacks UnsortedSegmentSum, which is the gradient of tf.gather — i.e. of every embedding
 * lookup — so training embeddings there fails with "Kernel 'UnsortedSegmentSum' not registered". This
 * registers a plain-JS version (a scatter-add over the rows of x), enough for embedding gradients.
 */
function registerWasmSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const x = inputs.x as tf.TensorInfo;
      const segmentIds = inputs.segmentIds as tf.TensorInfo;
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const values = wasm.readSync(x.dataId);
      const ids = wasm.readSync(segmentIds.dataId);
      const rows = ids.length;
      const inner = rows === 0 ? 0 : values.length / rows;
      const out = wasm.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
      // A view into the wasm heap: written before anything else can grow (and detach) the heap.
      const target = wasm.typedArrayFromHeap(out);
      target.fill(0);
      for (let r = 0; r < rows; r++) {
        const segment = ids[r]!;
        if (segment < 0 || segment >= numSegments) continue;
        const src = r * inner;
        const dst = segment * inner;
        for (let c = 0; c < inner; c++) target[dst + c]! += values[src + c]!;
      }
      return out;
    },
  });
}
