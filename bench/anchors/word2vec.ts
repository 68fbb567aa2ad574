/**
 * word2vec anchors: our trainWord2Vec against gensim's Word2Vec on the same bag corpora, CBOW and skip-gram.
 * The corpora are the ones a PNCF fit pre-trains on: ML-100K, seed 1's protocol train part, bags of users per
 * item and bags of items per user drawn with the default bag options; one model per corpus on each side.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { protocolSplit } from '@pncf/data';
import { loadDataset, sharedDataRoot } from '@pncf/evaluation';
import {
  type BagCorpus,
  PNCF_DEFAULTS,
  referenceWord2Vec,
  sampleBags,
  trainWord2Vec,
  type Word2VecKernel,
} from '@pncf/pncf';
import type { AnchorGroup, AnchorPair, Measurement, PythonSide } from './types.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GENSIM_SCRIPT = fileURLToPath(new URL('./word2vec_gensim.py', import.meta.url));
const SEED = 1;

interface Corpora {
  users: BagCorpus;
  items: BagCorpus;
  files: string[];
}

/** A corpus as gensim reads it: one bag per line, tokens as their dense index. */
function writeCorpus(corpus: BagCorpus, path: string): void {
  const lines: string[] = [];
  for (let at = 0; at < corpus.tokens.length; at += corpus.bagSize) {
    lines.push(corpus.tokens.subarray(at, at + corpus.bagSize).join(' '));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function buildCorpora(): Corpora {
  const dataRoot = sharedDataRoot(ROOT);
  if (!dataRoot) throw new Error('the word2vec anchors need the shared data folder (../shared/data)');
  const { train } = protocolSplit(loadDataset('ml-100k', dataRoot).data, SEED);
  const users = sampleBags(train.byItem, PNCF_DEFAULTS.bags, SEED);
  const items = sampleBags(train.byUser, PNCF_DEFAULTS.bags, SEED + 1);
  const dir = mkdtempSync(join(tmpdir(), 'pncf-anchors-'));
  const files = [join(dir, 'user-bags.txt'), join(dir, 'item-bags.txt')];
  writeCorpus(users, files[0]!);
  writeCorpus(items, files[1]!);
  return { users, items, files };
}

const execFileAsync = promisify(execFile);

function pair(corpora: Corpora, mode: 'cbow' | 'skipgram', threads: number): AnchorPair {
  const options = { ...referenceWord2Vec, mode, threads };
  const tokens = (corpora.users.tokens.length + corpora.items.tokens.length) * options.epochs;
  const ours = (kernel: Word2VecKernel) => async (): Promise<Measurement> => {
    const started = performance.now();
    const u = await trainWord2Vec(corpora.users, options, SEED, undefined, { kernel });
    const i = await trainWord2Vec(corpora.items, options, SEED + 1, undefined, { kernel });
    return {
      seconds: (performance.now() - started) / 1000,
      work: tokens,
      detail: { kernel, pairs: u.pairs + i.pairs },
    };
  };
  const gensim =
    (input: 'sentences' | 'corpus_file') =>
    async (side: PythonSide): Promise<Measurement> => {
      const params = {
        corpora: corpora.files,
        input,
        sg: mode === 'skipgram' ? 1 : 0,
        workers: threads,
        seed: SEED,
        ...options,
      };
      const { stdout } = await execFileAsync(side.python, [GENSIM_SCRIPT, JSON.stringify(params)], {
        env: side.env,
        maxBuffer: 16 << 20,
      });
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { seconds: number; rawWords: number } & Record<
        string,
        unknown
      >;
      // corpus_file mode splits the file among workers by byte offset and reads a little past each split.
      const slack = input === 'corpus_file' ? 0.02 : 0;
      if (Math.abs(r.rawWords - tokens) > slack * tokens) {
        throw new Error(`gensim (${input}) read ${r.rawWords} tokens × epochs, ours ${tokens}`);
      }
      return { seconds: r.seconds, work: r.rawWords, detail: { ...r, corpora: undefined } };
    };
  return {
    name: `word2vec-${mode}`,
    labels: { ours: 'ours (wasm)', theirs: 'gensim' },
    unit: 'tokens',
    needs: ['gensim'],
    setup: {
      corpus:
        'ML-100K, protocol split seed 1, train part; user bags (byItem) and item bags (byUser), default bag options',
      bags: {
        users: corpora.users.tokens.length / corpora.users.bagSize,
        items: corpora.items.tokens.length / corpora.items.bagSize,
        bagSize: corpora.users.bagSize,
      },
      options,
      identical: [
        'the two corpora, token for token (gensim reads them from a file, one bag per line), one model per corpus',
        'the window never crosses a bag (a bag is a gensim sentence) and is shrunk uniformly in [1, window] per word',
        'dim, window, negatives, noise exponent, epochs, alpha decayed linearly to minAlpha, sample (same keep formula), CBOW mean',
        `worker threads: ${threads} on both sides`,
        'timed: vocabulary/noise tables and training; not timed: process start, imports, reading the corpus',
      ],
      different: [
        'random streams (xorshift32 here, gensim its own LCG) and initial vectors (same distribution)',
        'sigmoid: ours computed, gensim a 1000-entry table over [-6, 6]',
        'gensim hands out jobs of 10,000 words to its workers; ours gives each worker a contiguous half of the bags',
        'ours includes handing the job to its worker threads (kept between trainings, started on first use)',
        "gensim's corpus_file mode reads each worker's share of the file by byte offset: about 1% more tokens, counted as its work",
      ],
    },
    ours: ours('wasm'),
    theirs: gensim('sentences'),
    moreOurs: { 'ours-js': ours('js') },
    moreTheirs: { 'gensim-corpus-file': gensim('corpus_file') },
  };
}

export const word2vecAnchors: AnchorGroup = {
  name: 'word2vec',
  async pairs({ threads }) {
    const corpora = buildCorpora();
    return [pair(corpora, 'cbow', threads), pair(corpora, 'skipgram', threads)];
  },
};
