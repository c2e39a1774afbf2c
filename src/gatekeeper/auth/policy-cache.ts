/**
 * Compiled consent, reused while it cannot have changed. A requester (requester.ts hands back the same
 * object for as long as the chain and the store give the same answer) compiles to the same policy
 * until the earliest expiry among its grants, so the policy and its SQL filter per resource type are
 * built once, not per request. The filter is the same object each time, which lets the read cache key
 * it cheaply.
 */
import type { Sql } from '../../records/sql.js';
import { compilePolicy, policyFilter, type ConsentPolicy, type Requester } from '../../consent/policy.js';

export interface PolicyCache {
  /** compilePolicy(requester, { now }) and its policyFilter for `type` (undefined: nothing readable). */
  filter(requester: Requester, type: string, now: number): { policy: ConsentPolicy; filter: Sql | undefined };
}

/** The first moment (unix seconds) after `now` at which one of the requester's grants expires. */
function nextExpiry(requester: Requester, now: number): number {
  if (requester.role !== 'viewer') return Infinity;
  let until = Infinity;
  for (const g of [...requester.grants, ...(requester.delegations ?? []), ...(requester.emergencies ?? [])]) if (g.expiresAt > now && g.expiresAt < until) until = g.expiresAt;
  return until;
}

export function createPolicyCache(): PolicyCache {
  const compiled = new WeakMap<Requester, { policy: ConsentPolicy; until: number; filters: Map<string, Sql | undefined> }>();
  return {
    filter(requester, type, now) {
      let entry = compiled.get(requester);
      // Same test as compilePolicy: a grant is live while expiresAt > now.
      if (!entry || now >= entry.until) {
        entry = { policy: compilePolicy(requester, { now }), until: nextExpiry(requester, now), filters: new Map() };
        compiled.set(requester, entry);
      }
      if (!entry.filters.has(type)) entry.filters.set(type, policyFilter(entry.policy, type));
      return { policy: entry.policy, filter: entry.filters.get(type) };
    },
  };
}
