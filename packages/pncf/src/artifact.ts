import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { type PncfConfig, parsePncfConfig } from './config.js';
import { isHistoryModel, type TrainedModel } from './fit.js';
import type { HistoryModel } from './history-model.js';
import type { PncfModel } from './inference.js';
import type { DenseLayer, TowerWeights } from './tower-weights.js';
import type { Embeddings } from './word2vec.js';

/**
 * A trained model on disk, for the trainer to write and the scorer to load in another process:
 * `manifest.json` (format, version, model kind, ids, hyper-parameters, metrics, tensor table, SHA-256 of the
 * payload) and `tensors.bin` (little-endian float32 arrays back to back). Plain JSON and raw floats: nothing is
 * evaluated on load.
 *
 * Two kinds of model (`kind`, 'tower' when absent, as in every artifact written before PNCF+): the paper's tower
 * (user and item tables plus the tower's layers; the manifest says its shape in `hidden` and `batchNorm`) and
 * PNCF+'s history model (history-model.ts: its six arrays, no tower). The model's kind and its config's `scorer`
 * always agree.
 */
export const ARTIFACT_FORMAT = 'pncf-model';
export const ARTIFACT_VERSION = 1;
const PAYLOAD = 'tensors.bin';
const MANIFEST = 'manifest.json';

export type ModelKind = 'tower' | 'history';

export interface ModelArtifact {
  model: TrainedModel;
  userIds: string[];
  itemIds: string[];
  config: PncfConfig;
  /** Free-form measurements (validation recall, timings, data sizes). */
  metrics: Record<string, unknown>;
  /** word2vec tables (input and output vectors) for warm-starting the next pre-training. */
  pretrained?: { users: Embeddings; items: Embeddings };
  createdAt?: string;
}

const tensorEntry = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  offset: z.number().int().nonnegative(),
});
const commonManifest = {
  format: z.literal(ARTIFACT_FORMAT),
  version: z.number().int(),
  createdAt: z.string(),
  numUsers: z.number().int().nonnegative(),
  numItems: z.number().int().nonnegative(),
  dim: z.number().int().positive(),
  userIds: z.array(z.string()),
  itemIds: z.array(z.string()),
  config: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.unknown()),
  tensors: z.array(tensorEntry),
  payload: z.object({
    file: z.string(),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
};
const towerManifest = z.object({
  kind: z.literal('tower'),
  ...commonManifest,
  batchNorm: z.boolean(),
  // A tower without a hidden layer cannot be served: refused when the artifact is read, not when it is scored.
  hidden: z.array(z.number().int().positive()).min(1),
});
const historyManifest = z.object({
  kind: z.literal('history'),
  ...commonManifest,
  // How the history is pooled (HistoryModel.poolCountExponent / poolNormExponent); absent: their defaults.
  pool: z
    .object({ countExponent: z.number().min(0).optional(), normExponent: z.number().min(0).optional() })
    .optional(),
});
// Manifests written before PNCF+ have no kind: they are towers.
const manifestSchema = z.preprocess(
  (raw) => (raw !== null && typeof raw === 'object' && !('kind' in raw) ? { ...raw, kind: 'tower' } : raw),
  z.discriminatedUnion('kind', [towerManifest, historyManifest]),
);
export type ArtifactManifest = z.infer<typeof manifestSchema>;

/** The tables of a history model, in payload order, with their shapes. */
const historyTensors = (model: Pick<HistoryModel, 'numUsers' | 'numItems' | 'dim'>) =>
  [
    ['itemInput', [model.numItems, model.dim]],
    ['historyKernel', [model.dim, model.dim]],
    ['userVectors', [model.numUsers, model.dim]],
    ['userKernel', [model.dim, model.dim]],
    ['itemOutput', [model.numItems, model.dim]],
    ['itemBias', [model.numItems]],
  ] as const satisfies readonly (readonly [keyof HistoryModel, readonly number[]])[];

/** The kind of a model: what its manifest says and what its config's `scorer` must say. */
export const modelKind = (model: TrainedModel): ModelKind => (isHistoryModel(model) ? 'history' : 'tower');

const LAYER_FIELDS = ['kernel', 'bias', 'gamma', 'beta', 'runningMean', 'runningVariance'] as const;

function checkEndianness(): void {
  // Float32Array views use the platform's byte order; the payload is defined as little-endian.
  if (endianness() !== 'LE') throw new Error('model artifacts are little-endian; this platform is big-endian');
}

/** Write atomically: a temporary sibling directory is renamed over `dir`, so readers never see half a model. */
export function saveArtifact(dir: string, artifact: ModelArtifact): ArtifactManifest {
  checkEndianness();
  // An artifact whose config loadArtifact would refuse is never written.
  const config = parsePncfConfig(artifact.config, `${dir}: config to save`);
  const { model } = artifact;
  const kind = modelKind(model);
  if (config.scorer !== kind)
    throw new Error(`${dir}: a ${kind} model with a config whose scorer is "${config.scorer}"`);
  if (artifact.userIds.length !== model.numUsers || artifact.itemIds.length !== model.numItems)
    throw new Error(`${dir}: id maps do not match the table sizes`);
  const arrays: { name: string; shape: number[]; data: Float32Array }[] = isHistoryModel(model)
    ? historyTensors(model).map(([name, shape]) => ({ name, shape: [...shape], data: model[name] }))
    : towerArrays(model);
  if (artifact.pretrained) {
    for (const side of ['users', 'items'] as const) {
      const e = artifact.pretrained[side];
      arrays.push({ name: `pretrained.${side}.vectors`, shape: [e.vocabSize, e.dim], data: e.vectors });
      arrays.push({ name: `pretrained.${side}.context`, shape: [e.vocabSize, e.dim], data: e.context });
    }
  }
  let bytes = 0;
  const tensors = arrays.map((a) => {
    if (a.data.length !== a.shape.reduce((x, y) => x * y, 1))
      throw new Error(`tensor ${a.name} does not match its shape`);
    const entry = { name: a.name, shape: a.shape, offset: bytes };
    bytes += a.data.byteLength;
    return entry;
  });
  const payload = Buffer.alloc(bytes);
  arrays.forEach((a, k) => {
    payload.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), tensors[k]!.offset);
  });
  const common: Omit<z.infer<typeof historyManifest>, 'kind' | 'dim'> = {
    format: ARTIFACT_FORMAT,
    version: ARTIFACT_VERSION,
    createdAt: artifact.createdAt ?? new Date().toISOString(),
    numUsers: model.numUsers,
    numItems: model.numItems,
    userIds: artifact.userIds,
    itemIds: artifact.itemIds,
    config: artifact.config as unknown as Record<string, unknown>,
    metrics: artifact.metrics,
    tensors,
    payload: { file: PAYLOAD, bytes, sha256: createHash('sha256').update(payload).digest('hex') },
  };
  const manifest: ArtifactManifest = isHistoryModel(model)
    ? { kind: 'history', ...common, dim: model.dim, ...historyPool(model) }
    : {
        kind: 'tower',
        ...common,
        dim: model.tower.dim,
        batchNorm: model.tower.batchNorm,
        hidden: model.tower.layers.map((l) => l.outputs),
      };
  const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, PAYLOAD), payload);
  writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return manifest;
}

