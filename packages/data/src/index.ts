export * from './csr-ops.js';
export * from './id-space.js';
export * from './interactions.js';
export * from './kcore.js';
export * from './random.js';
export * from './sorted.js';
export * from './split.js';
export * from './top-k.js';
