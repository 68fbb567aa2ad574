import type { Interactions } from '@pncf/data';
import type { Recommender } from '@pncf/evaluation';
import type { ModelArtifact } from './artifact.js';
import { TowerInference } from './inference.js';
import { remapModel } from './remap.js';

/**
 * A published model (artifact) scored on another id space, e.g. a newer snapshot of the store: the trainer's
 * gate scores the serving model this way, and the prequential benchmark scores every published version on the
 * prefix it is evaluated on. "fit" only re-indexes the artifact's tables to the data's id space (users it does
 * not know get a cold-start vector from their items, see remapModel); scoring is full ranking by the shared
 * TowerInference, and items the artifact never saw score -Infinity (it cannot recommend them).
 */
export class ArtifactRecommender implements Recommender {
  private inference?: TowerInference;
  private knownItems?: Uint8Array;
  constructor(
    private readonly artifact: ModelArtifact,
    readonly name = 'artifact',
  ) {}
  async fit(data: Interactions): Promise<void> {
    const { artifact } = this;
    this.inference?.dispose();
    const remapped = remapModel(artifact.model, artifact.userIds, artifact.itemIds, data);
    this.inference = TowerInference.fromModel(remapped.model);
    this.knownItems = remapped.knownItems;
  }
  scoreUsers(users: Uint32Array, out: Float32Array): void {
    if (!this.inference || !this.knownItems) throw new Error(`${this.name}: fit before scoring`);
    this.inference.scoreUsers(users, out);
    const known = this.knownItems;
    const m = known.length;
    for (let b = 0; b < users.length; b++) {
      for (let i = 0; i < m; i++) if (known[i] === 0) out[b * m + i] = Number.NEGATIVE_INFINITY;
    }
  }
  dispose(): void {
    this.inference?.dispose();
    this.inference = undefined;
  }
}
