import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fromPairs } from '@pncf/data';
import { tfRuntime } from '@pncf/evaluation';
import { loadArtifact, readManifest, TowerInference } from '@pncf/pncf';
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
    const { userIds, itemIds } = artifact;
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
    const inference = TowerInference.fromModel(artifact.model);
    const top = inference.recommend(Uint32Array.from(userIds.keys()), 5, known.byUser);
    let ownCommunity = 0;
    userIds.forEach((user, u) => {
      for (let r = 0; r < top.counts[u]!; r++) {
        const tag = itemIds[top.items[u * 5 + r]!]!;
        expect(seen.get(user)!.has(tag)).toBe(false);
        const tagGroup = Number(tag.slice(1)) < 20 ? 'a' : 'b';
        if (tagGroup === user[0]) ownCommunity++;
      }
    });
    inference.dispose();
    // Each user has 10 unused tags of their own community and 20 of the other: chance is 1/3.
    expect(ownCommunity / (userIds.length * 5)).toBeGreaterThan(0.8);
  });

  it('refuses to run without a data set, naming the options', async () => {
    const error = await run(TSX, [CLI, 'train', '--out', join(dir, 'none')], { cwd: ROOT }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((error as { code: number }).code).not.toBe(0);
    expect((error as { stderr: string }).stderr).toContain('give --dataset NAME or --data FILE');
  });
});
