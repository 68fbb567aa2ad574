import { parentPort, workerData } from 'node:worker_threads';
import { tfRuntime } from '@pncf/evaluation';
import { type SerializedError, serializeError } from '@pncf/runtime/errors';
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

/** The answer to request `id`: its scores, or the error that scoring it raised. */
export type ScoreAnswer = { id: number; scores: Float32Array } | { id: number; error: SerializedError };

const { prepared, maxPairsPerPass } = workerData as ScorerWorkerData;
await tfRuntime(() => {});
const inference = new TowerInference(prepared, { maxPairsPerPass });
parentPort!.on('message', ({ id, users }: ScoreRequest) => {
  // A failed request is answered, not thrown: the worker stays up for the others.
  try {
    const scores = new Float32Array(users.length * inference.numItems);
    inference.scoreUsers(users, scores);
    parentPort!.postMessage({ id, scores } satisfies ScoreAnswer, [scores.buffer]);
  } catch (error) {
    parentPort!.postMessage({ id, error: serializeError(error) } satisfies ScoreAnswer);
  }
});
parentPort!.postMessage({ ready: true });
