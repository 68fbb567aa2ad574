import { ingesterConfigSchema } from '@pncf/ingester/config';
import { describeConfig, describeCrossChecks, type EnvSchema } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { Command } from 'commander';
import { cliConfigSchema } from '../config.js';

/** Every schema a process validates at start-up: the three services' and the pncf commands' own. */
const schemas: Record<string, EnvSchema> = {
  ingester: ingesterConfigSchema,
  trainer: trainerConfigSchema,
  scorer: scorerConfigSchema,
  pncf: cliConfigSchema,
};

interface Row {
  services: string[];
  defaults: string[];
  description: string;
  allowed: string;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** Every environment variable of every service and command, from the schemas they validate at start-up. */
export function configTable(): string {
  const rows = new Map<string, Row>();
  for (const [service, schema] of Object.entries(schemas)) {
    for (const variable of describeConfig(schema)) {
      const row = rows.get(variable.name) ?? {
        services: [],
        defaults: [],
        description: variable.description,
        allowed: variable.allowed,
      };
      row.services.push(service);
      row.defaults.push(variable.default ?? '');
      rows.set(variable.name, row);
    }
  }
  const lines = ['| variable | default | allowed | read by | meaning |', '| --- | --- | --- | --- | --- |'];
  for (const [name, row] of rows) {
    const differ = new Set(row.defaults).size > 1;
    const shown = differ
      ? row.services.map((s, i) => `${s}: \`${row.defaults[i] || '(unset)'}\``).join(', ')
      : row.defaults[0]
        ? `\`${row.defaults[0]}\``
        : '';
    const description = differ
      ? row.description.replace(/of the \w+ HTTP server/, 'of the HTTP server')
      : row.description;
    lines.push(`| \`${name}\` | ${shown} | ${cell(row.allowed)} | ${row.services.join(', ')} | ${cell(description)} |`);
  }
  // A rule several schemas share (the Kafka security ones) is listed once, with every process that checks it.
  const checkedBy = new Map<string, string[]>();
  for (const [service, schema] of Object.entries(schemas)) {
    for (const rule of describeCrossChecks(schema)) checkedBy.set(rule, [...(checkedBy.get(rule) ?? []), service]);
  }
  const rules = [...checkedBy].map(([rule, services]) => `- ${services.join(', ')}: ${rule}`);
  if (rules.length > 0) lines.push('', 'Checked between variables at start-up:', ...rules);
  return lines.join('\n');
}

export function configCommand(): Command {
  return new Command('config')
    .description(
      'print every environment variable the services and the pncf commands read, with its default, allowed values and meaning (Markdown)',
    )
    .action(() => console.log(configTable()));
}
