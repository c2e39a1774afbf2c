/**
 * Reads of a replica: `GET /replica/{provider}/fhir/R4/{type}?{search}` and `…/{type}/{id}`,
 * decided as the source would decide them. The requester is `provider` itself, the patient, or a
 * viewer with grants on the patient's relationship with `provider` — the same consent compiler, the
 * same SQL filter — ANDed with the custodian's consent: this provider's own live grants on that
 * relationship, so a revoked replication grant stops serving on the next request.
 */
import { isAddress, type Address } from 'viem';
import { compilePolicy, policyFilter, type Requester } from '../../consent/policy.js';
import { and, type Sql } from '../../records/sql.js';
import { GatekeeperError } from '../http/outcomes.js';
import { replicaPatients, type Replica } from './replica.js';
import { filterOf, now, searchset, type Handler, type ReplicaContext, type Trail } from './replica-handler.js';

/** The replica of `param`'s records, or 404. */
export async function replicaOf({ replicas }: ReplicaContext, param: string): Promise<Replica> {
  const replica = isAddress(param) ? await replicas.open(param) : undefined;
  if (!replica) throw new GatekeeperError(404, `this gatekeeper holds no replica of ${param}`);
  return replica;
}

/**
 * Who is asking, in the source's terms: the source itself, a replicated patient, or a viewer whose
 * grants on the source's relationships name replicated patients; and the custodian (this provider),
 * whose grants are the patients' consent to the copy. Returns the filter for each resource type.
 */
async function decide(ctx: ReplicaContext, replica: Replica, address: Address, trail: Trail): Promise<(type: string) => Sql> {
  const { provider } = ctx;
  const view = ctx.viewOf(replica.source);
  const patients = await replicaPatients(replica);
  const localGrants = async (viewer: Address) =>
    (await view.grantsOf(viewer)).flatMap((g) => {
      const patientId = patients.get(g.patient.toLowerCase())?.patientId;
      return patientId ? [{ patientId, scope: g.scope, expiresAt: g.expiresAt }] : [];
    });
  const own = patients.get(address.toLowerCase());
  let requester: Requester;
  if (address.toLowerCase() === replica.source.toLowerCase()) requester = { role: 'provider' };
  else if (own) requester = { role: 'patient', patientId: own.patientId ?? '' };
  else requester = { role: 'viewer', grants: await localGrants(address) };
  trail.patientId = own?.patientId;
  // This provider's grants decide what it may keep, not what it may read: no label exclusion here
  // (the requester's own policy still hides sensitive records from third parties).
  const kept = compilePolicy({ role: 'viewer', grants: await localGrants(provider) }, { now: now() });
  const custodian = { ...kept, resource: kept.resource.map((r) => ({ ...r, excludeSecurity: [] })) };
  const policy = compilePolicy(requester, { now: now() });
  return (type: string): Sql => {
    const consent = policyFilter(custodian, type);
    if (!consent) throw new GatekeeperError(403, `${type}: no patient consents (any more) to ${provider} keeping a copy of it from ${replica.source}`);
    return and([filterOf(policy, type), consent]);
  };
}

const base = (source: Address) => `/replica/${source.toLowerCase()}/fhir/R4`;

export function replicaSearch(ctx: ReplicaContext): Handler {
  return async (req, trail) => {
    const { provider: source, type } = req.params as { provider: string; type: string };
    const replica = await replicaOf(ctx, source);
    trail.source = replica.source;
    const filterFor = await decide(ctx, replica, trail.address, trail);
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const { resources, total } = await replica.store.search(type, query, { filter: filterFor(type) });
    return { body: searchset(req.url, base(replica.source), resources, total), resources };
  };
}

export function replicaRead(ctx: ReplicaContext): Handler {
  return async (req, trail) => {
    const { provider: source, type, id } = req.params as { provider: string; type: string; id: string };
    const replica = await replicaOf(ctx, source);
    trail.source = replica.source;
    const filterFor = await decide(ctx, replica, trail.address, trail);
    const { resources } = await replica.store.search(type, `_id=${encodeURIComponent(id)}`, { filter: filterFor(type) });
    if (resources[0]) return { body: resources[0], resources: [resources[0]] };
    await replica.store.read(type, id); // 404 or 410 when there is nothing to be refused
    throw new GatekeeperError(403, `not granted: ${type}/${id}`);
  };
}
