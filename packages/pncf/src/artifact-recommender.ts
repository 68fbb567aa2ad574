import { type Interactions, mapIds, selectRows } from '@pncf/data';
import { excludedItems, excludeItems, type Recommender } from '@pncf/evaluation';
import type { ModelArtifact } from './artifact.js';
import { isHistoryModel } from './fit.js';
import { HistoryInference } from './history-inference.js';
import type { HistoryModel } from './history-model.js';
import { type ItemRows, TowerInference } from './inference.js';
import { historiesInModelSpace, remapModel } from './remap.js';

/** A history model on the data's id spaces: what scoreUsers needs per block of data users. */
interface HistoryOnData {
  inference: HistoryInference;
  /** Per data user: the model's index of that user, or NO_USER (-1). */
  modelUser: Int32Array;
  /** Per data user: their items in `data` as model item indices, with counts (items the model does not know left out). */
  history: ItemRows & { counts: Uint32Array };
  /** Per data item: the model's index of that item, or -1 (never recommended). */
  modelItem: Int32Array;
}

/**
 * A published model (artifact) scored on another id space, e.g. a newer snapshot of the store: the trainer's
 * gate scores the serving model this way, and the prequential benchmark scores every published version on the
 * prefix it is evaluated on. Items the artifact never saw score -Infinity (it cannot recommend them).
 *
 * A tower: "fit" re-indexes the artifact's tables to the data's id space (users it does not know get a
 * cold-start vector from their items, see remapModel); scoring is full ranking by the shared TowerInference.
 *
 * A history model (PNCF+): "fit" maps the data's users to the model's by id (unknown ones have no trained vector,
 * NO_USER) and each user's items in `data` to the model's items (items it does not know are left out of the
 * history); scoring is HistoryInference over the model's items, placed in the data's item space.
 */
export class ArtifactRecommender implements Recommender {
  private inference?: TowerInference;
  /** Items of the data the artifact never saw: it cannot recommend them. */
  private unknownItems?: Uint32Array;
  private history?: HistoryOnData;
  /** Scratch for a block's scores over the model's items (history models). */
  private modelScores = new Float32Array(0);
  constructor(
    private readonly artifact: ModelArtifact,
    readonly name = 'artifact',
  ) {}
  async fit(data: Interactions): Promise<void> {
    const { artifact } = this;
    this.dispose();
    if (isHistoryModel(artifact.model)) {
      this.history = historyOnData(artifact.model, artifact.userIds, artifact.itemIds, data);
      return;
    }
    const remapped = remapModel(artifact.model, artifact.userIds, artifact.itemIds, data);
    this.inference = TowerInference.fromModel(remapped.model);
    this.unknownItems = excludedItems(remapped.knownItems);
  }
  scoreUsers(users: Uint32Array, out: Float32Array): void {
    if (this.history) {
      this.scoreHistory(this.history, users, out);
      return;
    }
    if (!this.inference || !this.unknownItems) throw new Error(`${this.name}: fit before scoring`);
    this.inference.scoreUsers(users, out);
    excludeItems(out, users.length, this.inference.numItems, this.unknownItems);
  }
  dispose(): void {
    this.inference?.dispose();
    this.inference = undefined;
    this.unknownItems = undefined;
    this.history?.inference.dispose();
    this.history = undefined;
  }

  private scoreHistory(h: HistoryOnData, users: Uint32Array, out: Float32Array): void {
    const { inference, modelItem } = h;
    const m = modelItem.length;
    const mm = inference.numItems;
    const modelUsers = Int32Array.from(users, (u) => h.modelUser[u]!);
    const vectors = inference.userVectors(modelUsers, selectRows(h.history, users));
    if (this.modelScores.length < users.length * mm) this.modelScores = new Float32Array(users.length * mm);
    const scores = this.modelScores;
    inference.scoreVectors(vectors, scores);
    for (let b = 0; b < users.length; b++) {
      const at = b * m;
      const from = b * mm;
      for (let i = 0; i < m; i++) {
        const j = modelItem[i]!;
        out[at + i] = j >= 0 ? scores[from + j]! : Number.NEGATIVE_INFINITY;
      }
    }
  }
}

function historyOnData(model: HistoryModel, userIds: string[], itemIds: string[], data: Interactions): HistoryOnData {
  return {
    inference: new HistoryInference(model),
    // mapIds' -1 for an id the model does not know is NO_USER.
    modelUser: mapIds(data.userIds, userIds),
    history: historiesInModelSpace(data, itemIds),
    modelItem: mapIds(data.itemIds, itemIds),
  };
}
