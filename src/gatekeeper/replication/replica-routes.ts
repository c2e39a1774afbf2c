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
 * Requests are signed for this gatekeeper, like every other route (replica-handler.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { auditPatientKey, auditTrail, createAuditWriter } from '../audit/audit.js';
import { createChainView, type ChainView } from '../chain/chain-view.js';
import { GatekeeperError } from '../http/outcomes.js';
import { replicaPatients, replicateFrom } from './replica.js';
import { exportPointer } from './replica-export.js';
import { route, type Handler, type ReplicaContext, type ReplicaRoutesOptions } from './replica-handler.js';
import { replicaOf, replicaRead, replicaSearch } from './replica-reads.js';

export type { ReplicaRoutesOptions } from './replica-handler.js';

export const replicaRoutes: FastifyPluginAsync<ReplicaRoutesOptions> = async (app, options) => {
  const views = new Map<string, ChainView>();
  const ctx: ReplicaContext = {
    ...options,
    provider: options.chain.provider,
    writeAudit: createAuditWriter(options.db),
    viewOf: (source) => {
      let view = views.get(source.toLowerCase());
      if (!view) views.set(source.toLowerCase(), (view = createChainView(options.ledger, source)));
      return view;
    },
  };
  app.addHook('onClose', async () => {
    for (const view of views.values()) view.close();
    await options.replicas.close();
  });
  // The source side.
  app.get('/replica/export/Patient/:patient', route(ctx, 'operation', exportPointer(ctx)));
  // The replica side.
  app.get('/replica/:provider/fhir/R4/:type', route(ctx, 'search-type', replicaSearch(ctx)));
  app.get('/replica/:provider/fhir/R4/:type/:id', route(ctx, 'read', replicaRead(ctx)));
  app.post('/replica/:provider/Patient/:patient/$sync', route(ctx, 'operation', syncReplica(ctx)));
  app.get('/replica/:provider/audit', route(ctx, 'search-type', replicaAudit(ctx)));
};

/**
 * `$sync`: this provider names the source gatekeeper's URL (and the patient's consent, if any); the
 * patient may only re-run it against the last URL.
 */
function syncReplica({ provider, replicas, ledger }: ReplicaContext): Handler {
  return async (req, trail) => {
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
  };
}

/** A replicated patient's trail of replica reads of their records here. */
function replicaAudit(ctx: ReplicaContext): Handler {
  return async (req, trail) => {
    const replica = await replicaOf(ctx, (req.params as { provider: string }).provider);
    trail.source = replica.source;
    const patientId = (await replicaPatients(replica)).get(trail.address.toLowerCase())?.patientId;
    if (!patientId) throw new GatekeeperError(403, 'only a replicated patient has a replica audit trail here');
    trail.patientId = patientId;
    return { body: { provider: ctx.provider, source: replica.source, entries: await auditTrail(ctx.db, auditPatientKey(patientId, replica.source)!) } };
  };
}
