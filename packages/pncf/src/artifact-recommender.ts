import type { Interactions } from '@pncf/data';
import { excludedItems, excludeItems, type Recommender } from '@pncf/evaluation';
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
  /** Items of the data the artifact never saw: it cannot recommend them. */
  private unknownItems?: Uint32Array;
  constructor(
    private readonly artifact: ModelArtifact,
    readonly name = 'artifact',
  ) {}
  async fit(data: Interactions): Promise<void> {
    const { artifact } = this;
    this.inference?.dispose();
    const remapped = remapModel(artifact.model, artifact.userIds, artifact.itemIds, data);
    this.inference = TowerInference.fromModel(remapped.model);
    this.unknownItems = excludedItems(remapped.knownItems);
  }
  scoreUsers(users: Uint32Array, out: Float32Array): void {
    if (!this.inference || !this.unknownItems) throw new Error(`${this.name}: fit before scoring`);
    this.inference.scoreUsers(users, out);
    excludeItems(out, users.length, this.inference.numItems, this.unknownItems);
  }
  dispose(): void {
    this.inference?.dispose();
    this.inference = undefined;
  }
}
