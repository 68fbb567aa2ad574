export { checksumDir, listArtifactFiles, MANIFEST_FILE, sha256File } from './checksums.js';
export * from './registry.js';
export * from './transfer/index.js';
