/**
 * What every replica route shares: the gatekeeper's context, and the wrapper that authenticates the
 * request like every other route (auth/authenticate.ts: a signature for this gatekeeper with a fresh
 * nonce, or a session token), audits each decision and answers FHIR JSON with the data hash of what
 * it served.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { zeroAddress, type Address } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { policyFilter, type ConsentPolicy } from '../../consent/policy.js';
import type { Db } from '../../records/db.js';
import { patientIdOfResource } from '../../records/extract.js';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import type { Sql } from '../../records/sql.js';
import type { RecordStore } from '../../records/store.js';
import { HEADERS } from '../../protocol/request-signature.js';
import type { createAuditWriter } from '../audit/audit.js';
import type { ChainView } from '../chain/chain-view.js';
import { authenticatedAddress } from '../auth/authenticate.js';
import type { TokenIssuer } from '../auth/tokens.js';
import { toOutcome, typeRefusal } from '../http/outcomes.js';
import type { ReplicaSet } from './replica.js';

export interface ReplicaRoutesOptions {
  /** This gatekeeper's own database (nonces, audit log). */
  db: Db;
  /** This provider's own store: what it exports to the providers replicating it. */
  store: RecordStore;
  /** This provider's own chain view. */
  chain: ChainView;
  ledger: LedgerClient;
  tokens: TokenIssuer;
  replicas: ReplicaSet;
}

/** The options, plus what the routes derive from them once. */
export interface ReplicaContext extends ReplicaRoutesOptions {
  /** This provider: the custodian of the replicas it holds. */
  provider: Address;
  writeAudit: ReturnType<typeof createAuditWriter>;
  /** A chain view of a source provider's relationships (grants are per provider). */
  viewOf(source: Address): ChainView;
}

/** What a handler knows so far, for the audit entry of its decision (permit or deny). */
export interface Trail {
  address?: Address;
  source?: Address;
  patientId?: string;
}

export type Handler = (req: FastifyRequest, trail: Trail & { address: Address }) => Promise<{ body: unknown; resources?: Resource[]; status?: number }>;

export const now = (): number => Math.floor(Date.now() / 1000);

/** The SQL filter `policy` allows on `type`, or its refusal (410 when only expired grants cover it). */
export function filterOf(policy: ConsentPolicy, type: string): Sql {
  const filter = policyFilter(policy, type);
  if (filter) return filter;
  throw typeRefusal(policy, type);
}

export const searchset = (url: string, base: string, resources: Resource[], total: number): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total,
  link: [{ relation: 'self', url }],
  entry: resources.map((resource) => ({ fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
});

/** Authenticates, runs the handler, audits the decision, answers FHIR JSON (with the data hash). */
export function route(ctx: ReplicaContext, interaction: string, handler: Handler) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const trail: Trail = {};
    const audit = (d: { patientId?: string; permitted: boolean; status: number; reason?: string }) =>
      ctx.writeAudit({ requester: trail.address ?? zeroAddress, gatekeeper: ctx.provider, interaction, method: req.method, path: req.url, source: trail.source, ...d });
    try {
      trail.address = await authenticatedAddress(req, ctx);
      const result = await handler(req, trail as Trail & { address: Address });
      const status = result.status ?? 200;
      const patients = new Set((result.resources ?? []).map((r) => patientIdOfResource(r)).filter((p): p is string => !!p));
      if (patients.size === 0) patients.add(trail.patientId ?? '');
      await Promise.all([...patients].map((patientId) => audit({ patientId: patientId || undefined, permitted: true, status })));
      if (result.resources) reply.header(HEADERS.dataHash, hashResultSet(result.resources as ResourceLike[]));
      return reply.code(status).type('application/fhir+json').send(result.body);
    } catch (err) {
      const { status, body } = toOutcome(err);
      await audit({ patientId: trail.patientId, permitted: false, status, reason: body.issue?.[0]?.diagnostics }).catch(() => undefined);
      return reply.code(status).type('application/fhir+json').send(body);
    }
  };
}
