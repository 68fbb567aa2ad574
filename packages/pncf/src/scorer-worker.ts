import { parentPort, workerData } from 'node:worker_threads';
import { tfRuntime } from '@pncf/evaluation';
import { type PncfModel, Scorer } from './scorer.js';

/** What a scoring worker is started with (structured-cloned: the tables are copied once, at start). */
export interface ScorerWorkerData {
  model: PncfModel;
  maxPairsPerPass: number;
}

/** A request: users to score; the answer transfers users.length × numItems scores back. */
export interface ScoreRequest {
  id: number;
  users: Uint32Array;
}

const { model, maxPairsPerPass } = workerData as ScorerWorkerData;
await tfRuntime(() => {});
const scorer = new Scorer(model, maxPairsPerPass);
parentPort!.on('message', ({ id, users }: ScoreRequest) => {
  const scores = new Float32Array(users.length * scorer.numItems);
  scorer.scoreUsers(users, scores);
  parentPort!.postMessage({ id, scores }, [scores.buffer]);
});
parentPort!.postMessage({ ready: true });
