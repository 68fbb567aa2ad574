/**
 * Tower anchors: one epoch of our TowerTrainer against PyTorch on the same batches, the same initial embeddings
 * and the same tower, for the default preset's shape and the paper's. Ours runs in a child process per backend
 * (tfjs-node, and the wasm fallback as a further side) so that each process picks its backend at start.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { protocolSplit, Random } from '@pncf/data';
import { loadDataset, sharedDataRoot } from '@pncf/evaluation';
import { type PresetName, presets, sampleEpoch } from '@pncf/pncf';
import type { AnchorGroup, AnchorPair, Measurement, PythonSide } from './types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TORCH_SCRIPT = fileURLToPath(new URL('./tower_torch.py', import.meta.url));
const OURS_SCRIPT = fileURLToPath(new URL('./tower-ours.ts', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const SEED = 1;
const execFileAsync = promisify(execFile);

/** The preset's tower on seed 1's ML-100K train part: one epoch of its samples, written for both sides. */
function writeWork(
  preset: PresetName,
  threads: number,
): { dir: string; samples: number; meta: Record<string, unknown> } {
  const dataRoot = sharedDataRoot(ROOT);
  if (!dataRoot) throw new Error('the tower anchors need the shared data folder (../shared/data)');
  const { train } = protocolSplit(loadDataset('ml-100k', dataRoot).data, SEED);
  const config = presets[preset];
  const tower = config.tower;
  const samples = sampleEpoch(train.byUser, tower.negatives, tower.negativeSampling, SEED);
  const dim = config.userWord2Vec.dim;
  const rng = new Random(SEED);
  const table = (rows: number) => Float32Array.from({ length: rows * dim }, () => rng.next() - 0.5);
  const dir = mkdtempSync(join(tmpdir(), `pncf-anchors-tower-${preset}-`));
  mkdirSync(dir, { recursive: true });
  const meta = {
    preset,
    dim,
    hidden: tower.hidden,
    batchNorm: tower.batchNorm,
    dropout: tower.dropout,
    loss: tower.loss,
    learningRate: tower.learningRate,
    batchSize: tower.batchSize,
    threads,
  };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
  const raw = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(join(dir, 'users.u32'), raw(samples.users));
  writeFileSync(join(dir, 'items.u32'), raw(samples.items));
  writeFileSync(join(dir, 'labels.f32'), raw(samples.labels));
  writeFileSync(join(dir, 'user-vectors.f32'), raw(table(train.byUser.rows)));
  writeFileSync(join(dir, 'item-vectors.f32'), raw(table(train.byUser.cols)));
  return { dir, samples: samples.users.length, meta };
}

function pair(preset: PresetName, threads: number): AnchorPair {
  const work = writeWork(preset, threads);
  const ours = (backend: 'tensorflow' | 'wasm') => async (): Promise<Measurement> => {
    const { stdout } = await execFileAsync(TSX, [OURS_SCRIPT, work.dir], {
      env: { ...process.env, TF_BACKEND: backend },
      maxBuffer: 16 << 20,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; samples: number } & Record<
      string,
      unknown
    >;
    return { seconds: r.seconds, work: r.samples, detail: r };
  };
  const torch = async (side: PythonSide): Promise<Measurement> => {
    const { stdout } = await execFileAsync(side.python, [TORCH_SCRIPT, work.dir], {
      env: side.env,
      maxBuffer: 16 << 20,
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; samples: number } & Record<
      string,
      unknown
    >;
    if (r.samples !== work.samples) throw new Error(`PyTorch read ${r.samples} samples, ours wrote ${work.samples}`);
    return { seconds: r.seconds, work: r.samples, detail: r };
  };
  return {
    name: `tower-${preset}`,
    labels: { ours: 'ours (tfjs-node)', theirs: 'PyTorch' },
    unit: 'samples',
    needs: ['torch'],
    setup: {
      data: `ML-100K, protocol split seed ${SEED}, train part; one epoch of the ${preset} preset's samples (${work.samples})`,
      tower: work.meta,
      identical: [
        'samples and their order, batch size, initial embedding tables (fine-tuned on both sides)',
        'tower shape, batch norm (training mode, momentum 0.1), inverted dropout, loss, Adam (β 0.9/0.999, ε 1e-7, lr)',
        `threads: ${threads} (torch.set_num_threads; TensorFlow's intra-op pool has one thread per core)`,
        'timed: the epoch loop, reading each step’s loss; not timed: process start, imports, reading the work files',
      ],
      different: [
        'initial tower weights (same shapes; ours N(0, 0.01²) kernels, PyTorch its default init)',
        'embeddings: ours a lazy Adam over the rows a batch touches, PyTorch a dense Adam over both tables',
        'dropout masks: different random streams',
      ],
    },
    ours: ours('tensorflow'),
    theirs: torch,
    moreOurs: { 'ours (wasm)': ours('wasm') },
  };
}

export const towerAnchors: AnchorGroup = {
  name: 'tower',
  async pairs({ threads }) {
    return [pair('default', threads), pair('paper', threads)];
  },
};
