import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fromPairs } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import {
  HistoryInference,
  type HistoryModel,
  isHistoryModel,
  loadArtifact,
  type PncfModel,
  readManifest,
  type TopK,
  TowerInference,
} from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

/**
 * Two communities: users a0..a29 use tags t0..t19 and users b0..b29 use t20..t39, each a different 10 of
 * their community's 20 tags. A model that learned anything suggests a user's own community's unused tags.
 */
function communities(): { csv: string; seen: Map<string, Set<string>> } {
  const lines = ['user,item,count'];
  const seen = new Map<string, Set<string>>();
  for (const [group, offset] of [
    ['a', 0],
    ['b', 20],
  ] as const)
    for (let u = 0; u < 30; u++) {
      const user = `${group}${u}`;
      const tags = new Set<string>();
      for (let j = 0; j < 10; j++) tags.add(`t${offset + ((u * 7 + j * 3) % 20)}`);
      for (const tag of tags) lines.push(`${user},${tag},${1 + (tag.length % 3)}`);
      seen.set(user, tags);
    }
  return { csv: `${lines.join('\n')}\n`, seen };
}

/**
 * The share of each user's Top-5 (without their own tags) that are tags of their own community, given a
 * ranking function over model users with their known tags (rows of the model's ids).
 */
function ownCommunityShare(
  userIds: string[],
  itemIds: string[],
  seen: Map<string, Set<string>>,
  rank: (users: Uint32Array, known: { indptr: Uint32Array; indices: Uint32Array }) => TopK,
): number {
  const itemIndex = new Map(itemIds.map((id, i) => [id, i]));
  const users: number[] = [];
  const items: number[] = [];
  userIds.forEach((user, u) => {
    for (const tag of seen.get(user)!) {
      users.push(u);
      items.push(itemIndex.get(tag)!);
    }
  });
  const known = fromPairs(userIds, itemIds, users, items);
  const top = rank(Uint32Array.from(userIds.keys()), known.byUser);
  let ownCommunity = 0;
  userIds.forEach((user, u) => {
    for (let r = 0; r < top.counts[u]!; r++) {
      const tag = itemIds[top.items[u * 5 + r]!]!;
      expect(seen.get(user)!.has(tag)).toBe(false);
      const tagGroup = Number(tag.slice(1)) < 20 ? 'a' : 'b';
      if (tagGroup === user[0]) ownCommunity++;
    }
  });
  // Each user has 10 unused tags of their own community and 20 of the other: chance is 1/3.
  return ownCommunity / (userIds.length * 5);
}

describe('pncf train (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-cli-'));
  const { csv, seen } = communities();
  let stdout = '';

  beforeAll(async () => {
    writeFileSync(join(dir, 'data.csv'), csv);
    ({ stdout } = await run(
      TSX,
      [
        CLI,
        'train',
        '--data',
        join(dir, 'data.csv'),
        '--format',
        'generic',
        '--core',
        '1',
        '--threads',
        '1',
        '--epochs',
        '8',
        '--out',
        join(dir, 'model'),
        '--no-progress',
      ],
      { cwd: ROOT, timeout: 240_000 },
    ));
  }, 240_000);

  it('writes an artifact another process loads, with its checksum, id maps and fit report', () => {
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const manifest = readManifest(join(dir, 'model'));
    expect(summary.sha256).toBe(manifest.payload.sha256);
    expect(manifest.numUsers).toBe(60);
    expect(manifest.numItems).toBe(40);
    expect(new Set(manifest.userIds)).toEqual(new Set(seen.keys()));
    expect(manifest.metrics.preset).toBe('default');
    expect(manifest.metrics.validationRecall).toBeGreaterThan(0);
    expect(summary.bestEpoch).toBe(manifest.metrics.bestEpoch);
  });

  it('suggests unused tags of the user’s own community', async () => {
    await tfRuntime(() => {});
    const artifact = loadArtifact(join(dir, 'model'));
    expect(
      ownCommunityShare(artifact.userIds, artifact.itemIds, seen, (users, known) => {
        const inference = TowerInference.fromModel(artifact.model as PncfModel);
        const top = inference.recommend(users, 5, known);
        inference.dispose();
        return top;
      }),
    ).toBeGreaterThan(0.8);
  });

  it('--preset plus writes a history model (PNCF+) that suggests the user’s own community too', async () => {
    const { stdout: out } = await run(
      TSX,
      [CLI, 'train', '--data', join(dir, 'data.csv'), '--format', 'generic', '--core', '1', '--threads', '1'].concat([
        '--preset',
        'plus',
        '--epochs',
        '20',
        '--out',
        join(dir, 'plus'),
        '--no-progress',
      ]),
      { cwd: ROOT, timeout: 240_000 },
    );
    const summary = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(summary.kind).toBe('history');
    const manifest = readManifest(join(dir, 'plus'));
    expect(manifest).toMatchObject({ kind: 'history', dim: 64, numUsers: 60, numItems: 40 });
    expect(manifest.metrics).toMatchObject({ preset: 'plus', kind: 'history' });
    expect(manifest.config).toMatchObject({ scorer: 'history', history: { epochs: 20 } });
    await tfRuntime(() => {});
    const artifact = loadArtifact(join(dir, 'plus'));
    expect(isHistoryModel(artifact.model)).toBe(true);
    const share = ownCommunityShare(artifact.userIds, artifact.itemIds, seen, (users, known) => {
      const inference = new HistoryInference(artifact.model as HistoryModel);
      const top = inference.recommendVectors(inference.userVectors(users, known), 5, { seen: known });
      inference.dispose();
      return top;
    });
    expect(share).toBeGreaterThan(0.8);
  }, 240_000);

  it('pncf model list and show describe versions of both kinds', async () => {
    const modelRegistry = new ModelRegistry(join(dir, 'registry'));
    for (const name of ['model', 'plus']) {
      const staged = modelRegistry.createStaging();
      cpSync(join(dir, name), staged, { recursive: true });
      modelRegistry.publish(staged, { data: { users: 60, items: 40, pairs: 600 } });
    }
    const cli = async (...args: string[]) =>
      (await run(TSX, [CLI, 'model', ...args, '--dir', join(dir, 'registry')], { cwd: ROOT })).stdout;
    const list = (await cli('list')).trimEnd().split('\n');
    expect(list).toHaveLength(2);
    expect(list[0]).toMatch(/^ {2}v000001 .* tower 32-d 128-64/);
    expect(list[1]).toMatch(/^\* v000002 .* history 64-d \(PNCF\+\)/);
    const current = await cli('show');
    expect(current).toMatch(/^v000002 \(current\)\n/);
    expect(current).toMatch(/kind {8}history 64-d \(PNCF\+\)/);
    expect(current).toMatch(/config {6}word2vec skipgram 64-d \d+ epochs, history 20 epochs/);
    expect(current).toMatch(/data {8}60 users, 40 items, 600 pairs/);
    const tower = await cli('show', 'v000001');
    expect(tower).toMatch(/kind {8}tower 32-d 128-64, batch norm/);
  });

  it('refuses to run without a data set, naming the options', async () => {
    const error = await run(TSX, [CLI, 'train', '--out', join(dir, 'none')], { cwd: ROOT }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((error as { code: number }).code).not.toBe(0);
    expect((error as { stderr: string }).stderr).toContain('give --dataset NAME or --data FILE');
  });
});
