/**
 * What the gatekeeper's route handlers share (its dependencies and per-process caches), what each is
 * given (the authenticated requester) and what each answers (a body, and the resources it discloses).
 */
import type { FastifyRequest } from 'fastify';
import type { Condition, Patient, Resource } from '@medplum/fhirtypes';
import { zeroAddress, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import type { ResearchSite } from '../../protocol/research/site.js';
import type { Db } from '../../records/db.js';
import { patientIdOfResource } from '../../records/extract.js';
import type { RecordStore } from '../../records/store.js';
import { createSignerKeys } from '../../protocol/request-signature.js';
import { createAuditWriter, type Decision } from '../audit/audit.js';
import type { AuthDeps, Authenticated } from '../auth/authenticate.js';
import { createPolicyCache, type PolicyCache } from '../auth/policy-cache.js';
import type { TokenIssuer } from '../auth/tokens.js';
import type { BulkOptions } from '../bulk/options.js';
import type { ChainView } from '../chain/chain-view.js';
import { createSmartAuthority, type SmartOptions } from '../smart/authority.js';
import { createPublisher, type Publisher } from '../publish/publisher.js';
import { createReadCache, type ReadCache } from './read-cache.js';

/** The FHIR base of every resource route (https://hl7.org/fhir/R4/http.html#general). */
export const FHIR_BASE = '/fhir/R4';

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
  /** Whom this provider reports surveillance counts to, and how it counts (surveillance.ts); none = no reporting. */
  surveillance?: SurveillanceReporting;
  /** What this site computes for consented research studies (research.ts); none = it takes part in none. */
  research?: ResearchSite;
  /** SMART App Launch and Backend Services (smart/*): where patients approve apps, the clock. */
  smartOptions?: SmartOptions;
  /** How bulk exports are paced and cut into files (bulk/exporter.ts); defaults when left out. */
  bulk?: BulkOptions;
  /** Brings pointer hashes on chain after writes (publish/publisher.ts); a coalescing one with defaults when left out. */
  publisher?: Publisher;
}

/**
 * Surveillance reporting: the public-health authorities this provider reports to, and the count it
 * reports — weekly cases per condition and region with small cells suppressed. The process that
 * starts the gatekeeper supplies the count (src/ml/aggregate.ts), so the gatekeeper stays below the
 * ML layer; it only ever hands it the consenting patients' records.
 */
export interface SurveillanceReporting {
  authorities: readonly Address[];
  aggregate(conditions: Condition[], patients: Patient[], weeks: { from: string; to: string }): unknown[];
}

/** A decision to audit; `requester` is left out when the request never authenticated. */
export type AuditInput = Omit<Decision, 'requester' | 'gatekeeper'> & { requester?: Address };

/** One gatekeeper's shared state, built once (createGatekeeperContext) and handed to every handler. */
export interface GatekeeperContext extends GatekeeperDeps, AuthDeps {
  /** This gatekeeper's provider address. */
  provider: Address;
  publisher: Publisher;
  reads: ReadCache;
  policies: PolicyCache;
  /** Stores one decision in the audit log and tells `onDecision`. */
  audit(d: AuditInput): Promise<void>;
  /** The patient a resource belongs to, extracted once per (cached) resource object. */
  patientOf(r: Resource): string | undefined;
}

/** The authenticated requester of one request (auth/authenticate.ts). */
export type Ctx = Authenticated;

/**
 * A handler's answer. A string body is sent as it is (JSON serialised once, from the read cache);
 * `resources` are what it discloses (audited per patient, hashed into the data-hash header), and
 * `dataHash`, when given, is hashResultSet(resources) already computed.
 */
export interface Answer {
  body: unknown;
  resources?: Resource[];
  status?: number;
  dataHash?: Hex;
  /** Response headers to add (Content-Location, X-Progress, …); a `content-type` here replaces application/fhir+json. */
  headers?: Record<string, string>;
}

/** One route's work once the request is authenticated; it throws GatekeeperError to refuse. */
export type Handler = (gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx) => Promise<Answer>;

export function createGatekeeperContext(deps: GatekeeperDeps): GatekeeperContext {
  const provider = deps.chain.provider;
  const writeAudit = createAuditWriter(deps.db);
  // Cached resources come back for many requests: extract each one's patient once.
  const patientIds = new WeakMap<Resource, string | undefined>();
  return {
    ...deps,
    provider,
    publisher: deps.publisher ?? createPublisher({ store: deps.store, ledger: deps.ledger }),
    reads: createReadCache(deps.store),
    policies: createPolicyCache(),
    signers: deps.signerKeys === 0 ? undefined : createSignerKeys(deps.signerKeys),
    smart: createSmartAuthority(deps.smartOptions),
    async audit(d) {
      const decision: Decision = { ...d, requester: d.requester ?? zeroAddress, gatekeeper: provider };
      await writeAudit(decision);
      deps.onDecision?.(decision);
    },
    patientOf(r) {
      if (!patientIds.has(r)) patientIds.set(r, patientIdOfResource(r));
      return patientIds.get(r);
    },
  };
}
