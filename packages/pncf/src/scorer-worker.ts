import { parentPort, workerData } from 'node:worker_threads';
import { tfRuntime } from '@pncf/evaluation';
import { type PreparedTower, TowerInference } from './inference.js';

/** What a scoring worker is started with (structured-cloned: the prepared arrays are copied once, at start). */
export interface ScorerWorkerData {
  prepared: PreparedTower;
  maxPairsPerPass: number;
}

/** A request: users to score; the answer transfers users.length × numItems scores back. */
export interface ScoreRequest {
  id: number;
  users: Uint32Array;
}

const { prepared, maxPairsPerPass } = workerData as ScorerWorkerData;
await tfRuntime(() => {});
const inference = new TowerInference(prepared, { maxPairsPerPass });
parentPort!.on('message', ({ id, users }: ScoreRequest) => {
  const scores = new Float32Array(users.length * inference.numItems);
  inference.scoreUsers(users, scores);
  parentPort!.postMessage({ id, scores }, [scores.buffer]);
});
parentPort!.postMessage({ ready: true });
