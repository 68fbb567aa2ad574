import { Ajv } from 'ajv';
import schema from '../schema/model-updated.schema.json' with { type: 'json' };

/** The model-updated contract; the JSON Schema in ../schema is the source of truth. */
export interface ModelUpdatedEvent {
  version: string;
  /** sha256 of the version's version.json, which lists every other file's sha256. */
  manifestSha256: string;
  createdAt: string;
  snapshotSequence: number;
  data: { users: number; items: number; pairs: number };
  /** metric name → K → value. */
  holdout: Record<string, Record<string, number>>;
}

export const modelUpdatedSchema = schema;
export const MODEL_UPDATED_KEY = 'model';

const validate = new Ajv({ strict: true }).compile<ModelUpdatedEvent>(schema);

/** Parse and validate a model-updated message; throws with the schema's complaint when it does not conform. */
export function parseModelUpdated(value: Buffer | string | null): ModelUpdatedEvent {
  if (value === null) throw new Error('model-updated message has no value');
  const parsed: unknown = JSON.parse(String(value));
  if (!validate(parsed)) {
    const error = validate.errors?.[0];
    throw new Error(`invalid model-updated event: ${error?.instancePath || '/'} ${error?.message ?? 'invalid'}`);
  }
  return parsed;
}
