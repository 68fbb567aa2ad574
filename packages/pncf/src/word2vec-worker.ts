import { parentPort, workerData } from 'node:worker_threads';
import { type KernelData, type KernelParams, trainBags } from './word2vec-kernel.js';

/** Message a word2vec worker is started with; every array views a SharedArrayBuffer. */
export interface WorkerJob {
  data: KernelData;
  params: KernelParams;
  firstBag: number;
  endBag: number;
  seed: number;
}

const job = workerData as WorkerJob;
const pairs = trainBags(job.data, job.params, job.firstBag, job.endBag, job.seed);
parentPort?.postMessage({ pairs });