/** The tower's tables and layers, in payload order. */
function towerArrays(model: PncfModel): { name: string; shape: number[]; data: Float32Array }[] {
  const arrays = [
    { name: 'userVectors', shape: [model.numUsers, model.tower.dim], data: model.userVectors },
    { name: 'itemVectors', shape: [model.numItems, model.tower.dim], data: model.itemVectors },
  ];
  model.tower.layers.forEach((layer, k) => {
    for (const field of LAYER_FIELDS) {
      const shape = field === 'kernel' ? [layer.inputs, layer.outputs] : [layer.outputs];
      arrays.push({ name: `layers.${k}.${field}`, shape, data: layer[field] });
    }
  });
  arrays.push({ name: 'outKernel', shape: [model.tower.outKernel.length, 1], data: model.tower.outKernel });
  arrays.push({ name: 'outBias', shape: [1], data: model.tower.outBias });
  return arrays;
}

/** Read and validate the manifest only (cheap: ids and metadata, no tensors). */
export function readManifest(dir: string): ArtifactManifest {
  const raw: unknown = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${dir}: not a ${ARTIFACT_FORMAT} manifest: ${parsed.error.message}`);
  if (parsed.data.version !== ARTIFACT_VERSION) {
    throw new Error(`${dir}: artifact version ${parsed.data.version}, this code reads version ${ARTIFACT_VERSION}`);
  }
  return parsed.data;
}

/** Load a model written by saveArtifact, verifying the payload's checksum and every tensor's shape. */
export function loadArtifact(dir: string): ModelArtifact {
  checkEndianness();
  const manifest = readManifest(dir);
  const payload = readFileSync(join(dir, manifest.payload.file));
  if (payload.length !== manifest.payload.bytes)
    throw new Error(`${dir}: payload is ${payload.length} bytes, manifest says ${manifest.payload.bytes}`);
  const digest = createHash('sha256').update(payload).digest('hex');
  if (digest !== manifest.payload.sha256)
    throw new Error(`${dir}: payload checksum mismatch (corrupt or partial model)`);
  // Copy into an aligned buffer: Buffer slices may start at offsets a Float32Array cannot view.
  const aligned = new Uint8Array(payload.length);
  aligned.set(payload);
  const byName = new Map(manifest.tensors.map((t) => [t.name, t]));
  const tensor = (name: string, shape: number[]): Float32Array => {
    const entry = byName.get(name);
    if (!entry) throw new Error(`${dir}: tensor ${name} missing`);
    if (entry.shape.join('x') !== shape.join('x'))
      throw new Error(`${dir}: tensor ${name} has shape ${entry.shape}, expected ${shape}`);
    const n = shape.reduce((x, y) => x * y, 1);
    if (entry.offset + n * 4 > aligned.length) throw new Error(`${dir}: tensor ${name} runs past the payload`);
    return new Float32Array(aligned.buffer, entry.offset, n).slice();
  };
  const config = parsePncfConfig(manifest.config, `${dir}: ${MANIFEST} config`);
  const { dim, numUsers, numItems } = manifest;
  if (manifest.userIds.length !== numUsers || manifest.itemIds.length !== numItems)
    throw new Error(`${dir}: id maps do not match the table sizes`);
  if (config.scorer !== manifest.kind)
    throw new Error(`${dir}: a ${manifest.kind} model with a config whose scorer is "${config.scorer}"`);
  const model: TrainedModel =
    manifest.kind === 'history'
      ? historyModel({ numUsers, numItems, dim, ...poolOf(manifest) }, tensor)
      : towerModel(manifest, tensor);
  let pretrained: ModelArtifact['pretrained'];
  if (byName.has('pretrained.users.vectors')) {
    const side = (s: 'users' | 'items', rows: number): Embeddings => {
      const shape = byName.get(`pretrained.${s}.vectors`)!.shape;
      return {
        vocabSize: rows,
        dim: shape[1]!,
        vectors: tensor(`pretrained.${s}.vectors`, shape),
        context: tensor(`pretrained.${s}.context`, shape),
      };
    };
    pretrained = { users: side('users', numUsers), items: side('items', numItems) };
  }
  return {
    model,
    userIds: manifest.userIds,
    itemIds: manifest.itemIds,
    config,
    metrics: manifest.metrics,
    pretrained,
    createdAt: manifest.createdAt,
  };
}

type ReadTensor = (name: string, shape: number[]) => Float32Array;

/** A history model's pooling settings as the manifest records them (only those the model sets). */
function historyPool(model: HistoryModel): { pool?: { countExponent?: number; normExponent?: number } } {
  const pool = {
    ...(model.poolCountExponent === undefined ? {} : { countExponent: model.poolCountExponent }),
    ...(model.poolNormExponent === undefined ? {} : { normExponent: model.poolNormExponent }),
  };
  return Object.keys(pool).length > 0 ? { pool } : {};
}

/** The pooling settings of a history manifest as HistoryModel fields. */
function poolOf(
  manifest: ArtifactManifest & { kind: 'history' },
): Pick<HistoryModel, 'poolCountExponent' | 'poolNormExponent'> {
  const { pool } = manifest;
  return {
    ...(pool?.countExponent === undefined ? {} : { poolCountExponent: pool.countExponent }),
    ...(pool?.normExponent === undefined ? {} : { poolNormExponent: pool.normExponent }),
  };
}

function historyModel(
  size: Pick<HistoryModel, 'numUsers' | 'numItems' | 'dim' | 'poolCountExponent' | 'poolNormExponent'>,
  tensor: ReadTensor,
): HistoryModel {
  const model: HistoryModel = {
    kind: 'history',
    ...size,
    itemInput: new Float32Array(0),
    historyKernel: new Float32Array(0),
    userVectors: new Float32Array(0),
    userKernel: new Float32Array(0),
    itemOutput: new Float32Array(0),
    itemBias: new Float32Array(0),
  };
  for (const [name, shape] of historyTensors(size)) model[name] = tensor(name, [...shape]);
  return model;
}

function towerModel(manifest: ArtifactManifest & { kind: 'tower' }, tensor: ReadTensor): PncfModel {
  const { dim, numUsers, numItems } = manifest;
  let inputs = 2 * dim;
  const layers: DenseLayer[] = manifest.hidden.map((outputs, k) => {
    const layer: DenseLayer = {
      inputs,
      outputs,
      kernel: tensor(`layers.${k}.kernel`, [inputs, outputs]),
      bias: tensor(`layers.${k}.bias`, [outputs]),
      gamma: tensor(`layers.${k}.gamma`, [outputs]),
      beta: tensor(`layers.${k}.beta`, [outputs]),
      runningMean: tensor(`layers.${k}.runningMean`, [outputs]),
      runningVariance: tensor(`layers.${k}.runningVariance`, [outputs]),
    };
    inputs = outputs;
    return layer;
  });
  const tower: TowerWeights = {
    dim,
    batchNorm: manifest.batchNorm,
    layers,
    outKernel: tensor('outKernel', [inputs, 1]),
    outBias: tensor('outBias', [1]),
  };
  return {
    numUsers,
    numItems,
    userVectors: tensor('userVectors', [numUsers, dim]),
    itemVectors: tensor('itemVectors', [numItems, dim]),
    tower,
  };
}
