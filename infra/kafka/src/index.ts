export * from './broker.js';
export * from './certificates.js';
export { ensureKafkaJars } from './jars.js';
export { findJava } from './java.js';
export { defaultCacheDir, repoRoot } from './paths.js';
export * from './secure-listeners.js';
