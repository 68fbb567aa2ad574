import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './services.js';

/** One build stage of the Dockerfile: its instructions, continuation lines joined, comments dropped. */
export interface DockerStage {
  from: string;
  instructions: { keyword: string; args: string }[];
}

export function parseDockerfile(text: string): DockerStage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') stages.push({ from: args, instructions: [] });
    else stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

export const readDockerfile = (): DockerStage[] =>
  parseDockerfile(fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));

/** The arguments of a stage's instructions of one kind (RUN, USER, COPY, …), in order. */
export const argsOf = (stage: DockerStage, keyword: string): string[] =>
  stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);

/** The image's command, from the final stage's exec-form CMD. */
export function imageCommand(stages: DockerStage[]): string[] {
  const cmd = argsOf(stages.at(-1)!, 'CMD').at(-1);
  if (!cmd?.startsWith('[')) throw new Error(`the Dockerfile's CMD is not in exec form: ${cmd}`);
  return JSON.parse(cmd) as string[];
}
