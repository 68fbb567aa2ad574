import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { setupTfjsNode } from './setup.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const defaultCacheDir = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'pncf');
const log = (line: string) => console.log(`[tfjs-node] ${line}`);

const program = new Command('tfjs-node-local').description(
  "@tensorflow/tfjs-node built against TensorFlow's C library from a pinned PyPI wheel",
);

program
  .command('setup')
  .description('make @tensorflow/tfjs-node loadable; without --strict a failure only warns (the wasm backend remains)')
  .option('--strict', 'exit with an error when tfjs-node cannot be set up', false)
  .option('--rebuild', 'compile the binding even when a cached one exists', false)
  .option(
    '--cache-dir <dir>',
    'wheel, unpacked library and compiled bindings',
    process.env.PNCF_CACHE_DIR ?? defaultCacheDir,
  )
  .action(async (options: { strict: boolean; rebuild: boolean; cacheDir: string }) => {
    if (process.env.PNCF_TFJS_NODE === 'off') {
      log('skipped (PNCF_TFJS_NODE=off): the wasm backend will be used');
      return;
    }
    try {
      const result = await setupTfjsNode({
        repoRoot,
        cacheDir: path.resolve(options.cacheDir),
        log,
        rebuild: options.rebuild,
      });
      if (result.status === 'ready') {
        log(`ready: TensorFlow ${result.tensorflow} (${result.how}, ${result.seconds} s)`);
      } else {
        log(`skipped: ${result.reason}; the wasm backend will be used`);
        if (options.strict) process.exitCode = 1;
      }
    } catch (error) {
      log(`not available: ${error instanceof Error ? error.message : String(error)}`);
      log('the wasm backend will be used; retry with `npm run tfjs-node:setup -- --strict`');
      if (options.strict) process.exitCode = 1;
    }
  });

program.parseAsync();
