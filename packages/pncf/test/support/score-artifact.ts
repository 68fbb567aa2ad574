// Loads a model artifact in a fresh process and prints the scores of all items for users 0..n-1 as JSON.
import { tfRuntime } from '@pncf/evaluation';
import { loadArtifact } from '../../src/artifact.js';
import { Scorer } from '../../src/scorer.js';

await tfRuntime();
const artifact = loadArtifact(process.argv[2]!);
const scorer = new Scorer(artifact.model);
const users = Uint32Array.from({ length: artifact.model.numUsers }, (_, k) => k);
const out = new Float32Array(users.length * artifact.model.numItems);
scorer.scoreUsers(users, out);
console.log(JSON.stringify(Array.from(out)));
