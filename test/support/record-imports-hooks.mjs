// The module hooks of record-imports.mjs (they run on Node's hooks thread): append each resolved URL and its
// importer to the file named at registration.
import { appendFileSync } from 'node:fs';

let file = '';

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(file, `${resolved.url}\t${context.parentURL ?? ''}\n`);
  return resolved;
}
