/**
 * Anchors: our implementations timed side by side with established ones on the same work, interleaved (ours,
 * theirs, ours, ...) on this machine, with the load averages around every run. The other sides run in a Python
 * venv (${XDG_CACHE_HOME:-~/.cache}/pncf/anchors-venv) into which their pinned packages are installed when they
 * can be had; a pair whose package cannot be had is skipped, saying so.
 *   npm run bench:anchors -- [--only word2vec,word2vec-cbow] [--rounds 3] [--threads 2] [--main-only] [--no-install]
 * Writes bench/results/anchors.json (merged per pair with earlier runs) with the table it prints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { preparePythonEnv } from './anchors/python-env.js';
import { towerAnchors } from './anchors/tower.js';
import type { AnchorGroup, AnchorPair, Measurement, PythonSide } from './anchors/types.js';
import { word2vecAnchors } from './anchors/word2vec.js';

/** Every group of anchors; a new one (e.g. the tower against PyTorch) is one more file and one more entry. */
const GROUPS: AnchorGroup[] = [word2vecAnchors, towerAnchors];

const opts = new Command('anchors')
  .option('--only <list>', `groups or pairs to run (groups: ${GROUPS.map((g) => g.name).join(', ')})`)
  .option('--rounds <n>', 'interleaved rounds', '3')
  .option('--threads <n>', 'worker threads on both sides', '2')
  .option('--main-only', 'time only ours and theirs, not the further sides')
  .option('--no-install', 'use the venv as it is, install nothing')
  .option('--out <path>', 'results file', fileURLToPath(new URL('./results/anchors.json', import.meta.url)))
  .parse()
  .opts<{ only?: string; rounds: string; threads: string; mainOnly?: boolean; install: boolean; out: string }>();

interface Side {
  label: string;
  theirs: boolean;
  run: () => Promise<Measurement>;
}

interface Run {
  seconds: number;
  loadBefore: number[];
  loadAfter: number[];
}

const load = (): number[] => loadavg().map((x) => Number(x.toFixed(2)));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function sidesOf(pair: AnchorPair, python: PythonSide | undefined): Side[] {
  const sides: Side[] = [{ label: pair.labels.ours, theirs: false, run: pair.ours }];
  if (python) sides.push({ label: pair.labels.theirs, theirs: true, run: () => pair.theirs(python) });
  if (opts.mainOnly) return sides;
  for (const [label, run] of Object.entries(pair.moreOurs ?? {})) sides.push({ label, theirs: false, run });
  if (python) {
    for (const [label, run] of Object.entries(pair.moreTheirs ?? {})) {
      sides.push({ label, theirs: true, run: () => run(python) });
    }
  }
  return sides;
}

/** Each round runs every side once; odd rounds in reverse, so no side always runs right after another. */
async function interleave(
  sides: Side[],
  rounds: number,
  name: string,
): Promise<Map<Side, { runs: Run[]; last: Measurement }>> {
  const out = new Map<Side, { runs: Run[]; last: Measurement }>();
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? [...sides].reverse() : sides) {
      const loadBefore = load();
      const m = await side.run();
      const run = { seconds: Number(m.seconds.toFixed(3)), loadBefore, loadAfter: load() };
      const entry = out.get(side) ?? { runs: [], last: m };
      entry.runs.push(run);
      entry.last = m;
      out.set(side, entry);
      console.log(
        `${name} round ${r + 1} ${side.label}: ${m.seconds.toFixed(2)} s (load ${run.loadBefore[0]} → ${run.loadAfter[0]})`,
      );
    }
  }
  return out;
}

const selected = (opts.only ?? '').split(',').filter(Boolean);
const wants = (name: string): boolean =>
  selected.length === 0 || selected.some((s) => name === s || name.startsWith(`${s}-`));
const pairs: AnchorPair[] = [];
for (const group of GROUPS) {
  if (selected.length > 0 && !selected.some((s) => s === group.name || s.startsWith(`${group.name}-`))) continue;
  pairs.push(...(await group.pairs({ threads: Number(opts.threads) })).filter((p) => wants(p.name)));
}
if (pairs.length === 0) throw new Error(`no anchor matches --only ${opts.only}`);

