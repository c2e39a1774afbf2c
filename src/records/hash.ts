/**
 * The data hash a pointer carries on chain: keccak256 over the canonical JSON of the resources its
 * query returns.
 *
 * Canonical form (documented in the README):
 * - each resource with `meta.versionId`, `meta.lastUpdated` and `meta.source` removed (they are
 *   assigned by the store, so a verified copy at another provider hashes the same), and an emptied
 *   `meta` dropped; security labels and tags stay, they change who may read;
 * - resources ordered by resourceType, then id (code-unit order);
 * - JSON with object keys sorted by code unit, no whitespace, numbers as JSON.stringify writes them
 *   (the RFC 8785 rules for the values FHIR uses);
 * - the array of resources is hashed as UTF-8; an empty result is `[]`, so its hash is not zero.
 */
import { keccak256, stringToBytes, type Hex } from 'viem';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Serialises `value` with sorted keys and no whitespace. `undefined` members are dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number in JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, Json>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface ResourceLike {
  resourceType: string;
  id?: string;
  meta?: Record<string, unknown>;
  [key: string]: unknown;
}

const STORE_META = ['versionId', 'lastUpdated', 'source'];

function withoutStoreMeta(resource: ResourceLike): ResourceLike {
  if (!resource.meta) return resource;
  const meta = Object.fromEntries(Object.entries(resource.meta).filter(([k]) => !STORE_META.includes(k)));
  const { meta: _dropped, ...rest } = resource;
  return Object.keys(meta).length > 0 ? { ...rest, meta } : rest;
}

function order(a: ResourceLike, b: ResourceLike): number {
  const ka = `${a.resourceType}\u0000${a.id ?? ''}`;
  const kb = `${b.resourceType}\u0000${b.id ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The canonical JSON text of a result set. */
export function canonicalResultSet(resources: readonly ResourceLike[]): string {
  return canonicalJson([...resources].map(withoutStoreMeta).sort(order));
}

/** keccak256 of the canonical result set: the value stored in a pointer. */
export function hashResultSet(resources: readonly ResourceLike[]): Hex {
  return keccak256(stringToBytes(canonicalResultSet(resources)));
}
