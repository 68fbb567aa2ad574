import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const kafkaInfraDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(kafkaInfraDir, '..', '..');
/** Ignored by git: the jar cache and the state of brokers started from this checkout. */
export const defaultCacheDir = path.join(repoRoot, '.kafka');
