// Loads a model artifact in a fresh process and prints the scores of all items for users 0..n-1 as JSON.
import { tfRuntime } from '@pncf/evaluation';
import { loadArtifact } from '../../src/artifact.js';
import { TowerInference } from '../../src/inference.js';

await tfRuntime();
const artifact = loadArtifact(process.argv[2]!);
const inference = TowerInference.fromModel(artifact.model);
const users = Uint32Array.from({ length: artifact.model.numUsers }, (_, k) => k);
const out = new Float32Array(users.length * artifact.model.numItems);
inference.scoreUsers(users, out);
console.log(JSON.stringify(Array.from(out)));
