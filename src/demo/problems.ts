/**
 * St Mary's problem list and the records that hang off it: each chronic problem with the
 * prescription that treats it, obesity, acute illnesses as encounter diagnoses, allergies recorded at
 * the first check-up, and the immunizations of each year.
 */
import type { AllergyIntolerance, Condition, Encounter, Immunization, MedicationRequest, Reference } from '@medplum/fhirtypes';
import type { Random } from '../random.js';
import { ALLERGENS, CATEGORY, CONDITIONS, MEDICATIONS, PSYCHIATRY_LABEL, ROUTES, SYSTEM, VACCINES, concept, type ConditionKey } from './terminology.js';
import { DAY, YEAR, before, clinicTime, isoDate, isoDateTime, startOfDay } from './clock.js';
import { HOSPITAL, type Chart, type VisitRecords } from './chart.js';
import { CHRONIC, type Chronic, type Courses, type Visit } from './story.js';

/** The problem list, and a prescription for each treated problem at its key visit. */
export function recordProblems(chart: Chart, risk: Random, courses: Courses, records: VisitRecords): void {
  const { birth, start } = chart.person;
  for (const key of CHRONIC) {
    const course = courses[key];
    if (!course) continue;
    const encounter = records.encounterOf.get(course.keyTime)!;
    const condition = problem(chart, key, course.onset, course.keyTime, encounter);
    chart.hospital.push(condition);
    if (key in MEDICATIONS) chart.hospital.push(prescription(chart, key as keyof typeof MEDICATIONS, encounter, condition, course.keyTime));
  }
  const { bmiReadings } = records;
  const obese = bmiReadings.find((r) => r.bmi >= 30);
  if (obese) {
    // Obese at the first visit: a known problem; otherwise found when the BMI first reached 30.
    const known = obese === bmiReadings[0];
    const onset = known ? before(risk, Math.max(birth + 20 * YEAR, start - 8 * YEAR), Math.min(start, obese.time) - 30 * DAY) : startOfDay(obese.time);
    chart.hospital.push(problem(chart, 'obesity', onset, obese.time, obese.encounter));
  }
}

function problem(chart: Chart, key: ConditionKey, onset: number, recorded: number, encounter: Reference<Encounter>): Condition {
  return {
    resourceType: 'Condition',
    id: chart.nextId(`smh-${chart.person.mrn}-cond`),
    ...(key === 'depression' ? { meta: { security: [PSYCHIATRY_LABEL] } } : {}),
    clinicalStatus: concept(SYSTEM.conditionClinical, 'active', 'Active'),
    verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
    category: [CATEGORY.problemList],
    code: { coding: [{ system: SYSTEM.snomed, code: CONDITIONS[key].code, display: CONDITIONS[key].display }], text: CONDITIONS[key].text },
    subject: chart.hospitalSubject,
    encounter,
    onsetDateTime: isoDate(onset),
    recordedDate: isoDateTime(recorded),
  };
}

function prescription(chart: Chart, key: Chronic & keyof typeof MEDICATIONS, encounter: Reference<Encounter>, condition: Condition, time: number): MedicationRequest {
  const med = MEDICATIONS[key];
  const perDay = 'perDay' in med ? med.perDay : undefined;
  return {
    resourceType: 'MedicationRequest',
    id: chart.nextId(`smh-${chart.person.mrn}-med`),
    // An antidepressant prescription discloses the depression it treats.
    ...(key === 'depression' ? { meta: { security: [PSYCHIATRY_LABEL] } } : {}),
    status: 'active',
    intent: 'order',
    category: [CATEGORY.outpatient],
    medicationCodeableConcept: { coding: [{ system: SYSTEM.rxnorm, code: med.code, display: med.display }], text: med.display },
    subject: chart.hospitalSubject,
    encounter,
    authoredOn: isoDateTime(time + 25 * 60_000),
    requester: { display: chart.person.physician },
    reasonReference: [{ reference: `Condition/${condition.id}` }],
    dosageInstruction: [
      {
        sequence: 1,
        text: med.text,
        timing: perDay
          ? { repeat: { frequency: perDay, period: 1, periodUnit: 'd', ...('when' in med ? { when: [med.when] } : {}) } }
          : { repeat: { frequency: 1, period: 4, periodMax: 6, periodUnit: 'h' } },
        ...(perDay ? {} : { asNeededBoolean: true }),
        route: ROUTES[med.route],
        doseAndRate: [{ doseQuantity: { value: perDay ? 1 : 2, unit: med.dose.display, system: SYSTEM.ucum, code: med.dose.code } }],
      },
    ],
    dispenseRequest: {
      numberOfRepeatsAllowed: 3,
      ...(perDay
        ? { quantity: { value: 90 * perDay, unit: med.dose.display, system: SYSTEM.ucum, code: med.dose.code }, expectedSupplyDuration: { value: 90, unit: 'days', system: SYSTEM.ucum, code: 'd' } }
        : { quantity: { value: 1, unit: 'inhaler' } }),
    },
  };
}

