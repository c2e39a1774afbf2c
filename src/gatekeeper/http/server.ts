/**
 * The Database Gatekeeper: a FHIR R4 REST façade (https://hl7.org/fhir/R4/http.html) over one
 * provider's store. Every request is signed (or carries a session token from a signed login); the
 * requester's access is read from the chain, compiled into a SQL filter, and ANDed into the query —
 * nothing outside the grant is ever read. Every decision, permit or deny, is audited.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { zeroAddress, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { explainDenial, type Requester } from '../../consent/policy.js';
import type { Db } from '../../records/db.js';
import { hashResultSet, type ResourceLike } from '../../records/hash.js';
import type { RecordStore } from '../../records/store.js';
import { auditTrail, createAuditWriter, type Decision } from '../audit/audit.js';
import type { ChainView } from '../chain/chain-view.js';
import { useNonce } from '../auth/nonces.js';
import { GatekeeperError, toOutcome } from './outcomes.js';
import { createPolicyCache } from '../auth/policy-cache.js';
import { createReadCache, type CachedSearch } from './read-cache.js';
import { createSignerKeys, HEADERS, verifyRequest } from '../../protocol/request-signature.js';
import { formerGrantors, patientIdOf, resolveRequester } from '../auth/requester.js';
import { BreakGlassRefusal, statedEmergency } from '../auth/break-glass.js';
import { linkPatient, publishPatient, publishRecord } from '../publish/publish.js';
import { allowBrowserOrigins } from './cors.js';
import { verifyPointers } from '../publish/verify.js';
import type { TokenIssuer } from '../auth/tokens.js';
import { capabilityStatement } from './metadata.js';
import { patientIdOfResource } from '../../records/extract.js';

export interface GatekeeperDeps {
  db: Db;
  store: RecordStore;
  chain: ChainView;
  /** The provider's own signing client: publishes pointer hashes and anchors audit roots. */
  ledger: LedgerClient;
  tokens: TokenIssuer;
  /** Largest request body in bytes (413 above). */
  bodyLimit?: number;
  /** How many signers' public keys to keep for checking their next signatures without a recovery (request-signature.ts); 0 = recover every time. */
  signerKeys?: number;
  /** Hears every audited decision once it is stored (e.g. to tell a patient their data was read). */
  onDecision?: (d: Decision) => void;
  /** Browser origins allowed to call (e.g. the EHR Manager); none by default. */
  corsOrigins?: readonly string[];
  /** The network's identity pepper: lets the provider's apps find patients in the Registrar. */
  pepper?: Hex;
}

interface Ctx {
  address: Address;
  requester: Requester;
  patientId?: string;
  /** Reading under an open break-glass (break-glass.ts): whose records, and the stated reason. */
  emergency?: { patientId: string; reason: string };
}

const FHIR = '/fhir/R4';

