/**
 * The HTTP side of backup among providers (replica.ts), registered on every gatekeeper:
 *
 * | request | who |
 * | --- | --- |
 * | `GET /replica/export/Patient/{address}?query={pointer query}[&consent=…]` | the source side: one pointer's whole result set, filtered like any search — or, with the patient's replication consent naming the requester and live grants covering the pointer, all of it, sensitive labels included |
 * | `GET /replica/{provider}/fhir/R4/{type}?{search}`, `…/{type}/{id}` | anyone, decided against `provider`'s relationships on chain |
 * | `POST /replica/{provider}/Patient/{address}/$sync` | this provider (body `{ "url": …, "consent": … }`: the source gatekeeper, the patient's signed replication consent), or the patient (`consent` only; the last URL) |
 * | `GET /replica/{provider}/audit` | a replicated patient: replica reads of their records here |
 *
 * A replica read is decided as the source would decide it: the requester is `provider` itself, the
 * patient, or a viewer with grants on the patient's relationship with `provider` — the same consent
 * compiler, the same SQL filter. It is then ANDed with the custodian's consent: this provider's own
 * live grants on that relationship, so a revoked replication grant stops serving on the next request.
 * Requests are signed for this gatekeeper, like every other route.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { getAddress, isAddress, zeroAddress, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { compilePolicy, explainDenial, policyFilter, type ConsentPolicy, type Requester } from '../../consent/policy.js';
import { parsePointerQuery, UnsafeQueryError } from '../../protocol/pointer-query.js';
import type { Db } from '../../records/db.js';
import { patientIdOfResource } from '../../records/extract.js';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import { MAX_COUNT } from '../../records/search.js';
import { and, sql, type Sql } from '../../records/sql.js';
import type { RecordStore } from '../../records/store.js';
import { auditPatientKey, auditTrail, createAuditWriter } from '../audit/audit.js';
import { createChainView, type ChainView } from '../chain/chain-view.js';
import { useNonce } from '../auth/nonces.js';
import { GatekeeperError, toOutcome } from '../http/outcomes.js';
import { replicaPatients, replicateFrom, scopeCovers, type Replica, type ReplicaSet } from './replica.js';
import { isReplicationConsent } from '../../protocol/replication-consent.js';
import { HEADERS, verifyRequest } from '../../protocol/request-signature.js';
import { patientIdOf, resolveRequester } from '../auth/requester.js';
import type { TokenIssuer } from '../auth/tokens.js';

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

/** What a handler knows so far, for the audit entry of its decision (permit or deny). */
interface Trail {
  address?: Address;
  source?: Address;
  patientId?: string;
}

type Handler = (req: FastifyRequest, trail: Trail & { address: Address }) => Promise<{ body: unknown; resources?: Resource[]; status?: number }>;

const now = () => Math.floor(Date.now() / 1000);

/** The SQL filter `policy` allows on `type`, or its refusal (410 when only expired grants cover it). */
function filterOf(policy: ConsentPolicy, type: string): Sql {
  const filter = policyFilter(policy, type);
  if (filter) return filter;
  const expired = policy.denials.find((d) => d.resourceType === type && d.expired);
  if (expired) throw new GatekeeperError(410, expired.reason);
  throw new GatekeeperError(403, explainDenial(policy, type) ?? `no grant covers ${type}`);
}

