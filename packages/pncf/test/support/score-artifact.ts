// Loads a model artifact in a fresh process and prints the scores of all items for users 0..n-1 as JSON
// (for a history model, user u has the history items 0..u).
import { tfRuntime } from '@pncf/evaluation';
import { loadArtifact } from '../../src/artifact.js';
import { isHistoryModel } from '../../src/fit.js';
import { HistoryInference } from '../../src/history-inference.js';
import { TowerInference } from '../../src/inference.js';

await tfRuntime();
const { model } = loadArtifact(process.argv[2]!);
const users = Uint32Array.from({ length: model.numUsers }, (_, k) => k);
const out = new Float32Array(users.length * model.numItems);
if (isHistoryModel(model)) {
  const indptr = [0];
  const indices: number[] = [];
  for (let u = 0; u < users.length; u++) {
    for (let i = 0; i <= u; i++) indices.push(i);
    indptr.push(indices.length);
  }
  const inference = new HistoryInference(model);
  const history = { indptr: Uint32Array.from(indptr), indices: Uint32Array.from(indices) };
  inference.scoreVectors(inference.userVectors(Int32Array.from(users), history), out);
} else {
  TowerInference.fromModel(model).scoreUsers(users, out);
}
console.log(JSON.stringify(Array.from(out)));
