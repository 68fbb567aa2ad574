import { Ajv } from 'ajv';
import schema from '../schema/recommendation.schema.json' with { type: 'json' };

export type RecommendationSource = 'model' | 'cold-start' | 'popular';

/** The recommendation contract; the JSON Schema in ../schema is the source of truth. */
export interface Recommendation {
  user: string;
  /** Best first, excluding items the user already has. */
  items: { item: string; score: number }[];
  modelVersion: string;
  /** ISO-8601. */
  generatedAt: string;
  source?: RecommendationSource;
}

export const recommendationSchema = schema;

// strict mode rejects the standard "format" keyword unless formats are registered; the ISO check is a regex here.
const validate = new Ajv({
  strict: true,
  formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/ },
}).compile<Recommendation>(schema);

/** Parse and validate a recommendation message; throws with the schema's complaint when it does not conform. */
export function parseRecommendation(value: Buffer | string | null): Recommendation {
  if (value === null) throw new Error('recommendation message has no value');
  const parsed: unknown = JSON.parse(String(value));
  if (!validate(parsed)) {
    const error = validate.errors?.[0];
    throw new Error(`invalid recommendation: ${error?.instancePath || '/'} ${error?.message ?? 'invalid'}`);
  }
  return parsed;
}

/** The Kafka message for a recommendation: key = user id, so compaction keeps each user's latest list. */
export function recommendationMessage(recommendation: Recommendation): { key: string; value: string } {
  return { key: recommendation.user, value: JSON.stringify(recommendation) };
}
