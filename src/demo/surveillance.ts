/**
 * The demo patients' surveillance consents: about 85 % opt in to being counted in public-health
 * surveillance (src/consent/surveillance.ts), each provider recording its own patients' answers.
 * Drawn from the seed and the patient's MRN only, so the generated records are unchanged and the
 * same patients consent at every start.
 */
import type { Consent } from '@medplum/fhirtypes';
import { surveillanceConsent } from '../consent/surveillance.js';
import { createRandom } from '../random.js';
import { patientIdAt, type DemoProvider, type GeneratedPatient } from './generate.js';

/** Share of demo patients who opt in. */
export const DEMO_SURVEILLANCE_OPT_IN = 0.85;

/** Whether demo patient `mrn` opted in, for this seed. */
export const optsIntoSurveillance = (seed: number | string, mrn: string): boolean => createRandom(`${seed}/surveillance/${mrn}`).chance(DEMO_SURVEILLANCE_OPT_IN);

/** One Consent per patient at `provider`: active for those who opted in, inactive (declined) for the others. */
export function surveillanceConsents(patients: readonly GeneratedPatient[], provider: DemoProvider, seed: number | string): Consent[] {
  return patients.map((p) => {
    const mrn = p.patient.identifier?.[0]?.value ?? '';
    return surveillanceConsent(patientIdAt(provider, mrn), { active: optsIntoSurveillance(seed, mrn) });
  });
}
