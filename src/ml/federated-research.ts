/**
 * Federated research over providers: each provider answers the federated-averaging protocol
 * (src/ml/federated.ts) from its own records store, and the coordinator records every round on
 * chain (model hash, participating providers, consent-set hash), so anyone holding a published
 * model can look up what it was trained on.
 *
 * What leaves a provider: its row count, per-column counts and sums, sums of squares, coefficient
 * vectors, and one hash of its consenting patients. Never a record, an id or an address.
 *
 * Consent. A provider's training set is its patients with an active research Consent in its own
 * store (FHIR Consent, scope research; src/ml/uci-fhir.ts researchConsent), read afresh when a run
 * opens the site: a patient who withdraws (Consent inactive) is out of the next run. The site's
 * consent set is consentSetHash(addresses of those patients); patients need not be registered on
 * chain, since nothing about them goes there but this hash. The model's consent-set hash combines
 * the participating sites' hashes:
 *
 *   federatedConsentSetHash = keccak256(abi.encode(address[] providers ascending, bytes32[] siteHashes))
 *
 * so the patient lists never meet in one place. A provider can show a patient that they are in its
 * list (and the list hashes to its site hash); the coordinator publishes the site hashes with the
 * model; anyone recomputes the combination and compares it with the on-chain record.
 */
import type { Consent, Resource } from '@medplum/fhirtypes';
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { patientIdOf, patientIdOfResource } from '../records/extract.js';
import type { RecordStore } from '../records/store.js';
import { lastModelRound, recordModelRound, sortAddresses } from '../sdk/models.js';
import { consentSetHash } from './consent-set.js';
import { fedTrainSites, localSite, type FedOptions, type FederatedSite, type RoundReport } from './federated.js';
import { hashModel, type LogisticModel } from './logistic.js';
import { heartRowsFromFhir, isActiveResearchConsent, type HeartRows } from './uci-fhir.js';

const PAGE = 1000;

/** Every current resource of `type` in the store, page by page (ordered by id). */
export async function readAllOfType(store: RecordStore, type: string): Promise<Resource[]> {
  const out: Resource[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.search(type, `_count=${PAGE}&_offset=${offset}`);
    out.push(...page.resources);
    if (page.resources.length < PAGE || out.length >= page.total) return out;
  }
}

/**
 * The site's training rows, read from its own store at the provider: the patients with an active
 * research Consent and a chain address (the consent set must be able to name them), with their
 * consenting addresses.
 */
export async function readConsentedHeartRows(store: RecordStore): Promise<HeartRows & { consenting: Address[] }> {
  const consents = (await readAllOfType(store, 'Consent')) as Consent[];
  const consented = new Set(consents.filter(isActiveResearchConsent).map((c) => patientIdOf(c.patient)));
  const resources = (await Promise.all(['Patient', 'Observation', 'Condition'].map((t) => readAllOfType(store, t)))).flat().filter((r) => consented.has(patientIdOfResource(r)));
  const all = heartRowsFromFhir(resources);
  const rows = all.addresses.map((a, i) => (a ? i : -1)).filter((i) => i >= 0);
  const d = all.x.cols;
  const x = new Float64Array(rows.length * d);
  rows.forEach((i, k) => x.set(all.x.data.subarray(i * d, (i + 1) * d), k * d));
  return {
    patients: rows.map((i) => all.patients[i]!),
    addresses: rows.map((i) => all.addresses[i]),
    x: { data: x, rows: rows.length, cols: d },
    y: Uint8Array.from(rows, (i) => all.y[i]!),
    consenting: rows.map((i) => all.addresses[i]!),
  };
}

/** One provider in a federated run: the protocol's answers, computed at the provider. */
export interface ProviderSite extends FederatedSite {
  provider: Address;
  /** consentSetHash of this run's consenting patients: all that leaves about them. */
  consentSetHash: Hex;
  rows: number;
}

/**
 * Opens a provider for one run: reads its consenting patients' rows from its own store now (a
 * snapshot for the whole run) and answers with plain numbers only, as they would cross the network.
 */
