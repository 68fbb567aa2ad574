export * from './broker.js';
export * from './certificates.js';
export * from './container.js';
export { ensureKafkaJars } from './jars.js';
export { findJava } from './java.js';
export * from './kafka-for-run.js';
export { defaultCacheDir, repoRoot } from './paths.js';
export * from './secure-listeners.js';
