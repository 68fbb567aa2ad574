import fs from 'node:fs';
import path from 'node:path';

/**
 * The application tree of the container image (Dockerfile; test/production-image.test.ts assembles the same): the
 * root manifest and lockfile, which `npm ci --omit=dev` installs from, and for every workspace its package.json and
 * what its `files` field names — npm's own list of what a package ships: dist/ and the assets the compiled code
 * reads (the event schemas, the CLI's bin). No sources, no tests.
 */

interface Lockfile {
  packages: Record<string, { link?: boolean; resolved?: string }>;
}

interface Manifest {
  name: string;
  files?: string[];
}

/** The workspaces' folders, as the lockfile links them (the same list `npm ci` installs). */
export function workspaceDirs(lockfile: Lockfile): string[] {
  return Object.values(lockfile.packages)
    .filter((entry) => entry.link && entry.resolved)
    .map((entry) => entry.resolved!)
    .sort();
}

/** The paths (relative to the repository root) the image holds for one workspace. */
export function workspacePaths(dir: string, manifest: Manifest): string[] {
  if (!manifest.files?.length) throw new Error(`${manifest.name} (${dir}): package.json has no "files" to ship`);
  return [path.posix.join(dir, 'package.json'), ...manifest.files.map((entry) => path.posix.join(dir, entry))];
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** Every path the image holds, relative to the repository root. */
export function productionPaths(repoRoot: string): string[] {
  const lockfile = readJson<Lockfile>(path.join(repoRoot, 'package-lock.json'));
  return [
    'package.json',
    'package-lock.json',
    ...workspaceDirs(lockfile).flatMap((dir) =>
      workspacePaths(dir, readJson<Manifest>(path.join(repoRoot, dir, 'package.json'))),
    ),
  ];
}

/** Copy the image's tree from a built checkout into `out`. Fails on a missing path: dist/ before `npm run build`. */
export function copyProductionTree(repoRoot: string, out: string): string[] {
  const paths = productionPaths(repoRoot);
  const missing = paths.filter((entry) => !fs.existsSync(path.join(repoRoot, entry)));
  if (missing.length > 0) {
    throw new Error(`not in ${repoRoot} (run npm run build first): ${missing.join(', ')}`);
  }
  for (const entry of paths) fs.cpSync(path.join(repoRoot, entry), path.join(out, entry), { recursive: true });
  return paths;
}
