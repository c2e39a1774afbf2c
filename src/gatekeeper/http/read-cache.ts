/**
 * Repeated identical reads answered from memory. A high-rate client (a session token polling the same
 * search) would otherwise cost a database query, a canonical hash and a JSON serialisation each time.
 *
 * An entry is keyed by the resource type, the search and the compiled consent filter (its SQL text
 * and values): consent is still decided per request, and two requesters share an entry only when their
 * filters are identical. It is dropped by any write through the store (`RecordStore.generation`), and
 * lives at most `maxAgeMs` so that writes by anything else to the same database (another process,
 * an administrator) show within that time. Callers still audit every read.
 *
 * Cached resources are shared between requests: callers must not modify them.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import { render, type Sql } from '../../records/sql.js';
import type { RecordStore } from '../../records/store.js';

export interface CachedSearch {
  resources: Resource[];
  /** Every match, not only this page (store.search). */
  total: number;
  /** hashResultSet of `resources`, computed once. */
  readonly dataHash: Hex;
  /** JSON.stringify of each resource, computed once. */
  readonly json: readonly string[];
}

export interface ReadCache {
  /** store.search(type, query, { filter }), from memory when nothing can have changed it. */
  search(type: string, query: string, filter: Sql): Promise<CachedSearch>;
}

function cached(resources: Resource[], total: number): CachedSearch {
  let dataHash: Hex | undefined;
  let json: string[] | undefined;
  return {
    resources,
    total,
    get dataHash() {
      return (dataHash ??= hashResultSet(resources as ResourceLike[]));
    },
    get json() {
      return (json ??= resources.map((r) => JSON.stringify(r)));
    },
  };
}

export function createReadCache(store: RecordStore, options: { maxEntries?: number; maxAgeMs?: number } = {}): ReadCache {
  const maxEntries = options.maxEntries ?? 1024;
  const maxAgeMs = options.maxAgeMs ?? 1000;
  const entries = new Map<string, { at: number; value: Promise<CachedSearch> }>();
  let generation = store.generation;
  // Filters come back as the same object while consent is unchanged (policy-cache.ts): render each once.
  const rendered = new WeakMap<Sql, string>();
  const keyOf = (filter: Sql) => {
    let text = rendered.get(filter);
    if (text === undefined) rendered.set(filter, (text = JSON.stringify(render(filter))));
    return text;
  };
  return {
    search(type, query, filter) {
      // A write since the entries were read: they may all be wrong. (A search still running when the
      // write lands was stored under the old generation, so it is dropped here too.)
      if (store.generation !== generation) {
        entries.clear();
        generation = store.generation;
      }
      const key = JSON.stringify(type) + JSON.stringify(query) + keyOf(filter); // each part self-delimiting
      const now = performance.now();
      const hit = entries.get(key);
      if (hit && now - hit.at <= maxAgeMs) return hit.value;
      // Concurrent identical reads share this one query.
      const value = store.search(type, query, { filter }).then(({ resources, total }) => cached(resources, total));
      entries.delete(key);
      entries.set(key, { at: now, value });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      value.catch(() => {
        if (entries.get(key)?.value === value) entries.delete(key);
      });
      return value;
    },
  };
}