const env = preparePythonEnv(
  pairs.flatMap((p) => p.needs),
  opts.install,
);
// OpenBLAS overrides set on some machines slow numpy's kernels (see the environment notes): not in the way here.
const childEnv: NodeJS.ProcessEnv = { ...process.env };
delete childEnv.OPENBLAS_CORETYPE;
delete childEnv.OPENBLAS_L2_SIZE;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** One pair, all its sides interleaved: what goes into the results file under the pair's name. */
async function runPair(pair: AnchorPair): Promise<Record<string, unknown> & { rows: string[] }> {
  const missing = pair.needs.flatMap((pkg) => {
    const p = env.packages[pkg];
    return p && 'skipped' in p ? [`${pkg}: ${p.skipped}`] : [];
  });
  if (missing.length > 0) console.log(`${pair.name}: ${pair.labels.theirs} is skipped (${missing.join('; ')})`);
  const python = missing.length === 0 && env.python ? { python: env.python, env: childEnv } : undefined;
  const loadStart = load();
  const timed = await interleave(sidesOf(pair, python), Number(opts.rounds), pair.name);
  const loadEnd = load();
  const sides = [...timed].map(([side, { runs, last }]) => {
    const seconds = median(runs.map((r) => r.seconds));
    return { side, runs, last, seconds, rate: last.work / seconds };
  });
  const theirs = sides.find((s) => s.side.theirs);
  const speed = (rate: number, isTheirs: boolean): number | undefined =>
    theirs && !isTheirs ? Number((rate / theirs.rate).toFixed(2)) : undefined;
  const rows = sides.map(
    (s) =>
      `| ${pair.name} | ${s.side.label} | ${s.seconds.toFixed(2)} | ${s.runs.map((r) => r.seconds.toFixed(2)).join(', ')} | ${fmt(s.rate)} ${pair.unit}/s | ${speed(s.rate, s.side.theirs) ?? ''} | ${loadStart[0]} → ${loadEnd[0]} |`,
  );
  if (missing.length > 0)
    rows.push(`| ${pair.name} | ${pair.labels.theirs} | skipped: ${missing.join('; ')} | | | | |`);
  return {
    at: new Date().toISOString(),
    unit: pair.unit,
    rounds: Number(opts.rounds),
    threads: Number(opts.threads),
    loadavg: { start: loadStart, end: loadEnd },
    setup: pair.setup,
    python: Object.fromEntries(pair.needs.map((pkg) => [pkg, env.packages[pkg]])),
    theirsSkipped: missing.length > 0 ? missing : undefined,
    sides: Object.fromEntries(
      sides.map((s) => [
        s.side.label,
        {
          theirs: s.side.theirs,
          medianSeconds: Number(s.seconds.toFixed(3)),
          perSecond: Math.round(s.rate),
          work: s.last.work,
          speedVsTheirs: speed(s.rate, s.side.theirs),
          runs: s.runs,
          detail: s.last.detail,
        },
      ]),
    ),
    rows,
  };
}

const HEADER = [
  '| anchor | side | median s | runs s | rate | ours ÷ theirs (speed) | load 1 min |',
  '| --- | --- | ---: | --- | ---: | ---: | --- |',
];
const results: Record<string, { rows: string[] }> = {};
for (const pair of pairs) results[pair.name] = await runPair(pair);
console.log(`\n${[...HEADER, ...Object.values(results).flatMap((r) => r.rows)].join('\n')}`);

// Read only now, so that pairs another run wrote meanwhile are kept.
const previous = (() => {
  try {
    return JSON.parse(readFileSync(opts.out, 'utf8')) as { pairs?: Record<string, { rows?: string[] }> };
  } catch {
    return {};
  }
})();
const merged: Record<string, { rows?: string[] }> = { ...previous.pairs, ...results };

// The file keeps every pair's latest run, so its table covers pairs run at different times (each row says when
// through the pair's `at`).
const table = [...HEADER, ...Object.values(merged).flatMap((r) => r.rows ?? [])].join('\n');
const out = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  // Where it lives in the home folder, not this machine's absolute path.
  venv: env.venv.replace(homedir(), '~'),
  table,
  pairs: merged,
};
writeFileSync(opts.out, `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote ${opts.out}`);