const searchset = (url: string, base: string, resources: Resource[], total: number): Bundle => ({
  resourceType: 'Bundle',
  type: 'searchset',
  total,
  link: [{ relation: 'self', url }],
  entry: resources.map((resource) => ({ fullUrl: `${base}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
});

export const replicaRoutes: FastifyPluginAsync<ReplicaRoutesOptions> = async (app, { db, store, chain, ledger, tokens, replicas }) => {
  const provider = chain.provider;
  const writeAudit = createAuditWriter(db);
  const views = new Map<string, ChainView>();
  /** A chain view of the source provider's relationships (grants are per provider). */
  const viewOf = (source: Address) => {
    let view = views.get(source.toLowerCase());
    if (!view) views.set(source.toLowerCase(), (view = createChainView(ledger, source)));
    return view;
  };
  app.addHook('onClose', async () => {
    for (const view of views.values()) view.close();
    await replicas.close();
  });

  /** Signature (for this gatekeeper) and fresh nonce, or a session token from this gatekeeper's login. */
  async function authenticate(req: FastifyRequest): Promise<Address> {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      const who = tokens.verify(auth.slice(7));
      if (!who) throw new GatekeeperError(401, 'session token is invalid or expired');
      return who;
    }
    const raw = (req.body as { raw?: string } | undefined)?.raw;
    const verified = await verifyRequest(req.headers, { method: req.method, path: req.url, body: raw, gatekeeper: provider, chainId: ledger.chainId });
    if (!(await useNonce(db, verified.address, verified.nonce, verified.expiry))) throw new GatekeeperError(401, 'replayed request (nonce already used)');
    return verified.address;
  }

  /** Authenticates, runs the handler, audits the decision, answers FHIR JSON (with the data hash). */
  function route(interaction: string, handler: Handler) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const trail: Trail = {};
      const audit = (d: { patientId?: string; permitted: boolean; status: number; reason?: string }) =>
        writeAudit({ requester: trail.address ?? zeroAddress, gatekeeper: provider, interaction, method: req.method, path: req.url, source: trail.source, ...d });
      try {
        trail.address = await authenticate(req);
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

  // ------------------------------------------------------------------ source side

  app.get('/replica/export/Patient/:patient', route('operation', async (req, trail) => {
    const { patient } = req.params as { patient: string };
    const { query, consent } = req.query as { query?: unknown; consent?: unknown };
    if (!isAddress(patient)) throw new GatekeeperError(400, 'the patient must be a chain address');
    if (typeof query !== 'string' || !(consent === undefined || typeof consent === 'string')) throw new GatekeeperError(400, 'give one query (and at most one consent)');
    let pointer;
    try {
      pointer = parsePointerQuery(query);
    } catch (err) {
      if (err instanceof UnsafeQueryError) throw new GatekeeperError(400, err.message);
      throw err;
    }
    const patientId = await patientIdOf(store, patient);
    if (!patientId) throw new GatekeeperError(404, `no patient here is linked to ${patient}`);
    trail.patientId = patientId;
    const { requester } = await resolveRequester(store, chain, trail.address);
    const policy = compilePolicy(requester, { now: now() });
    if (consent !== undefined) {
      // The custodian the patient named gets the whole pointer, labels included — but only a pointer
      // its live grants cover in full (the grants are what the patient can revoke).
      const fields = { patient, source: provider, replica: trail.address, chainId: ledger.chainId, contract: ledger.contract };
      if (!(await isReplicationConsent(consent, fields))) throw new GatekeeperError(403, `the replication consent is not ${patient}'s signature naming ${trail.address} as the replica`);
      const covered = requester.role === 'viewer' && requester.grants.some((g) => g.patientId === patientId && (g.expiresAt === 0 || g.expiresAt > now()) && scopeCovers(g.scope, query));
      if (!covered) throw new GatekeeperError(403, `${trail.address} holds no live grant covering "${query}"`);
    }
    // The pointer's result set (store.resultSet), narrowed by what the requester may read.
    const filter = and([
      consent !== undefined ? sql`resource_type = ${pointer.resourceType}` : filterOf(policy, pointer.resourceType),
      sql`patient_id = ${patientId}`,
      ...(pointer.categories.length ? [sql`categories && ${pointer.categories}::text[]`] : []),
    ]);
    const resources: Resource[] = [];
    for (let total = Infinity; resources.length < total; ) {
      const page = await store.search(pointer.resourceType, `_count=${MAX_COUNT}&_offset=${resources.length}&_sort=_id`, { filter });
      total = page.total;
      resources.push(...page.resources);
      if (page.resources.length === 0) break;
    }
    return { body: searchset(req.url, '/fhir/R4', resources, resources.length), resources };
  }));

  // ------------------------------------------------------------------ replica side

  /** The replica of `param`'s records, or 404. */
  async function replicaOf(param: string): Promise<Replica> {
    const replica = isAddress(param) ? await replicas.open(param) : undefined;
    if (!replica) throw new GatekeeperError(404, `this gatekeeper holds no replica of ${param}`);
    return replica;
  }

  /**
   * Who is asking, in the source's terms: the source itself, a replicated patient, or a viewer whose
   * grants on the source's relationships name replicated patients; and the custodian (this provider),
   * whose grants are the patients' consent to the copy.
   */
  async function decide(replica: Replica, address: Address, trail: Trail) {
    const view = viewOf(replica.source);
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

  app.get('/replica/:provider/fhir/R4/:type', route('search-type', async (req, trail) => {
    const { provider: source, type } = req.params as { provider: string; type: string };
    const replica = await replicaOf(source);
    trail.source = replica.source;
    const filterFor = await decide(replica, trail.address, trail);
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const { resources, total } = await replica.store.search(type, query, { filter: filterFor(type) });
    return { body: searchset(req.url, base(replica.source), resources, total), resources };
  }));

  app.get('/replica/:provider/fhir/R4/:type/:id', route('read', async (req, trail) => {
    const { provider: source, type, id } = req.params as { provider: string; type: string; id: string };
    const replica = await replicaOf(source);
    trail.source = replica.source;
    const filterFor = await decide(replica, trail.address, trail);
    const { resources } = await replica.store.search(type, `_id=${encodeURIComponent(id)}`, { filter: filterFor(type) });
    if (resources[0]) return { body: resources[0], resources: [resources[0]] };
    await replica.store.read(type, id); // 404 or 410 when there is nothing to be refused
    throw new GatekeeperError(403, `not granted: ${type}/${id}`);
  }));

  app.post('/replica/:provider/Patient/:patient/$sync', route('operation', async (req, trail) => {
    const { provider: source, patient } = req.params as { provider: string; patient: string };
    if (!isAddress(source) || !isAddress(patient)) throw new GatekeeperError(400, 'provider and patient must be chain addresses');
    trail.source = getAddress(source);
    const isProvider = trail.address.toLowerCase() === provider.toLowerCase();
    if (!isProvider && trail.address.toLowerCase() !== patient.toLowerCase()) throw new GatekeeperError(403, '$sync is for the patient and this provider');
    const { url, consent } = (req.body as { json?: { url?: unknown; consent?: unknown } } | undefined)?.json ?? {};
    if (consent !== undefined && (typeof consent !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(consent))) throw new GatekeeperError(400, 'consent must be a 65-byte hex signature');
    // Only the provider names where to fetch from: a patient must not point this server at any URL.
    if (url !== undefined && (!isProvider || typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url))) {
      throw new GatekeeperError(isProvider ? 400 : 403, isProvider ? 'url must be an http(s) URL' : 'only the provider sets the source URL');
    }
    const known = await replicas.open(source);
    const previous = known ? (await replicaPatients(known)).get(patient.toLowerCase()) : undefined;
    trail.patientId = previous?.patientId;
    const sourceUrl = (url as string | undefined) ?? previous?.sourceUrl;
    if (!sourceUrl) throw new GatekeeperError(400, `no source URL is known for ${source}: the provider's first $sync names it ({ "url": … })`);
    const result = await replicateFrom({ replicas, ledger, sourceUrl, source, patient, consent: consent as Hex | undefined });
    trail.patientId = result.patientId;
    return { body: result };
  }));

  app.get('/replica/:provider/audit', route('search-type', async (req, trail) => {
    const replica = await replicaOf((req.params as { provider: string }).provider);
    trail.source = replica.source;
    const patientId = (await replicaPatients(replica)).get(trail.address.toLowerCase())?.patientId;
    if (!patientId) throw new GatekeeperError(403, 'only a replicated patient has a replica audit trail here');
    trail.patientId = patientId;
    return { body: { provider, source: replica.source, entries: await auditTrail(db, auditPatientKey(patientId, replica.source)!) } };
  }));
};
