import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

describe('pncf experiment (CLI)', () => {
  it('runs models over seeds on a generic file and writes JSON, Markdown, SVG, PNG and the dumps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-cli-'));
    const lines = ['user,item,count'];
    for (let u = 0; u < 50; u++)
      for (let j = 0; j < 8 + (u % 9); j++) lines.push(`u${u},i${(u * 3 + j * j) % 40},${1 + (j % 2)}`);
    writeFileSync(join(dir, 'data.csv'), `${lines.join('\n')}\n`);
    const { stdout } = await run(
      TSX,
      [
        CLI,
        'experiment',
        '--data',
        join(dir, 'data.csv'),
        '--format',
        'generic',
        '--core',
        '3',
        '--models',
        'mostpop,itemknn,ease',
        '--seeds',
        '1,2',
        '--ks',
        '1,5,10',
        '--out',
        join(dir, 'out'),
        '--name',
        'toy',
        '--dump-rankings',
        join(dir, 'rankings'),
        '--dump-split',
        join(dir, 'split'),
      ],
      { cwd: ROOT, timeout: 120_000 },
    );
    expect(stdout).toContain('| Model | Precision@10 |');
    const result = JSON.parse(readFileSync(join(dir, 'out', 'experiment-toy.json'), 'utf8'));
    expect(result.models).toEqual(['MostPop', 'ItemKNN', 'EASE']);
    expect(result.seeds).toEqual([1, 2]);
    expect(result.runs).toHaveLength(6);
    expect(result.summary.EASE.recall.mean).toHaveLength(3);
    expect(readFileSync(join(dir, 'out', 'experiment-toy.svg'), 'utf8')).toMatch(/^<svg/);
    expect(
      readFileSync(join(dir, 'out', 'experiment-toy.png'))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(readdirSync(join(dir, 'rankings')).sort()).toEqual([
      'EASE.seed1.jsonl',
      'EASE.seed2.jsonl',
      'ItemKNN.seed1.jsonl',
      'ItemKNN.seed2.jsonl',
      'MostPop.seed1.jsonl',
      'MostPop.seed2.jsonl',
    ]);
    expect(existsSync(join(dir, 'split', 'test.seed2.csv'))).toBe(true);

    // The dumped split evaluates as a given split.
    const given = await run(
      TSX,
      [
        CLI,
        'experiment',
        '--train',
        join(dir, 'split', 'train.seed1.csv'),
        '--test',
        join(dir, 'split', 'test.seed1.csv'),
        '--models',
        'mostpop',
        '--out',
        join(dir, 'out'),
        '--name',
        'given',
      ],
      { cwd: ROOT, timeout: 120_000 },
    );
    expect(given.stdout).toContain('given train/test split');
  });

  it('fails with a clear message on a malformed file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evaluation-cli-'));
    writeFileSync(join(dir, 'bad.csv'), 'user,item,current\n1,2,3\n1,2\n');
    const error = await run(TSX, [CLI, 'experiment', '--data', join(dir, 'bad.csv'), '--format', 'author-tag'], {
      cwd: ROOT,
    }).catch((e: { code: number; stderr: string }) => e);
    expect((error as { code: number }).code).toBe(1);
    expect((error as { stderr: string }).stderr).toContain(`${join(dir, 'bad.csv')}:3: expected 3 fields`);
  });
});
