import { parentPort, workerData } from 'node:worker_threads';
import { loadArtifact, type ModelArtifact } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { ModelArtifactError, type SerializedError, serializeError } from '@pncf/runtime';
import { InteractionStore } from '@pncf/store';
import { type CandidateSettings, type PreparedModel, preparedBuffers, prepareModel } from './serving-model.js';

export interface LoadRequest {
  modelDir: string;
  storePath: string;
  version: string;
  candidates: CandidateSettings;
}

/** The worker's one answer: the prepared model, or the error as data (model-holder.ts rebuilds the typed error). */
export type LoadAnswer =
  | { prepared: PreparedModel; error?: undefined }
  | { prepared?: undefined; error: SerializedError };

/**
 * A model load off the main thread: verify the version's checksums, read the artifact, snapshot the store and
 * prepare the serving arrays; the result is transferred back, so the event loop that serves requests only
 * builds the few tfjs tensors. Answers a LoadAnswer.
 */
const request = workerData as LoadRequest;
const answer = (message: LoadAnswer, transfer?: ArrayBuffer[]) => parentPort?.postMessage(message, transfer);
try {
  // Throws ArtifactIntegrityError (a ModelArtifactError) when the files do not match the manifest.
  const opened = new ModelRegistry(request.modelDir).open(request.version);
  let artifact: ModelArtifact;
  try {
    artifact = loadArtifact(opened.dir);
  } catch (error) {
    // The checksums held, but the files are not an artifact this code reads (format, version, shapes).
    throw new ModelArtifactError(`model ${request.version}: ${(error as Error).message}`, { cause: error });
  }
  const store = InteractionStore.open({ path: request.storePath, readOnly: true });
  let snapshot: ReturnType<InteractionStore['snapshot']>;
  try {
    snapshot = store.snapshot();
  } finally {
    await store.close();
  }
  const prepared = prepareModel({
    version: request.version,
    createdAt: opened.manifest.createdAt,
    artifact,
    data: snapshot.interactions,
    candidates: request.candidates,
  });
  answer({ prepared }, preparedBuffers(prepared));
} catch (error) {
  answer({ error: serializeError(error) });
}
