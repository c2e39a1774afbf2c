/**
 * A patient's consent to be counted in public-health surveillance, as the provider records it: a FHIR
 * R4 Consent (https://hl7.org/fhir/R4/consent.html) whose provision permits the purpose PUBHLTH
 * ("public health": v3 ActReason, https://terminology.hl7.org/CodeSystem-v3-ActReason.html), opt-in.
 * It is the same shape as the research Consent a site keeps (src/ml/uci-fhir.ts, purpose HRESCH).
 *
 * Why a Consent in the provider's store and not an on-chain grant: a grant lets its viewer *read*
 * the granted records through the gatekeeper, while surveillance needs the patient only to be
 * *counted*; the authority never reads a record, only weekly counts with small cells suppressed
 * (src/gatekeeper/http/surveillance.ts). Withdrawing is a Consent made inactive (or a later active
 * one that denies PUBHLTH); the next count leaves the patient out.
 *
 * Rules (security logic only narrows): a patient is counted when they have an active Consent that
 * permits PUBHLTH and whose provision period, if any, holds `now`, and no active Consent that denies
 * PUBHLTH. Anything else — draft, proposed, rejected, inactive, entered-in-error, another purpose — counts
 * for nothing.
 */
import type { Consent } from '@medplum/fhirtypes';
import { patientIdOf } from '../records/extract.js';

export const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const PUBLIC_HEALTH_PURPOSE = { system: ACT_REASON, code: 'PUBHLTH', display: 'public health' } as const;

/** The Consent a provider records when a patient opts in to (or, `active: false`, out of) surveillance counts. */
export function surveillanceConsent(patientId: string, { id, active = true, dateTime }: { id?: string; active?: boolean; dateTime?: string } = {}): Consent {
  return {
    resourceType: 'Consent',
    id: id ?? `${patientId}-pubhlth`,
    status: active ? 'active' : 'inactive',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy', display: 'Privacy Consent' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: `Patient/${patientId}` },
    ...(dateTime ? { dateTime } : {}),
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', purpose: [{ ...PUBLIC_HEALTH_PURPOSE }] },
  };
}

const aboutPublicHealth = (c: Consent) => (c.provision?.purpose ?? []).some((p) => p.system === ACT_REASON && p.code === PUBLIC_HEALTH_PURPOSE.code);

function inPeriod(c: Consent, now: number): boolean {
  const { start, end } = c.provision?.period ?? {};
  return (!start || Date.parse(start) <= now) && (!end || now <= Date.parse(end));
}

/** The local ids of the patients these Consents let a provider count for surveillance at `now`. */
export function surveillanceConsenters(consents: readonly Consent[], now: Date): Set<string> {
  const permitted = new Set<string>();
  const denied = new Set<string>();
  for (const c of consents) {
    const patientId = patientIdOf(c.patient);
    if (!patientId || c.status !== 'active' || !aboutPublicHealth(c)) continue;
    if (c.provision?.type === 'deny') denied.add(patientId);
    else if (c.provision?.type === 'permit' && inPeriod(c, now.getTime())) permitted.add(patientId);
  }
  for (const id of denied) permitted.delete(id);
  return permitted;
}
