/**
 * The source side of replication: `GET /replica/export/Patient/{address}?query=…[&consent=…]` hands
 * one pointer's whole result set to a requester, filtered like any search — or, with the patient's
 * replication consent naming the requester and live grants covering the pointer, all of it,
 * sensitive labels included.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isAddress, type Address } from 'viem';
import { compilePolicy, type Requester } from '../../consent/policy.js';
import { isReplicationConsent } from '../../protocol/replication-consent.js';
import { parsePointerQuery, UnsafeQueryError, type PointerQuery } from '../../protocol/pointer-query.js';
import { MAX_COUNT, pointerFilter } from '../../records/search.js';
import { and, type Sql } from '../../records/sql.js';
import { patientIdOf, resolveRequester } from '../auth/requester.js';
import { GatekeeperError } from '../http/outcomes.js';
import { scopeCovers } from './replica.js';
import { filterOf, now, searchset, type Handler, type ReplicaContext } from './replica-handler.js';

export function exportPointer(ctx: ReplicaContext): Handler {
  const { store, chain } = ctx;
  return async (req, trail) => {
    const { patient } = req.params as { patient: string };
    const { query, consent } = req.query as { query?: unknown; consent?: unknown };
    if (!isAddress(patient)) throw new GatekeeperError(400, 'the patient must be a chain address');
    if (typeof query !== 'string' || !(consent === undefined || typeof consent === 'string')) throw new GatekeeperError(400, 'give one query (and at most one consent)');
    const pointer = parsePointer(query);
    const patientId = await patientIdOf(store, patient);
    if (!patientId) throw new GatekeeperError(404, `no patient here is linked to ${patient}`);
    trail.patientId = patientId;
    const { requester } = await resolveRequester(store, chain, trail.address);
    if (consent !== undefined) await checkReplicationConsent(ctx, { consent, patient, patientId, replica: trail.address, requester, query });
    // The pointer's result set (store.resultSet), narrowed by what the requester may read.
    const pointerRows = pointerFilter(pointer, patientId);
    const filter = consent !== undefined ? pointerRows : and([filterOf(compilePolicy(requester, { now: now() }), pointer.resourceType), pointerRows]);
    const resources = await everyPage(ctx, pointer, filter);
    return { body: searchset(req.url, '/fhir/R4', resources, resources.length), resources };
  };
}

function parsePointer(query: string): PointerQuery {
  try {
    return parsePointerQuery(query);
  } catch (err) {
    if (err instanceof UnsafeQueryError) throw new GatekeeperError(400, err.message);
    throw err;
  }
}

/**
 * The custodian the patient named gets the whole pointer, labels included — but only a pointer its
 * live grants cover in full (the grants are what the patient can revoke).
 */
async function checkReplicationConsent(
  { provider, ledger }: ReplicaContext,
  { consent, patient, patientId, replica, requester, query }: { consent: string; patient: Address; patientId: string; replica: Address; requester: Requester; query: string },
): Promise<void> {
  const fields = { patient, source: provider, replica, chainId: ledger.chainId, contract: ledger.contract };
  if (!(await isReplicationConsent(consent, fields))) throw new GatekeeperError(403, `the replication consent is not ${patient}'s signature naming ${replica} as the replica`);
  const covered = requester.role === 'viewer' && requester.grants.some((g) => g.patientId === patientId && (g.expiresAt === 0 || g.expiresAt > now()) && scopeCovers(g.scope, query));
  if (!covered) throw new GatekeeperError(403, `${replica} holds no live grant covering "${query}"`);
}

async function everyPage({ store }: ReplicaContext, pointer: PointerQuery, filter: Sql): Promise<Resource[]> {
  const resources: Resource[] = [];
  for (let total = Infinity; resources.length < total; ) {
    const page = await store.search(pointer.resourceType, `_count=${MAX_COUNT}&_offset=${resources.length}&_sort=_id`, { filter });
    total = page.total;
    resources.push(...page.resources);
    if (page.resources.length === 0) break;
  }
  return resources;
}
