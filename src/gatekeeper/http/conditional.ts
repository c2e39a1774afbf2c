/**
 * Conditional interactions (https://hl7.org/fhir/R4/http.html#cond-update, #ccreate, #cdelete) and
 * conditional references in transactions (http.html#trules): a search stands for the resource.
 * One match is that resource; several are a 412 (the client's criteria are not selective enough);
 * none is up to the interaction.
 */
import type { Identifier, Resource } from '@medplum/fhirtypes';
import { identifierTokens } from '../../records/extract.js';
import type { RecordStore } from '../../records/store.js';
import { GatekeeperError } from './outcomes.js';

/** The one resource of `type` that `query` finds, undefined for none; 412 when it finds several. */
export async function singleMatch(store: RecordStore, type: string, query: string): Promise<Resource | undefined> {
  const { resources, total } = await store.search(type, query);
  if (total > 1) throw new GatekeeperError(412, `${type}?${query.slice(0, 120)} matches ${total} resources; the condition must match at most one`);
  return resources[0];
}

/** The query of a conditional request URL (`/fhir/R4/Patient?identifier=x|y` → `identifier=x|y`); 400 when it has none. */
export function conditionOf(url: string, what: string): string {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  if (!query) throw new GatekeeperError(400, `a conditional ${what} needs search parameters`);
  return query;
}

/**
 * Many conditions at once, as a transaction has them (Synthea: a conditional create of each
 * Practitioner, Organization and Location, and conditional references to them): the plain
 * `identifier=system|value` ones are looked up together, one query per type (the same token test
 * search.ts makes for `identifier`); any other condition is an ordinary search.
 */
export class ConditionLookup {
  private readonly found = new Map<string, Resource[]>();

  constructor(private readonly store: RecordStore) {}

  /** Looks every `identifier=…` condition of `conditions` up now. */
  async prefetch(conditions: Iterable<{ type: string; query: string }>): Promise<void> {
    const byType = new Map<string, Set<string>>();
    for (const { type, query } of conditions) {
      const token = plainIdentifier(query);
      if (token && !this.found.has(`${type}?identifier=${token}`)) byType.set(type, (byType.get(type) ?? new Set()).add(token));
    }
    for (const [type, tokens] of byType) {
      const rows = await this.store.withIdentifiers(type, [...tokens]);
      const tokensOf = new Map(rows.map((r) => [r, identifierTokens((r as { identifier?: Identifier[] }).identifier)]));
      for (const token of tokens) this.found.set(`${type}?identifier=${token}`, rows.filter((r) => tokensOf.get(r)!.includes(token)));
    }
  }

  /** The resources `query` finds (as store.search, first page), from the prefetch when it has them. */
  async search(type: string, query: string): Promise<{ resources: Resource[]; total: number }> {
    const known = plainIdentifier(query) ? this.found.get(`${type}?identifier=${plainIdentifier(query)}`) : undefined;
    return known ? { resources: known, total: known.length } : this.store.search(type, query);
  }

  /** singleMatch through the lookup. */
  async single(type: string, query: string): Promise<Resource | undefined> {
    const { resources, total } = await this.search(type, query);
    if (total > 1) throw new GatekeeperError(412, `${type}?${query.slice(0, 120)} matches ${total} resources; the condition must match at most one`);
    return resources[0];
  }
}

/** The token of a query that is exactly `identifier=system|value` (or `identifier=value`), else undefined. */
function plainIdentifier(query: string): string | undefined {
  const params = [...new URLSearchParams(query)];
  if (params.length !== 1 || params[0]![0] !== 'identifier') return undefined;
  const value = params[0]![1];
  const parts = value.split('|');
  return value && !value.includes(',') && parts.length <= 2 && parts.at(-1) !== '' ? value : undefined;
}
