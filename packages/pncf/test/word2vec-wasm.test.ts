import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { paperBags, sampleBags } from '../src/bags.js';
import { initEmbeddings, referenceWord2Vec, trainWord2Vec, type Word2VecOptions } from '../src/word2vec.js';
import type { KernelData, KernelParams } from '../src/word2vec-kernel.js';
import {
  compileWasmKernel,
  trainBagsWasm,
  WASM_KERNEL_PATH,
  type WasmModule,
  wasmKernelModule,
} from '../src/word2vec-wasm.js';
import { clusteredData } from './fixtures.js';

const data = clusteredData();
const itemBags = sampleBags(data.byUser, paperBags, 1);
const options: Word2VecOptions = { ...referenceWord2Vec, dim: 16, epochs: 10 };

const maxAbsDiff = (a: Float32Array, b: Float32Array): number => {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
};

describe('the WebAssembly word2vec kernel', () => {
  afterEach(() => {
    delete process.env.PNCF_W2V_KERNEL;
  });

  it('the committed build compiles here, and auto picks it', async () => {
    expect(wasmKernelModule()).not.toBeNull();
    expect((await trainWord2Vec(itemBags, { ...options, epochs: 1 }, 1)).kernel).toBe('wasm');
  });

  // One thread consumes the same random stream as the typed-array kernel and so takes the same decisions
  // (subsampling, window, negatives): the tables differ only by single- against double-precision arithmetic.
  for (const mode of ['cbow', 'skipgram'] as const) {
    for (const sample of [0, 1e-3]) {
      it(`${mode}, sample ${sample}: one thread trains the same tables as the typed-array kernel`, async () => {
        const o = { ...options, mode, sample };
        const js = await trainWord2Vec(itemBags, o, 3, undefined, { kernel: 'js' });
        const wasm = await trainWord2Vec(itemBags, o, 3, undefined, { kernel: 'wasm' });
        expect(wasm.pairs).toBe(js.pairs);
        expect(maxAbsDiff(wasm.embeddings.vectors, js.embeddings.vectors)).toBeLessThan(1e-3);
        expect(maxAbsDiff(wasm.embeddings.context, js.embeddings.context)).toBeLessThan(1e-3);
      });
    }
  }

  it('handles a dimension that is not a multiple of the SIMD width', async () => {
    const o = { ...options, dim: 7, epochs: 2 };
    const js = await trainWord2Vec(itemBags, o, 3, undefined, { kernel: 'js' });
    const wasm = await trainWord2Vec(itemBags, o, 3, undefined, { kernel: 'wasm' });
    expect(maxAbsDiff(wasm.embeddings.vectors, js.embeddings.vectors)).toBeLessThan(1e-4);
  });

  it('PNCF_W2V_KERNEL forces the fallback, and a bad value is refused', async () => {
    process.env.PNCF_W2V_KERNEL = 'js';
    expect((await trainWord2Vec(itemBags, { ...options, epochs: 1 }, 1)).kernel).toBe('js');
    expect((await trainWord2Vec(itemBags, { ...options, epochs: 1 }, 1, undefined, { kernel: 'wasm' })).kernel).toBe(
      'wasm',
    );
    process.env.PNCF_W2V_KERNEL = 'simd';
    await expect(trainWord2Vec(itemBags, options, 1)).rejects.toThrow(/PNCF_W2V_KERNEL/);
  });
});

/** A small job straight on the kernel, for comparing two builds of it. */
async function runBuild(module: WasmModule, mode: 'cbow' | 'skipgram'): Promise<KernelData> {
  const init = initEmbeddings(itemBags.vocabSize, 16, 5);
  const vocab = itemBags.vocabSize;
  const job: KernelData = {
    tokens: itemBags.tokens,
    bagSize: itemBags.bagSize,
    keep: new Float32Array(vocab).fill(1),
    noiseProb: new Float32Array(vocab).fill(1),
    noiseAlias: Uint32Array.from({ length: vocab }, (_, k) => k),
    syn0: init.vectors,
    syn1: init.context,
  };
  const params: KernelParams = { ...options, skipGram: mode === 'skipgram', epochs: 2 };
  await trainBagsWasm(
    job,
    params,
    [{ firstBag: 0, endBag: itemBags.tokens.length / itemBags.bagSize, seed: 9 }],
    module,
  );
  return job;
}

const hasClang = ['clang', 'wasm-ld'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);

describe.skipIf(!hasClang)('native/word2vec.c rebuilt with this machine’s clang', () => {
  it('gives the committed bytes, or at least the same tables', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pncf-w2v-')), 'word2vec.wasm');
    const script = fileURLToPath(new URL('../native/build.sh', import.meta.url));
    const build = spawnSync('bash', [script, 'word2vec', out], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const rebuilt = readFileSync(out);
    if (Buffer.compare(rebuilt, readFileSync(WASM_KERNEL_PATH)) === 0) return;
    // Another clang version may schedule instructions differently; the arithmetic must not change.
    for (const mode of ['cbow', 'skipgram'] as const) {
      const committed = await runBuild(wasmKernelModule()!, mode);
      const fresh = await runBuild(compileWasmKernel(rebuilt), mode);
      expect(maxAbsDiff(fresh.syn0, committed.syn0)).toBeLessThan(1e-5);
    }
  });
});
