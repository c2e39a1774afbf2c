/**
 * One patient's records as the signer of a `medledger ml` command may read them, each read a signed
 * request to a provider's gatekeeper (consent enforced there, as for any read):
 * - a provider: its own records of the patient (found by the patient's address identifier, or by
 *   its local Patient id), with Patient/$everything;
 * - the patient: their own records at every provider the system runs;
 * - anyone else: exactly what their live grants for this patient return, scope by scope.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { getAddress, isAddress, type Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { ADDRESS_SYSTEM } from '../protocol/identifiers.js';
import { patientIdOfResource } from '../records/extract.js';
import { gatekeeperClient, GatekeeperRequestError, type GatekeeperClient } from '../sdk/gatekeeper.js';
import { grantsReceived } from '../sdk/grants.js';
import { getAccount } from '../sdk/registrar.js';

export interface PatientRecords {
  resources: Resource[];
  /** Per provider read: how many resources it returned. */
  read: { provider: Address; url: string; resources: number }[];
  /** What could not be read, and why. */
  skipped: string[];
}

type Bundle = { entry?: { resource?: Resource }[] };
const entries = (b: Bundle) => (b.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r && r.resourceType !== 'OperationOutcome');

export interface ReadOptions {
  me: LedgerClient;
  /** The patient: an address, or (for a provider) its local Patient id. */
  patient: Address | { localId: string };
  gatekeepers: ReadonlyMap<Address, string>;
}

export async function readPatientRecords(o: ReadOptions): Promise<PatientRecords> {
  if (!o.me.account) throw new Error('this command needs --as <user>: a provider, the patient, or someone the patient granted');
  const me = o.me.account.address;
  const client = (provider: Address): GatekeeperClient | undefined => {
    const url = o.gatekeepers.get(getAddress(provider));
    return url ? gatekeeperClient({ url, gatekeeper: provider, chainId: o.me.chainId, account: o.me.account! }) : undefined;
  };
  const role = (await getAccount(o.me, me)).role;
  if (role === 'provider') return ownRecords([me], o, client);
  if (typeof o.patient !== 'string') throw new Error('a local Patient id names a patient only at your own provider: give a patient name or address');
  if (getAddress(o.patient) === getAddress(me)) return ownRecords([...o.gatekeepers.keys()], o, client);
  return grantedRecords(o.patient, o, client);
}

/** The patient's whole record at each of `providers` (the provider itself, or the patient). */
async function ownRecords(providers: Address[], o: ReadOptions, client: (p: Address) => GatekeeperClient | undefined): Promise<PatientRecords> {
  const out: PatientRecords = { resources: [], read: [], skipped: [] };
  for (const provider of providers) {
    const gk = client(provider);
    if (!gk) {
      out.skipped.push(`no gatekeeper address known for ${provider} (start the system, or give --gatekeeper ${provider}=<url>)`);
      continue;
    }
    let id = typeof o.patient === 'string' ? undefined : o.patient.localId;
    if (typeof o.patient === 'string') {
      const found = entries((await gk.get<Bundle>(`/fhir/R4/Patient?identifier=${encodeURIComponent(`${ADDRESS_SYSTEM}|${o.patient.toLowerCase()}`)}`)).body);
      id = (found[0] as Patient | undefined)?.id;
    }
    if (!id) continue;
    try {
      const resources = entries((await gk.get<Bundle>(`/fhir/R4/Patient/${encodeURIComponent(id)}/$everything`)).body);
      out.resources.push(...resources);
      out.read.push({ provider, url: o.gatekeepers.get(provider)!, resources: resources.length });
    } catch (err) {
      if (err instanceof GatekeeperRequestError && err.status === 404) continue;
      throw err;
    }
  }
  return out;
}

/**
 * What the signer's live grants for `patient` return. A gatekeeper answers a scope with every
 * granting patient's records, so where another patient granted the signer the same scope at the same
 * provider, only records whose Patient (read under a Patient grant) carries this patient's address are
 * kept; without one they cannot be told apart and are left out, said in `skipped`.
 */
async function grantedRecords(patient: Address, o: ReadOptions, client: (p: Address) => GatekeeperClient | undefined): Promise<PatientRecords> {
  const now = Math.floor(Date.now() / 1000);
  const live = (await grantsReceived(o.me, { viewer: o.me.account!.address })).filter((g) => g.status !== 'rejected' && (g.expiresAt === 0 || g.expiresAt > now));
  const mine = live.filter((g) => getAddress(g.patient) === getAddress(patient));
  const out: PatientRecords = { resources: [], read: [], skipped: [] };
  for (const provider of [...new Set(mine.map((g) => getAddress(g.provider)))]) {
    const gk = client(provider);
    if (!gk) {
      out.skipped.push(`no gatekeeper address known for ${provider} (start the system, or give --gatekeeper ${provider}=<url>)`);
      continue;
    }
    const read: Resource[] = [];
    for (const g of mine.filter((x) => getAddress(x.provider) === provider)) {
      try {
        read.push(...entries((await gk.get<Bundle>(`/fhir/R4/${g.scope}${g.scope.includes('?') ? '&' : '?'}_count=1000`)).body));
      } catch (err) {
        if (err instanceof GatekeeperRequestError && (err.status === 403 || err.status === 410)) out.skipped.push(`${g.scope} at ${provider}: ${err.message}`);
        else throw err;
      }
    }
    const shared = live.some((g) => getAddress(g.provider) === provider && getAddress(g.patient) !== getAddress(patient));
    const kept = shared ? onlyPatient(read, patient) : read;
    if (kept.length < read.length) out.skipped.push(`${read.length - kept.length} records at ${provider} could not be told apart from another patient's (no Patient record of theirs is shared with you)`);
    out.resources.push(...kept);
    out.read.push({ provider, url: o.gatekeepers.get(provider)!, resources: kept.length });
  }
  return out;
}

/** The resources of the local patient whose Patient record carries `patient`'s address. */
function onlyPatient(resources: Resource[], patient: Address): Resource[] {
  const ids = new Set(
    resources
      .filter((r): r is Patient => r.resourceType === 'Patient' && (r.identifier ?? []).some((i) => i.system === ADDRESS_SYSTEM && isAddress(i.value ?? '', { strict: false }) && getAddress(i.value!) === getAddress(patient)))
      .map((p) => p.id!),
  );
  return resources.filter((r) => ids.has(r.resourceType === 'Patient' ? r.id! : (patientIdOfResource(r) ?? '')));
}
