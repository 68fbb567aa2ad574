import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Interactions, kCore } from '@pncf/data';
import { type DataFormat, loadInteractions } from './loaders.js';

export interface DatasetSpec {
  format: DataFormat;
  /** k of the k-core filter used by default (the paper's 10; the author-tag file needs 5). */
  core: number;
  /** Location under the shared data folder, when the data set is kept there. */
  file: string;
}

/** The named data sets of the experiments. Others load through `--data FILE --format generic`. */
export const DATASETS: Record<string, DatasetSpec> = {
  'ml-100k': { format: 'ml-100k', core: 10, file: 'movielens/ml-100k/u.data' },
  'ml-1m': { format: 'ml-1m', core: 10, file: 'movielens/ml-1m/ratings.dat' },
  'author-tag': { format: 'author-tag', core: 5, file: 'bilibili/bt_test_set.csv' },
};

/**
 * The shared data folder next to the repository (`<repo>/../shared/data`) if it exists. Only experiments use
 * it as a default; without it every path must be given explicitly.
 */
export function sharedDataRoot(repoRoot: string): string | undefined {
  const root = join(repoRoot, '..', 'shared', 'data');
  return existsSync(root) ? root : undefined;
}

/** A named data set read from a data folder (e.g. sharedDataRoot's) with its default k-core applied. */
export function loadDataset(name: string, dataRoot: string): { spec: DatasetSpec; data: Interactions } {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown data set ${name} (known: ${Object.keys(DATASETS).join(', ')})`);
  return { spec, data: kCore(loadInteractions(join(dataRoot, spec.file), spec.format), spec.core) };
}
