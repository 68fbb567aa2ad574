import { parentPort, workerData } from 'node:worker_threads';
import { loadArtifact } from '@pncf/pncf';
import { ModelRegistry } from '@pncf/registry';
import { InteractionStore } from '@pncf/store';
import { type CandidateSettings, preparedBuffers, prepareModel } from './serving-model.js';

export interface LoadRequest {
  modelDir: string;
  storePath: string;
  version: string;
  candidates: CandidateSettings;
}

/**
 * A model load off the main thread: verify the version's checksums, read the artifact, snapshot the store and
 * prepare the serving arrays; the result is transferred back, so the event loop that serves requests only
 * builds the few tfjs tensors. Answers { prepared } or { error }.
 */
const request = workerData as LoadRequest;
try {
  const opened = new ModelRegistry(request.modelDir).open(request.version);
  const artifact = loadArtifact(opened.dir);
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
  parentPort?.postMessage({ prepared }, preparedBuffers(prepared));
} catch (error) {
  parentPort?.postMessage({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
}
