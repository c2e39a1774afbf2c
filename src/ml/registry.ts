/**
 * The models a running system serves: each with its card and the document a reader needs to run it
 * where the data is (parameters for the browser or the CLI). Filled at start (src/manager/system.ts),
 * read by the manager's `/api/ml/models` routes. Browser-safe.
 */
import type { ModelCard } from './card.js';

export interface ServedModel {
  card: ModelCard;
  /** What `GET /api/ml/models/{id}` returns (card included); undefined when the model runs only on the server. */
  document?: unknown;
}

export class ModelRegistry {
  readonly #models = new Map<string, ServedModel>();

  add(model: ServedModel): void {
    if (this.#models.has(model.card.id)) throw new Error(`model ${model.card.id} is already served`);
    this.#models.set(model.card.id, model);
  }

  get(id: string): ServedModel | undefined {
    return this.#models.get(id);
  }

  list(): ModelCard[] {
    return [...this.#models.values()].map((m) => m.card);
  }
}
