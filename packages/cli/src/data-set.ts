import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATASETS, type DataFormat, sharedDataRoot } from '@pncf/evaluation';
import { type Command, InvalidArgumentError, Option } from 'commander';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The options that name a data set, shared by the commands that load one. */
export interface DataSetOptions {
  dataset?: string;
  data?: string;
  format?: DataFormat;
  dataRoot?: string;
  core?: number;
}

export interface ResolvedDataSet {
  name: string;
  path: string;
  format: DataFormat;
  core: number;
}

/** The file formats every command that reads a data set accepts (replay, train, experiment): one set of names. */
export const DATA_FORMATS = ['ml-100k', 'ml-1m', 'author-tag', 'generic'] as const satisfies readonly DataFormat[];

/** Where the data sets come from and where the commands look for them, for --help. */
export const DATA_SOURCES = `
Data sets (not in the repository; download them yourself):
  ml-100k     MovieLens 100K, https://grouplens.org/datasets/movielens/100k/ (ml-100k.zip): u.data
  ml-1m       MovieLens 1M, https://grouplens.org/datasets/movielens/1m/ (ml-1m.zip): ratings.dat
  author-tag  bt_test_set.csv (user,item,current: Bilibili authors, tags and counts), published with the PNCF paper's code
  generic     any user,item[,count] CSV or TSV file of your own
--dataset NAME reads <data root>/${Object.values(DATASETS)
  .map((spec) => spec.file)
  .join(', <data root>/')}; the data root is --data-root, or ../shared/data beside the repository when it exists.`;

export const nonNegativeInteger = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  return Number(value);
};

export function withDataSetOptions(command: Command): Command {
  return command
    .addOption(new Option('--dataset <name>', 'named data set').choices(Object.keys(DATASETS)))
    .option('--data <file>', 'data file (default: the named data set under --data-root)')
    .addOption(new Option('--format <format>', 'format of --data').choices(DATA_FORMATS))
    .option('--data-root <dir>', 'folder holding the named data sets (default: ../shared/data if it exists)')
    .option('--core <k>', 'k of the k-core filter (default: 10; 5 for author-tag)', nonNegativeInteger)
    .addHelpText('after', DATA_SOURCES);
}

/**
 * File, format and k-core of the data set the options name; undefined when they name none. A named data set
 * supplies defaults that explicit options override.
 */
export function resolveDataSet(o: DataSetOptions): ResolvedDataSet | undefined {
  let path = o.data;
  let format = o.format;
  let core = o.core;
  if (o.dataset) {
    const spec = DATASETS[o.dataset];
    if (!spec)
      throw new InvalidArgumentError(`unknown data set "${o.dataset}" (known: ${Object.keys(DATASETS).join(', ')})`);
    format ??= spec.format;
    core ??= spec.core;
    if (!path) {
      const root = o.dataRoot ?? sharedDataRoot(REPO_ROOT);
      if (!root)
        throw new InvalidArgumentError(`no data folder found: give --data FILE or --data-root DIR for ${o.dataset}`);
      path = join(root, spec.file);
    }
  }
  if (!path) return undefined;
  return { name: o.dataset ?? 'custom', path, format: format ?? 'generic', core: core ?? 10 };
}