export async function openProviderSite(store: RecordStore, { name, provider }: { name: string; provider: Address }): Promise<ProviderSite> {
  const { x, y, consenting } = await readConsentedHeartRows(store);
  const site = localSite({ name, x, y });
  return {
    name,
    provider,
    consentSetHash: consentSetHash(consenting),
    rows: x.rows,
    featureSums: async () => {
      const s = await site.featureSums();
      return { rows: s.rows, present: [...s.present], sum: [...s.sum] };
    },
    encodedSums: async (layout) => {
      const s = await site.encodedSums(layout);
      return { n: s.n, sum: Array.from(s.sum), sumSquares: Array.from(s.sumSquares) };
    },
    localUpdate: async (encoder, start, options) => Array.from(await site.localUpdate(encoder, start, options)),
  };
}

/** The consent-set hash of a federated model from its sites' hashes (see the file comment). */
export function federatedConsentSetHash(sites: readonly { provider: Address; consentSetHash: Hex }[]): Hex {
  const byProvider = new Map(sites.map((s) => [s.provider.toLowerCase(), s.consentSetHash]));
  if (byProvider.size !== sites.length) throw new Error('federatedConsentSetHash: a provider is named twice');
  const providers = sortAddresses(sites.map((s) => s.provider));
  const hashes = providers.map((p) => byProvider.get(p.toLowerCase())!);
  return keccak256(encodeAbiParameters([{ type: 'address[]' }, { type: 'bytes32[]' }], [providers, hashes]));
}

export interface RecordedRound {
  round: number;
  modelHash: Hex;
  transactionHash: Hex;
  gasUsed: bigint;
}

export interface FederatedRun {
  model: LogisticModel;
  modelHash: Hex;
  /** Federated rounds of this run. */
  rounds: number;
  /** On-chain round numbers continue the recorder's earlier runs of the same model id. */
  recorded: RecordedRound[];
  providers: Address[];
  consentSetHash: Hex;
  /** What the coordinator publishes with the model, so anyone can recompute consentSetHash. */
  sites: { name: string; provider: Address; rows: number; consentSetHash: Hex }[];
}

/**
 * Trains by federated averaging over `sites` and records every round on chain as `coordinator`:
 * the round's model hash, the providers that took part (sites without consenting rows sit out) and
 * their combined consent-set hash.
 */
export async function trainFederatedAndRecord(
  coordinator: LedgerClient,
  { modelId, sites, options, onRound }: { modelId: Hex; sites: readonly ProviderSite[]; options: FedOptions; onRound?: (report: RoundReport) => void | Promise<void> },
): Promise<FederatedRun> {
  if (new Set(sites.map((s) => s.name)).size !== sites.length) throw new Error('trainFederatedAndRecord: site names must be unique');
  const byName = new Map(sites.map((s) => [s.name, s]));
  const before = await lastModelRound(coordinator, { recorder: coordinator.account!.address, modelId });
  const recorded: RecordedRound[] = [];
  let taking: ProviderSite[] = [];
  const { model, rounds } = await fedTrainSites(sites, options, async (report) => {
    taking = report.sites.map((s) => byName.get(s.name)!);
    const round = before + report.round;
    const r = await recordModelRound(coordinator, {
      modelId,
      round,
      modelHash: report.modelHash,
      consentSetHash: federatedConsentSetHash(taking),
      providers: taking.map((s) => s.provider),
    });
    recorded.push({ round, modelHash: report.modelHash, transactionHash: r.transactionHash, gasUsed: r.gasUsed });
    await onRound?.(report);
  });
  return {
    model,
    modelHash: hashModel(model),
    rounds,
    recorded,
    providers: sortAddresses(taking.map((s) => s.provider)),
    consentSetHash: federatedConsentSetHash(taking),
    sites: taking.map((s) => ({ name: s.name, provider: s.provider, rows: s.rows, consentSetHash: s.consentSetHash })),
  };
}
