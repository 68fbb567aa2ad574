import type { Interactions } from '@pncf/data';
import type { Recommender } from '../model.js';

/** Popularity: every user gets the items ranked by how many train users have them (distinct pairs). */
export class MostPop implements Recommender {
  readonly name = 'MostPop';
  private popularity = new Float32Array(0);

  async fit(train: Interactions): Promise<void> {
    const { byItem } = train;
    this.popularity = new Float32Array(byItem.rows);
    for (let i = 0; i < byItem.rows; i++) this.popularity[i] = byItem.indptr[i + 1]! - byItem.indptr[i]!;
  }

  scoreUsers(users: Uint32Array, out: Float32Array): void {
    const n = this.popularity.length;
    for (let b = 0; b < users.length; b++) out.set(this.popularity, b * n);
  }
}