/** Acute illnesses: an encounter diagnosis, resolved a week or two later (if that is already past). */
export function recordAcuteIllnesses(chart: Chart, plan: Random, visits: readonly Visit[], records: VisitRecords): void {
  const { mrn, now } = chart.person;
  for (const visit of visits) {
    if (!visit.illness) continue;
    const resolved = visit.time + plan.int(7, 14) * DAY;
    chart.hospital.push({
      resourceType: 'Condition',
      id: chart.nextId(`smh-${mrn}-cond`),
      clinicalStatus: resolved < now ? concept(SYSTEM.conditionClinical, 'resolved', 'Resolved') : concept(SYSTEM.conditionClinical, 'active', 'Active'),
      verificationStatus: concept(SYSTEM.conditionVerification, 'confirmed', 'Confirmed'),
      category: [CATEGORY.encounterDiagnosis],
      code: { coding: [{ system: SYSTEM.snomed, code: visit.illness.code, display: visit.illness.display }], text: visit.illness.text },
      subject: chart.hospitalSubject,
      encounter: records.encounterOf.get(visit.time)!,
      onsetDateTime: isoDate(visit.time - plan.int(1, 4) * DAY),
      ...(resolved < now ? { abatementDateTime: isoDate(resolved) } : {}),
      recordedDate: isoDateTime(visit.time),
    } satisfies Condition);
  }
}

/** Allergies, recorded at the first check-up. */
export function recordAllergies(chart: Chart, allergyRng: Random, firstCheckup: number): void {
  const allergens = ALLERGENS.filter(() => allergyRng.chance(0.12));
  for (const allergen of allergens) {
    const severe = allergen.reaction.code === '39579001';
    chart.hospital.push({
      resourceType: 'AllergyIntolerance',
      id: chart.nextId(`smh-${chart.person.mrn}-alg`),
      clinicalStatus: concept(SYSTEM.allergyClinical, 'active', 'Active'),
      verificationStatus: concept(SYSTEM.allergyVerification, 'confirmed', 'Confirmed'),
      type: 'allergy',
      category: [allergen.category],
      criticality: severe ? 'high' : 'low',
      code: concept(SYSTEM.snomed, allergen.code, allergen.display),
      patient: chart.hospitalSubject,
      recordedDate: isoDateTime(firstCheckup),
      reaction: [{ manifestation: [concept(SYSTEM.snomed, allergen.reaction.code, allergen.reaction.display)], severity: severe ? 'severe' : 'mild' }],
    } satisfies AllergyIntolerance);
  }
}

/**
 * Immunizations: influenza most autumns (nearly every one when older or chronically ill), Tdap now
 * and then, the pneumococcal vaccine once at 65 or over.
 */
export function recordImmunizations(chart: Chart, vax: Random, courses: Courses, checkups: readonly number[]): void {
  const { age, start, now, years } = chart.person;
  const keen = age >= 65 || Object.keys(courses).length > 0 ? 0.9 : 0.6;
  const give = (vaccine: { code: string; display: string }, time: number): void => {
    chart.hospital.push(immunization(chart, vaccine, time, `${vaccine.code}-${vax.int(10000, 99999)}`));
  };
  const firstYear = new Date(start).getUTCFullYear();
  for (let year = firstYear; year <= new Date(now).getUTCFullYear(); year++) {
    const time = clinicTime(vax, Date.UTC(year, 8, 15) + vax.int(0, 75) * DAY);
    const chosen = vax.chance(keen);
    if (chosen && time > start && time < now - DAY) give(VACCINES.influenza, time);
  }
  if (vax.chance(0.2)) give(VACCINES.tdap, clinicTime(vax, start + vax.int(30, Math.floor((now - start) / DAY) - 30) * DAY));
  if (age - years >= 65 || (age >= 66 && vax.chance(0.7))) give(VACCINES.pneumococcal, checkups[age - years >= 65 ? 0 : years]!);
}

function immunization(chart: Chart, vaccine: { code: string; display: string }, time: number, lotNumber: string): Immunization {
  return {
    resourceType: 'Immunization',
    id: chart.nextId(`smh-${chart.person.mrn}-imm`),
    status: 'completed',
    vaccineCode: { coding: [{ system: SYSTEM.cvx, code: vaccine.code, display: vaccine.display }], text: vaccine.display },
    patient: chart.hospitalSubject,
    occurrenceDateTime: isoDateTime(time),
    primarySource: true,
    lotNumber,
    route: concept(SYSTEM.routeOfAdministration, 'IM', 'Injection, intramuscular'),
    doseQuantity: { value: 0.5, unit: 'mL', system: SYSTEM.ucum, code: 'mL' },
    performer: [{ actor: HOSPITAL }],
  };
}
