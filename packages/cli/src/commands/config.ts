import { ingesterConfigSchema } from '@pncf/ingester/config';
import { describeConfig, type EnvSchema } from '@pncf/runtime';
import { scorerConfigSchema } from '@pncf/scorer/config';
import { trainerConfigSchema } from '@pncf/trainer/config';
import { Command } from 'commander';

const schemas: Record<string, EnvSchema> = {
  ingester: ingesterConfigSchema,
  trainer: trainerConfigSchema,
  scorer: scorerConfigSchema,
};

/** Every environment variable of every service, from the schemas the services validate at start-up. */
export function configTable(): string {
  const rows = new Map<string, { default: string; services: string[]; description: string; defaults: string[] }>();
  for (const [service, schema] of Object.entries(schemas)) {
    for (const variable of describeConfig(schema)) {
      const row = rows.get(variable.name) ?? {
        default: variable.default ?? '',
        services: [],
        description: variable.description,
        defaults: [],
      };
      row.services.push(service);
      row.defaults.push(variable.default ?? '');
      rows.set(variable.name, row);
    }
  }
  const lines = ['| variable | default | services | meaning |', '| --- | --- | --- | --- |'];
  for (const [name, row] of rows) {
    // One default per service, in service order (a set would lose the pairing when two services share one).
    const differ = new Set(row.defaults).size > 1;
    const shown = differ ? row.services.map((s, i) => `${s}: ${row.defaults[i]}`).join(', ') : row.default;
    const description = differ
      ? row.description.replace(/of the \w+ HTTP server/, 'of the HTTP server')
      : row.description;
    lines.push(
      `| \`${name}\` | ${shown ? `\`${shown}\`` : ''} | ${row.services.join(', ')} | ${description.replaceAll('|', '\\|')} |`,
    );
  }
  return lines.join('\n');
}

export function configCommand(): Command {
  return new Command('config')
    .description('print every environment variable of the services with its default, as a Markdown table')
    .action(() => console.log(configTable()));
}
