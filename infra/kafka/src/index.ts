export * from './broker.js';
export { findJava } from './java.js';
export { ensureKafkaJars } from './jars.js';
export { defaultCacheDir, repoRoot } from './paths.js';
