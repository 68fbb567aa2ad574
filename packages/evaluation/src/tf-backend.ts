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
