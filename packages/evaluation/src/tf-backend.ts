import * as tf from '@tensorflow/tfjs';

export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Values of TF_BACKEND (the services' config schemas list the same ones; a test keeps them equal). */
export const TF_BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type TfBackendChoice = (typeof TF_BACKEND_CHOICES)[number];

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

/** Returns why the backend could not be had, or undefined when it is now the active one. */
async function activate(name: TfBackendName): Promise<string | undefined> {
  try {
    if (name === 'tensorflow') {
      // Optional and native (built by `npm run tfjs-node:setup`), so imported by a name the type checker skips.
      const nodeBackend = '@tensorflow/tfjs-node';
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import(/* @vite-ignore */ nodeBackend);
    } else if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      registerWasmSegmentSum();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return name === 'tensorflow'
      ? `tfjs-node did not load (${message}); \`npm run tfjs-node:setup\` builds it`
      : message;
  }
  return (await trySet(name)) ? undefined : `tf.setBackend('${name}') failed`;
}

export function parseTfBackendChoice(value: string | undefined): TfBackendChoice {
  const choice = value === undefined || value === '' ? 'auto' : value;
  if (!(TF_BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`TF_BACKEND=${JSON.stringify(value)}: expected one of ${TF_BACKEND_CHOICES.join(', ')}`);
  }
  return choice as TfBackendChoice;
}

/**
 * The TensorFlow.js backend of this process, chosen once. TF_BACKEND=auto (the default) takes the fastest
 * that loads — tfjs-node ('tensorflow', native, both cores), else wasm (one core), else the pure-JS cpu
 * backend — and says through `log` why a faster one was passed over; a named backend that cannot be had is
 * an error, so a test or deployment that asks for one never silently runs on another.
 */
export function tfRuntime(
  log: (message: string) => void = () => {},
  choice: TfBackendChoice = parseTfBackendChoice(process.env.TF_BACKEND),
): Promise<TfRuntime> {
  selected ??= (async () => {
    if (choice !== 'auto') {
      const failure = await activate(choice);
      if (failure !== undefined) throw new Error(`TF_BACKEND=${choice} is not available: ${failure}`);
      log(`tfjs backend: ${choice} (TF_BACKEND)`);
      return { tf, backend: choice };
    }
    const passedOver: string[] = [];
    for (const name of ['tensorflow', 'wasm'] as const) {
      const failure = await activate(name);
      if (failure === undefined) {
        log(`tfjs backend: ${name}${passedOver.length > 0 ? ` (${passedOver.join('; ')})` : ''}`);
        return { tf, backend: name };
      }
      passedOver.push(`${name}: ${failure}`);
    }
    await trySet('cpu');
    log(`tfjs backend: cpu, slow (${passedOver.join('; ')})`);
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
