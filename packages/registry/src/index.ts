export { checksumDir, MANIFEST_FILE } from './checksums.js';
export * from './registry.js';
