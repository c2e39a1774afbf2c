/**
 * Consented training data: a researcher (or model owner) reads through each provider's gatekeeper
 * like any third party, with the grants patients gave them, so only data a patient shares reaches
 * the training set; it is de-identified on arrival and flattened into feature rows.
 *
 * Who is in the set. The grants are read from the chain at one block; a patient is in the training
 * set when a live grant at that block names them (not revoked, not expired, relationship not
 * rejected) AND the gatekeeper returned their data, which it does only under a live grant. Returned
 * records are tied to patients through the Patient resource's chain address (ADDRESS_SYSTEM), so
 * a study's grants must include the `Patient` scope (it carries age and sex too); records that cannot
 * be tied to a granting patient are dropped. A patient who revokes is therefore absent from the next
 * extraction and from its consent set, consentSetHash(consentingPatients) — the value to record on
 * chain with the model trained on it (src/sdk/models.ts).
 *
 * The result names no patient per row: rows carry per-study pseudonyms (deidentify.ts, keyed by the
 * study's secret salt and the provider), and the consenting addresses come back only as a set, so a
 * row cannot be tied to an on-chain address through this output.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { getAddress, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { ADDRESS_SYSTEM } from '../protocol/identifiers.js';
import { patientIdOfResource } from '../records/extract.js';
import type { GatekeeperClient } from '../sdk/gatekeeper.js';
import { GatekeeperRequestError } from '../sdk/gatekeeper.js';
import { grantsReceived } from '../sdk/grants.js';
import { sortAddresses } from '../sdk/models.js';
import { consentSetHash } from './consent-set.js';
import { deidentifyResources } from './deidentify.js';
import { buildFeatureRows, type FeatureColumn, type FeatureRows, type FeatureView } from './features.js';

/** The resource types feature views read. */
const TYPES = ['Patient', 'Observation', 'Condition'] as const;
const PAGE = 1000;

export interface ExtractOptions {
  /** The researcher's ledger client (reads only). */
  ledger: LedgerClient;
  researcher: Address;
  /** The researcher's signed client for `provider`'s gatekeeper; undefined = not reachable (listed in `skipped`). */
  gatekeeperFor: (provider: Address) => GatekeeperClient | undefined;
  view: FeatureView;
  /** A condition column whose presence is the label (kept out of `rows`). */
  label?: Extract<FeatureColumn, { kind: 'condition' }>;
  /** The study's secret de-identification key (dates, pseudonyms); keep it per study. */
  salt: string;
  /** Ages are measured at this time. Default now. */
  asOf?: Date;
  /** Read the grants at this block. Default latest. */
  blockNumber?: bigint;
}

export interface ConsentedTrainingData {
  /** De-identified feature rows, one per patient per provider (patients are pseudonyms). */
  rows: FeatureRows;
  labels?: Uint8Array;
  /** The patients whose data is in `rows`, ascending. */
  consentingPatients: Address[];
  /** consentSetHash(consentingPatients). */
  consentSetHash: Hex;
  /** The providers whose data is in `rows`, ascending. */
  providers: Address[];
  /** The block the grants were read at. */
  blockNumber: bigint;
  /** What was left out, and why (unreachable providers, records of patients without a live grant). */
  skipped: string[];
}

/** Reads every granted record of the view's types from each provider, de-identifies it, and builds the rows. */
export async function extractConsentedRows(options: ExtractOptions): Promise<ConsentedTrainingData> {
  const pc = options.ledger.publicClient;
  const blockNumber = options.blockNumber ?? (await pc.getBlockNumber({ cacheTime: 0 }));
  const now = Number((await pc.getBlock({ blockNumber })).timestamp);
  const live = (await grantsReceived(options.ledger, { viewer: options.researcher, blockNumber })).filter(
    (g) => g.status !== 'rejected' && (g.expiresAt === 0 || g.expiresAt > now),
  );
  const byProvider = new Map<Address, { patients: Set<string>; types: Set<string> }>();
  for (const g of live) {
    const provider = getAddress(g.provider);
    const entry = byProvider.get(provider) ?? { patients: new Set(), types: new Set() };
    entry.patients.add(g.patient.toLowerCase());
    entry.types.add(g.scope.split('?')[0]!);
    byProvider.set(provider, entry);
  }

  const skipped: string[] = [];
  const resources: Resource[] = [];
  const consenting = new Set<Address>();
  const providers: Address[] = [];
  for (const provider of sortAddresses([...byProvider.keys()])) {
    const { patients, types } = byProvider.get(provider)!;
    const gk = options.gatekeeperFor(provider);
    if (!gk) {
      skipped.push(`provider ${provider}: no gatekeeper client`);
      continue;
    }
    const read = (await Promise.all(TYPES.filter((t) => types.has(t)).map((t) => readGranted(gk, t)))).flat();
    // Local patient id → address, for the patients whose grant is live at `blockNumber`.
    const addressOf = new Map<string, Address>();
    for (const r of read) {
      if (r.resourceType !== 'Patient' || !r.id) continue;
      const address = (r as Patient).identifier?.find((i) => i.system === ADDRESS_SYSTEM)?.value;
      if (address && patients.has(address.toLowerCase())) addressOf.set(r.id, getAddress(address));
    }
    const kept = read.filter((r) => addressOf.has(patientIdOfResource(r) ?? ''));
    if (kept.length < read.length) skipped.push(`provider ${provider}: ${read.length - kept.length} records not tied to a patient with a live grant`);
    if (addressOf.size === 0) continue;
    providers.push(provider);
    for (const a of addressOf.values()) consenting.add(a);
    // Keyed by provider too, so two providers' local ids never share a pseudonym.
    resources.push(...deidentifyResources(kept, { salt: `${options.salt}|${provider.toLowerCase()}`, asOf: options.asOf }));
  }

  const view = options.label ? { ...options.view, columns: [...options.view.columns, options.label] } : options.view;
  const built = buildFeatureRows(resources, view, { asOf: options.asOf });
  const consentingPatients = sortAddresses([...consenting]);
  const result = { consentingPatients, consentSetHash: consentSetHash(consentingPatients), providers, blockNumber, skipped };
  if (!options.label) return { rows: built, ...result };
  return { rows: dropLastColumn(built), labels: Uint8Array.from({ length: built.x.rows }, (_, i) => (built.x.data[i * built.x.cols + built.x.cols - 1] ? 1 : 0)), ...result };
}

/** All of `type` the gatekeeper lets the caller read, page by page; nothing when it refuses (the grant went since the block read). */
async function readGranted(gk: GatekeeperClient, type: string): Promise<Resource[]> {
  const out: Resource[] = [];
  try {
    for (let offset = 0; ; offset += PAGE) {
      const { body } = await gk.get<{ total?: number; entry?: { resource: Resource }[] }>(`/fhir/R4/${type}?_count=${PAGE}&_offset=${offset}`);
      const page = (body.entry ?? []).map((e) => e.resource);
      out.push(...page);
      if (page.length < PAGE || out.length >= (body.total ?? 0)) return out;
    }
  } catch (err) {
    if (err instanceof GatekeeperRequestError && (err.status === 403 || err.status === 410)) return [];
    throw err;
  }
}

function dropLastColumn(rows: FeatureRows): FeatureRows {
  const { x } = rows;
  const d = x.cols - 1;
  const data = new Float64Array(x.rows * d);
  for (let i = 0; i < x.rows; i++) data.set(x.data.subarray(i * x.cols, i * x.cols + d), i * d);
  return { ...rows, columns: rows.columns.slice(0, d), x: { data, rows: x.rows, cols: d } };
}