export function buildGatekeeper(deps: GatekeeperDeps): FastifyInstance {
  const { db, store, chain, ledger, tokens } = deps;
  const provider = chain.provider;
  const app = Fastify({ bodyLimit: deps.bodyLimit ?? 1_048_576, logger: false });
  if (deps.corsOrigins?.length) allowBrowserOrigins(app, deps.corsOrigins);

  // Keep the raw body: its hash is part of what the requester signed.
  for (const type of ['application/json', 'application/fhir+json']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, { raw: body as string, json: (body as string).length ? JSON.parse(body as string) : undefined });
      } catch {
        done(new GatekeeperError(400, 'body is not valid JSON'), undefined);
      }
    });
  }

  const writeAudit = createAuditWriter(db);
  const reads = createReadCache(store);
  const policies = createPolicyCache();
  const signers = deps.signerKeys === 0 ? undefined : createSignerKeys(deps.signerKeys);
  // Cached resources come back for many requests: extract each one's patient once.
  const patientIds = new WeakMap<Resource, string | undefined>();
  const patientOf = (r: Resource) => {
    if (!patientIds.has(r)) patientIds.set(r, patientIdOfResource(r));
    return patientIds.get(r);
  };
  const audit = async (d: Omit<Decision, 'requester' | 'gatekeeper'> & { requester?: Address }) => {
    const decision: Decision = { ...d, requester: d.requester ?? zeroAddress, gatekeeper: provider };
    await writeAudit(decision);
    deps.onDecision?.(decision);
  };

  /** Authenticates the request (token or signature + fresh nonce) and resolves the requester. */
  async function authenticate(req: FastifyRequest): Promise<Ctx> {
    const auth = req.headers.authorization;
    let address: Address;
    if (auth?.startsWith('Bearer ')) {
      const who = tokens.verify(auth.slice(7));
      if (!who) throw new GatekeeperError(401, 'session token is invalid or expired');
      address = who;
    } else {
      const raw = (req.body as { raw?: string } | undefined)?.raw;
      const verified = await verifyRequest(req.headers, { method: req.method, path: req.url, body: raw, gatekeeper: provider, chainId: ledger.chainId }, undefined, signers);
      if (!(await useNonce(db, verified.address, verified.nonce, verified.expiry))) throw new GatekeeperError(401, 'replayed request (nonce already used)');
      address = verified.address;
    }
    return { address, ...(await resolveRequester(store, chain, address, await statedEmergency(req.headers, ledger, address))) };
  }

  /** The SQL filter for `type`, or the right refusal (410 when only expired grants cover it). */
  function filterFor(ctx: Ctx, type: string) {
    const { policy, filter } = policies.filter(ctx.requester, type, Math.floor(Date.now() / 1000));
    if (filter) return filter;
    const expired = policy.denials.find((d) => d.resourceType === type && d.expired);
    if (expired) throw new GatekeeperError(410, expired.reason);
    throw new GatekeeperError(403, explainDenial(policy, type) ?? `no grant covers ${type}`);
  }

  /** Runs a handler, audits its decision, and turns errors into OperationOutcomes. */
  // A string body is sent as it is (JSON serialised once, from the read cache); `dataHash`, when given, is hashResultSet(resources).
  function route(interaction: string, handler: (req: FastifyRequest, ctx: Ctx) => Promise<{ body: unknown; resources?: Resource[]; status?: number; dataHash?: Hex }>) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      let ctx: Ctx | undefined;
      try {
        ctx = await authenticate(req);
        const result = await handler(req, ctx);
        const patients = new Set<string>();
        for (const r of result.resources ?? []) {
          const p = patientOf(r);
          if (p) patients.add(p);
        }
        // A break-glass read that found nothing is still filed under the patient: it cannot be hidden from them.
        if (patients.size === 0) patients.add(ctx.patientId ?? ctx.emergency?.patientId ?? '');
        const audited: Promise<void>[] = [];
        for (const patientId of patients) {
          const breakGlass = patientId && ctx.emergency?.patientId === patientId ? ctx.emergency.reason : undefined;
          audited.push(audit({ requester: ctx.address, interaction, method: req.method, path: req.url, patientId: patientId || undefined, permitted: true, status: result.status ?? 200, breakGlass }));
        }
        await (audited.length === 1 ? audited[0] : Promise.all(audited));
        if (result.resources) reply.header(HEADERS.dataHash, result.dataHash ?? hashResultSet(result.resources as ResourceLike[]));
        return reply.code(result.status ?? 200).type('application/fhir+json').send(result.body);
      } catch (err) {
        const { status, body } = toOutcome(err);
        const params = req.params as { id?: string };
        const refusal = err instanceof BreakGlassRefusal ? err : undefined;
        const patientId =
          ctx?.patientId ??
          ctx?.emergency?.patientId ??
          (refusal?.patient ? await patientIdOf(store, refusal.patient).catch(() => undefined) : undefined) ??
          (req.url.includes('/Patient/') ? params.id : undefined);
        // A viewer refused without a patient in the request: file it under whoever once granted them.
        const patients = patientId || ctx?.requester.role !== 'viewer' ? [patientId] : await formerGrantors(store, ledger, provider, ctx.address).catch(() => []);
        await Promise.all(
          (patients.length ? patients : [undefined]).map((p) =>
            audit({
              requester: ctx?.address ?? refusal?.requester,
              interaction,
              method: req.method,
              path: req.url,
              patientId: p,
              permitted: false,
              status,
              reason: body.issue?.[0]?.diagnostics,
              breakGlass: p && ctx?.emergency?.patientId === p ? ctx.emergency.reason : undefined,
            }),
          ),
        ).catch(() => undefined);
        return reply.code(status).type('application/fhir+json').send(body);
      }
    };
  }

  /** The searchset Bundle of a cached search as JSON, byte for byte what JSON.stringify(searchset(…)) gives. */
  const searchsetJson = (req: FastifyRequest, found: CachedSearch): string =>
    `{"resourceType":"Bundle","type":"searchset","total":${found.total},"link":[{"relation":"self","url":${JSON.stringify(req.url)}}],"entry":[${found.json
      .map((json, i) => `{"fullUrl":${JSON.stringify(`${FHIR}/${found.resources[i]!.resourceType}/${found.resources[i]!.id}`)},"resource":${json},"search":{"mode":"match"}}`)
      .join(',')}]}`;

  const searchset = (req: FastifyRequest, resources: Resource[], total: number): Bundle => ({
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: [{ relation: 'self', url: req.url }],
    entry: resources.map((resource) => ({ fullUrl: `${FHIR}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
  });

  app.get(`${FHIR}/metadata`, async (_req, reply) => reply.type('application/fhir+json').send(capabilityStatement()));

  app.post('/auth/login', route('login', async (_req, ctx) => ({ body: tokens.issue(ctx.address) })));

  // The provider's own apps: find a patient in the Registrar by identity, link the local Patient to
  // the address, and publish pointers to what the provider holds for them.
  app.post('/registrar/link', route('operation', async (req, ctx) => {
    if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'only the provider links its patients');
    if (!deps.pepper) throw new GatekeeperError(501, 'this gatekeeper has no identity pepper configured');
    const identity = (req.body as { json?: { identity?: unknown } } | undefined)?.json?.identity;
    const m = typeof identity === 'string' ? /^([^|\s]{1,200})\|([^|\s]{1,200})$/.exec(identity) : null;
    if (!m) throw new GatekeeperError(400, 'identity must be "system|value", e.g. urn:medledger:demo-mrn|100001');
    const local = await store.findPatientByIdentifier(m[1]!, m[2]!);
    if (!local?.id) throw new GatekeeperError(404, 'no local patient has that identifier');
    let address: Address;
    try {
      address = await linkPatient(store, ledger, local.id, identity as string, deps.pepper);
    } catch (err) {
      throw new GatekeeperError(404, (err as Error).message);
    }
    const published = await publishPatient(store, ledger, local.id);
    return { body: { address, patientId: local.id, published } };
  }));

  app.get('/audit', route('search-type', async (_req, ctx) => {
    if (!ctx.patientId) throw new GatekeeperError(403, 'only a patient of this provider has an audit trail here');
    return { body: { provider, entries: await auditTrail(db, ctx.patientId) } };
  }));

  app.get(`${FHIR}/Patient/:id/$everything`, route('operation', async (req, ctx) => {
    const { id } = req.params as { id: string };
    if (!(ctx.requester.role === 'provider' || ctx.patientId === id)) throw new GatekeeperError(403, '$everything is for the patient themself');
    const resources = await store.everything(id);
    return { body: searchset(req, resources, resources.length), resources };
  }));

  app.get(`${FHIR}/Patient/:id/$verify`, route('operation', async (req, ctx) => {
    const { id } = req.params as { id: string };
    if (!(ctx.requester.role === 'provider' || ctx.patientId === id)) throw new GatekeeperError(403, '$verify is for the patient and their provider');
    return { body: await verifyPointers(store, ledger, provider, id) };
  }));

  app.get(`${FHIR}/:type`, route('search-type', async (req, ctx) => {
    const { type } = req.params as { type: string };
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const found = await reads.search(type, query, filterFor(ctx, type));
    return { body: searchsetJson(req, found), resources: found.resources, dataHash: found.dataHash };
  }));

  /** The current resource (as a one-resource search) if the requester may read it; else 404/410 (absent, deleted) or 403. */
  async function permittedRead(ctx: Ctx, type: string, id: string): Promise<CachedSearch> {
    const found = await reads.search(type, `_id=${encodeURIComponent(id)}`, filterFor(ctx, type));
    if (found.resources[0]) return found;
    await store.read(type, id); // throws 404 or 410 when there is nothing to be refused
    throw new GatekeeperError(403, `not granted: ${type}/${id}`);
  }

  app.get(`${FHIR}/:type/:id`, route('read', async (req, ctx) => {
    const { type, id } = req.params as { type: string; id: string };
    const found = await permittedRead(ctx, type, id);
    return { body: found.json[0], resources: found.resources, dataHash: found.dataHash };
  }));

  app.get(`${FHIR}/:type/:id/_history`, route('history-instance', async (req, ctx) => {
    const { type, id } = req.params as { type: string; id: string };
    await permittedRead(ctx, type, id);
    const versions = await store.history(type, id);
    const body: Bundle = { resourceType: 'Bundle', type: 'history', total: versions.length, entry: versions.map((resource) => ({ fullUrl: `${FHIR}/${type}/${id}`, resource })) };
    return { body, resources: versions };
  }));

  app.get(`${FHIR}/:type/:id/_history/:vid`, route('vread', async (req, ctx) => {
    const { type, id, vid } = req.params as { type: string; id: string; vid: string };
    await permittedRead(ctx, type, id);
    const resource = await store.vread(type, id, vid);
    return { body: resource, resources: [resource] };
  }));

  // Writes: the provider's own applications only. Each write that changes a pointer's result
  // updates the pointer's hash on chain (the seed's "update PPR").
  const write = (interaction: 'create' | 'update') =>
    route(interaction, async (req, ctx) => {
      if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'only the provider writes to its own store');
      const { type, id } = req.params as { type: string; id?: string };
      const json = (req.body as { json?: Resource } | undefined)?.json;
      if (!json || json.resourceType !== type) throw new GatekeeperError(400, `body must be a ${type} resource`);
      if (interaction === 'update' && json.id !== id) throw new GatekeeperError(400, 'resource id does not match the URL');
      const saved = interaction === 'create' ? await store.create(json) : await store.update(json);
      await publishRecord(store, ledger, saved);
      return { body: saved, resources: [saved], status: interaction === 'create' ? 201 : 200 };
    });
  app.post(`${FHIR}/:type`, write('create'));
  app.put(`${FHIR}/:type/:id`, write('update'));

  app.setNotFoundHandler((req, reply) => {
    const { status, body } = toOutcome(new GatekeeperError(404, `no route ${req.method} ${req.url.split('?')[0]}`));
    return reply.code(status).type('application/fhir+json').send(body);
  });
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = toOutcome(err);
    return reply.code(status).type('application/fhir+json').send(body);
  });
  return app;
}

