// Records every module a Node process loads, for tests that assert what a start-up pulls in:
//   RECORD_IMPORTS=<file> node --import tsx --import ./test/support/record-imports.mjs <entry>
// (after tsx, so the URLs are the ones tsx resolved to). Each line of <file> is `<module URL>\t<importer>`:
// every ESM import and import() as a resolve hook sees it, and at exit every CommonJS module in require.cache
// (importer `require`), since on Node 20 the resolve hook does not see require() calls inside CommonJS code.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env.RECORD_IMPORTS;
if (!file) throw new Error('record-imports: RECORD_IMPORTS must name the file that receives the module URLs');
register('./record-imports-hooks.mjs', import.meta.url, { data: { file } });

const { cache } = createRequire(import.meta.url);
process.on('exit', () => {
  const lines = Object.keys(cache).map((name) => `${pathToFileURL(name).href}\trequire\n`);
  appendFileSync(file, lines.join(''));
});
