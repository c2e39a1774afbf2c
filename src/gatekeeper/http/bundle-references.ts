/**
 * References inside a transaction Bundle (https://hl7.org/fhir/R4/http.html#trules):
 * - a reference to another entry's fullUrl (`urn:uuid:…`, or the entry's own URL) becomes that
 *   entry's `Type/id` once the server has chosen it; a `urn:` reference to no entry is a 400;
 * - a conditional reference (`Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999974592`, as
 *   Synthea writes them) becomes the one resource its search finds — in the store or among the
 *   Bundle's own new and updated resources (matched with Medplum's search matcher). No match is a
 *   400, several a 412, and the transaction fails either way.
 */
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { ConditionLookup } from './conditional.js';
import { GatekeeperError } from './outcomes.js';

const CONDITIONAL = /^([A-Z][A-Za-z]{1,63})\?(.+)$/;

export class ReferenceRewriter {
  private readonly resolved = new Map<string, string>();

  /**
   * `targets`: fullUrl → `Type/id` of every entry that writes a resource; `pending`: the resources
   * this Bundle creates or updates (ids assigned), which conditional references may also find.
   */
  constructor(
    private readonly lookup: ConditionLookup,
    targets: ReadonlyMap<string, string>,
    private readonly pending: readonly Resource[],
  ) {
    for (const [fullUrl, target] of targets) this.resolved.set(fullUrl, target);
  }

  /** Looks the store up for every conditional reference of `resources` at once (conditional.ts). */
  async prefetch(resources: readonly Resource[]): Promise<void> {
    const references = new Set<string>();
    for (const r of resources) collect(r, references);
    const conditions = [...references].flatMap((ref) => {
      const m = CONDITIONAL.exec(ref);
      return m && !this.resolved.has(ref) ? [{ type: m[1]!, query: m[2]! }] : [];
    });
    await this.lookup.prefetch(conditions);
  }

  /** A copy of `resource` with every `reference` rewritten. */
  async rewrite<T extends Resource>(resource: T): Promise<T> {
    const references = new Set<string>();
    collect(resource, references);
    for (const reference of references) if (!this.resolved.has(reference)) await this.resolve(reference);
    return replace(resource, this.resolved) as T;
  }

  private async resolve(reference: string): Promise<void> {
    if (/^urn:(?:uuid|oid):/.test(reference)) throw new GatekeeperError(400, `reference ${JSON.stringify(reference.slice(0, 80))} names no entry of this Bundle`);
    const conditional = CONDITIONAL.exec(reference);
    if (!conditional) return; // a plain reference stays as it is
    const [, type, query] = conditional as unknown as [string, string, string];
    const matches = new Set<string>();
    const { resources, total } = await this.lookup.search(type, query);
    if (total > resources.length) throw several(reference, total);
    for (const r of resources) matches.add(`${type}/${r.id}`);
    const search = parseSearchRequest(reference);
    for (const r of this.pending) {
      if (r.resourceType !== type) continue;
      // The Bundle's version of a resource replaces the store's: it is what the reference will point at.
      if (matchesSearchRequest(r, search)) matches.add(`${type}/${r.id}`);
      else matches.delete(`${type}/${r.id}`);
    }
    if (matches.size > 1) throw several(reference, matches.size);
    const [target] = matches;
    if (!target) throw new GatekeeperError(400, `conditional reference ${JSON.stringify(reference.slice(0, 120))} matches no resource`);
    this.resolved.set(reference, target);
  }
}

function several(reference: string, count: number): GatekeeperError {
  return new GatekeeperError(412, `conditional reference ${JSON.stringify(reference.slice(0, 120))} matches ${count} resources; it must match exactly one`);
}

/** Every `reference` string anywhere in `value`. */
function collect(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') into.add(v);
      else collect(v, into);
    }
  }
}

/** A copy of `value` with each `reference` found in `map` replaced. */
function replace(value: unknown, map: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => replace(v, map));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = key === 'reference' && typeof v === 'string' ? (map.get(v) ?? v) : replace(v, map);
  return out;
}
