import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyProductionTree } from './production-tree.js';

// `tsx infra/docker/assemble.ts <out>`: the Dockerfile's build stage, after npm run build.
const out = process.argv[2];
if (!out) {
  console.error('usage: tsx infra/docker/assemble.ts <output directory>');
  process.exit(2);
}
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const paths = copyProductionTree(repoRoot, path.resolve(out));
console.log(`${paths.length} paths copied into ${path.resolve(out)}`);
