/**
 * The provider's patient list: every Patient in its own store (its gatekeeper answers the provider's
 * own searches over the whole store, src/consent/policy.ts), paged through with `_count`/`_offset`,
 * each marked linked when the Patient carries a chain address (urn:medledger:address) and a
 * relationship with this provider is on chain. Relationships whose Patient this store lacks are
 * listed too ("not in this store").
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { ADDRESS_SYSTEM } from '../../../../protocol/identifiers.js';
import { listProviderRelationships } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';

export interface PatientRow {
  /** The local Patient (absent: a relationship on chain whose Patient this store does not hold). */
  patient?: Patient;
  /** The chain address, when linked. */
  address?: Address;
  /** A relationship with this provider is on chain. */
  linked: boolean;
  /** The identity the Registrar may know ("system|value"): the first identifier that is not an address. */
  identity?: string;
}

const PAGE = 100;
/** A store's worth of patients for one screen; more is a search's job. */
const MAX_PATIENTS = 2000;

/** Every Patient of the provider's own store (up to MAX_PATIENTS), and the store's total. */
async function allPatients(s: Session): Promise<{ patients: Patient[]; total: number }> {
  const gk = s.gatekeeper(s.account.address);
  const patients: Patient[] = [];
  let total = 0;
  for (let offset = 0; offset < MAX_PATIENTS; offset += PAGE) {
    const { body } = await gk.get<Bundle<Patient>>(`/fhir/R4/Patient?_count=${PAGE}&_offset=${offset}&_sort=_id&_total=accurate`);
    const page = (body.entry ?? []).flatMap((e) => (e.resource?.resourceType === 'Patient' ? [e.resource] : []));
    patients.push(...page);
    total = body.total ?? patients.length;
    if (page.length < PAGE || patients.length >= total) break;
  }
  return { patients, total };
}

export const addressOf = (p: Patient): Address | undefined => p.identifier?.find((i) => i.system === ADDRESS_SYSTEM)?.value as Address | undefined;

const otherIdentifiers = (p?: Patient) => (p?.identifier ?? []).filter((i) => i.system !== ADDRESS_SYSTEM && i.value);

export async function loadPatientRows(s: Session): Promise<{ rows: PatientRow[]; total: number }> {
  const [{ patients, total }, rels] = await Promise.all([allPatients(s), listProviderRelationships(s.ledger, s.account.address)]);
  const onChain = new Set(rels.map((r) => r.patient.toLowerCase()));
  const rows: PatientRow[] = patients.map((patient) => {
    const address = addressOf(patient);
    const first = otherIdentifiers(patient)[0];
    return { patient, address, linked: address !== undefined && onChain.has(address.toLowerCase()), identity: first?.system ? `${first.system}|${first.value}` : undefined };
  });
  const local = new Set(rows.flatMap((r) => (r.address ? [r.address.toLowerCase()] : [])));
  for (const { patient } of rels) if (!local.has(patient.toLowerCase())) rows.push({ address: patient, linked: true });
  rows.sort((a, b) => nameOf(a.patient).localeCompare(nameOf(b.patient)));
  return { rows, total };
}

export const nameOf = (p?: Patient): string => (p ? `${p.name?.[0]?.given?.join(' ') ?? ''} ${p.name?.[0]?.family ?? ''}`.trim() || 'no name' : 'not in this store');

/** "MRN 100001": the patient's identifiers other than the chain address. */
export const identifierText = (p?: Patient): string =>
  otherIdentifiers(p).map((i) => `${i.type?.text ?? (/mrn/i.test(i.system ?? '') ? 'MRN' : 'ID')} ${i.value}`).join(', ');

/** Whether `row` matches every word of `query` (name, identifier or birth date, case-insensitive). */
export function matches(row: PatientRow, query: string): boolean {
  const haystack = [nameOf(row.patient), row.patient?.birthDate ?? '', ...otherIdentifiers(row.patient).map((i) => i.value!), identifierText(row.patient)].join(' ').toLowerCase();
  return query.toLowerCase().split(/\s+/).filter(Boolean).every((word) => haystack.includes(word));
}

/** The key a row is selected by: the local Patient id, else the address. */
export const keyOf = (row: PatientRow): string => row.patient?.id ?? row.address ?? '';
