/**
 * Search-column extraction (src/records/extract.ts) and FHIR date ranges (src/records/date.ts),
 * walked on resources modelled on the R4 spec examples (https://hl7.org/fhir/R4/<type>-example.json).
 * Pure: no database.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OperationOutcomeError } from '@medplum/core';
import type { ExtractResource, Resource } from '@medplum/fhirtypes';
import { dateRange, periodRange } from '../src/records/date.js';
import { categoriesOf, extractColumns, hasColumn, patientIdOf, patientIdOfResource, type SearchColumns } from '../src/records/extract.js';
import { SUPPORTED_TYPES, type SupportedType } from '../src/records/fhir.js';

const extract = (r: Resource) => extractColumns(r as ExtractResource<SupportedType>);
const NONE: SearchColumns = { patientId: null, codes: [], categories: [], security: [], identifiers: [], status: null, dateStart: null, dateEnd: null };
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

test('Observation (observation-example: body weight)', () => {
  const columns = extract({
    resourceType: 'Observation',
    id: 'example',
    status: 'final',
    category: [{ coding: [{ system: OBS_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }] }],
    code: {
      coding: [
        { system: 'http://loinc.org', code: '29463-7', display: 'Body Weight' },
        { system: 'http://loinc.org', code: '3141-9', display: 'Body weight Measured' },
        { system: 'http://snomed.info/sct', code: '27113001', display: 'Body weight' },
        { system: 'http://acme.org/devices/clinical-codes', code: 'body-weight', display: 'Body Weight' },
      ],
    },
    subject: { reference: 'Patient/example' },
    effectiveDateTime: '2016-03-28',
    valueQuantity: { value: 185, unit: 'lbs', system: 'http://unitsofmeasure.org', code: '[lb_av]' },
  });
  assert.deepEqual(columns, {
    ...NONE,
    patientId: 'example',
    codes: [
      'http://loinc.org|29463-7', '29463-7', 'http://loinc.org|3141-9', '3141-9',
      'http://snomed.info/sct|27113001', '27113001', 'http://acme.org/devices/clinical-codes|body-weight', 'body-weight',
    ],
    categories: [`${OBS_CATEGORY}|vital-signs`, 'vital-signs'],
    status: 'final',
    // A date is the whole day.
    dateStart: '2016-03-28T00:00:00.000Z',
    dateEnd: '2016-03-29T00:00:00.000Z',
  });
});

test('Condition (condition-example: burnt ear): clinicalStatus is the status, onset the date', () => {
  const condition = {
    resourceType: 'Condition',
    id: 'example',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' },
          { system: 'http://snomed.info/sct', code: '439401001', display: 'Diagnosis' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '39065001', display: 'Burn of ear' }], text: 'Burnt Ear' },
    subject: { reference: 'Patient/example' },
    onsetDateTime: '2012-05-24',
  } satisfies Resource;
  const columns = extract(condition);
  assert.equal(columns.status, 'active');
  assert.deepEqual(columns.codes, ['http://snomed.info/sct|39065001', '39065001']);
  assert.deepEqual(columns.categories, [
    'http://terminology.hl7.org/CodeSystem/condition-category|encounter-diagnosis', 'encounter-diagnosis',
    'http://snomed.info/sct|439401001', '439401001',
  ]);
  assert.deepEqual([columns.dateStart, columns.dateEnd], ['2012-05-24T00:00:00.000Z', '2012-05-25T00:00:00.000Z']);
  // Without a dated onset (here: an onset age), the recorded date.
  const { onsetDateTime: _onset, ...rest } = condition;
  const recorded = extract({ ...rest, onsetAge: { value: 52, unit: 'a' }, recordedDate: '2013-04' });
  assert.deepEqual([recorded.dateStart, recorded.dateEnd], ['2013-04-01T00:00:00.000Z', '2013-05-01T00:00:00.000Z']);
});

test('AllergyIntolerance (allergyintolerance-example: cashew nuts): plain-code categories in both forms', () => {
  const columns = extract({
    resourceType: 'AllergyIntolerance',
    id: 'example',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    type: 'allergy',
    category: ['food'],
    criticality: 'high',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '227493005', display: 'Cashew nuts' }] },
    patient: { reference: 'Patient/example' },
    onsetDateTime: '2004',
    recordedDate: '2014-10-09T14:58:00+11:00',
  });
  assert.equal(columns.patientId, 'example');
  assert.deepEqual(columns.categories, ['http://hl7.org/fhir/allergy-intolerance-category|food', 'food']);
  assert.equal(columns.status, 'active');
  // A dateTime with seconds is that second, moved to UTC.
  assert.deepEqual([columns.dateStart, columns.dateEnd], ['2014-10-09T03:58:00.000Z', '2014-10-09T03:58:01.000Z']);
});

test('Immunization (immunization-example: Fluvax): vaccineCode and occurrence', () => {
  const columns = extract({
    resourceType: 'Immunization',
    id: 'example',
    status: 'completed',
    vaccineCode: { coding: [{ system: 'urn:oid:1.2.36.1.2001.1005.17', code: 'FLUVAX' }], text: 'Fluvax (Influenza)' },
    patient: { reference: 'Patient/example' },
    occurrenceDateTime: '2013-01-10',
  });
  assert.deepEqual(columns, {
    ...NONE,
    patientId: 'example',
    codes: ['urn:oid:1.2.36.1.2001.1005.17|FLUVAX', 'FLUVAX'],
    status: 'completed',
    dateStart: '2013-01-10T00:00:00.000Z',
    dateEnd: '2013-01-11T00:00:00.000Z',
  });
});

test('DiagnosticReport (diagnosticreport-example: CBC) with a time zone', () => {
  const columns = extract({
    resourceType: 'DiagnosticReport',
    id: '101',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'HM' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '58410-2' }] },
    subject: { reference: 'Patient/pat2' },
    effectiveDateTime: '2011-03-04T08:30:00+11:00',
  });
  assert.equal(columns.patientId, 'pat2');
  assert.deepEqual(columns.categories, ['http://terminology.hl7.org/CodeSystem/v2-0074|HM', 'HM']);
  assert.deepEqual([columns.dateStart, columns.dateEnd], ['2011-03-03T21:30:00.000Z', '2011-03-03T21:30:01.000Z']);
});

test('MedicationRequest: medicationCodeableConcept and authoredOn', () => {
  const columns = extract({
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'outpatient' }] }],
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '582620' }] },
    subject: { reference: 'Patient/pat1' },
    authoredOn: '2015-01-15',
  });
  assert.deepEqual(columns.codes, ['http://www.nlm.nih.gov/research/umls/rxnorm|582620', '582620']);
  assert.deepEqual(columns.categories, ['http://terminology.hl7.org/CodeSystem/medicationrequest-category|outpatient', 'outpatient']);
  assert.equal(columns.dateStart, '2015-01-15T00:00:00.000Z');
});

test('Encounter and CarePlan: a period spans from the start of start to the end of end; open = infinity', () => {
  const encounter = extract({
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [{ coding: [{ system: 'http://snomed.info/sct', code: '11429006', display: 'Consultation' }] }],
    subject: { reference: 'Patient/f201' },
    period: { start: '2013-03-11', end: '2013-03-20' },
  });
  assert.deepEqual(encounter.codes, ['http://snomed.info/sct|11429006', '11429006']);
  assert.deepEqual([encounter.dateStart, encounter.dateEnd], ['2013-03-11T00:00:00.000Z', '2013-03-21T00:00:00.000Z']);
  const carePlan = extract({ resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/example' }, period: { start: '2011-06' } });
  assert.deepEqual([carePlan.dateStart, carePlan.dateEnd], ['2011-06-01T00:00:00.000Z', 'infinity']);
  const ended = extract({ resourceType: 'CarePlan', status: 'completed', intent: 'plan', subject: { reference: 'Group/g' }, period: { end: '2011' } });
  assert.deepEqual([ended.dateStart, ended.dateEnd], ['-infinity', '2012-01-01T00:00:00.000Z']);
  assert.equal(ended.patientId, null);
});

test('Procedure, DocumentReference, ImagingStudy, Consent', () => {
  const procedure = extract({
    resourceType: 'Procedure',
    status: 'completed',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '80146002', display: 'Appendectomy' }] },
    subject: { reference: 'Patient/example' },
    performedPeriod: { start: '2013-04-05T09:00:00Z', end: '2013-04-05T10:30:00Z' },
  });
  assert.deepEqual([procedure.dateStart, procedure.dateEnd], ['2013-04-05T09:00:00.000Z', '2013-04-05T10:30:01.000Z']);
  const document = extract({
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '34108-1' }] },
    category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category', code: 'clinical-note' }] }],
    subject: { reference: 'Patient/xcda' },
    date: '2005-12-24T09:43:41+11:00',
    content: [{ attachment: { contentType: 'text/plain' } }],
  });
  assert.deepEqual(document.codes, ['http://loinc.org|34108-1', '34108-1']);
  assert.ok(document.categories.includes('clinical-note'));
  assert.equal(document.dateStart, '2005-12-23T22:43:41.000Z');
  const imaging = extract({
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: 'Patient/dicom' },
    started: '2011-01-01T11:01:20+03:00',
    procedureCode: [{ coding: [{ system: 'http://www.radlex.org', code: 'RPID2589' }] }],
  });
  assert.deepEqual([imaging.patientId, imaging.codes, imaging.status], ['dicom', ['http://www.radlex.org|RPID2589', 'RPID2589'], 'available']);
  const consent = extract({
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/f001' },
    dateTime: '2015-11-18',
  });
  assert.deepEqual([consent.patientId, consent.status, consent.categories], ['f001', 'active', ['http://loinc.org|59284-0', '59284-0']]);
});

test('AuditEvent: type and subtype are codes; the patient is the entity, else an agent', () => {
  const dcm = 'http://dicom.nema.org/resources/ontology/DCM';
  const base = {
    resourceType: 'AuditEvent',
    type: { system: dcm, code: '110110', display: 'Patient Record' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    action: 'R',
    recorded: '2013-06-20T23:42:24Z',
    source: { observer: { display: 'gatekeeper' } },
  } satisfies Omit<ExtractResource<'AuditEvent'>, 'agent'>;
  const byEntity = extract({ ...base, agent: [{ requestor: true, who: { reference: 'Practitioner/x' } }], entity: [{ what: { reference: 'Patient/example' } }] });
  assert.equal(byEntity.patientId, 'example');
  assert.deepEqual(byEntity.codes, [`${dcm}|110110`, '110110', 'http://hl7.org/fhir/restful-interaction|read', 'read']);
  assert.deepEqual([byEntity.dateStart, byEntity.dateEnd], ['2013-06-20T23:42:24.000Z', '2013-06-20T23:42:25.000Z']);
  const byAgent = extract({ ...base, agent: [{ requestor: true, who: { reference: 'Patient/self' } }], entity: [{ what: { reference: 'Device/d' } }] });
  assert.equal(byAgent.patientId, 'self');
});

test('Provenance: the target Patient (versioned references too)', () => {
  const columns = extract({
    resourceType: 'Provenance',
    target: [{ reference: 'Procedure/example/_history/1' }, { reference: 'Patient/example/_history/2' }],
    recorded: '2015-06-27T08:39:24+10:00',
    agent: [{ who: { reference: 'Practitioner/xcda-author' } }],
  });
  assert.equal(columns.patientId, 'example');
  assert.equal(columns.dateStart, '2015-06-26T22:39:24.000Z');
});

test('Patient: its own id; identifiers and security labels in both forms', () => {
  const columns = extract({
    resourceType: 'Patient',
    id: 'example',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }, { code: 'local' }] },
    identifier: [
      { use: 'usual', system: 'urn:oid:1.2.36.146.595.217.0.1', value: '12345' },
      { system: 'urn:medledger:address', value: '0xabc' },
      { value: 'no-system' },
    ],
  });
  assert.deepEqual(columns, {
    ...NONE,
    patientId: 'example',
    identifiers: ['urn:oid:1.2.36.146.595.217.0.1|12345', '12345', 'urn:medledger:address|0xabc', '0xabc', '|no-system', 'no-system'],
    security: ['http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R', 'R', '|local', 'local'],
  });
});

test('patient references: only local Patient/x counts', () => {
  assert.equal(patientIdOf({ reference: 'Patient/123' }), '123');
  assert.equal(patientIdOf({ reference: 'Patient/123/_history/4' }), '123');
  for (const reference of ['Group/1', 'http://other.org/fhir/Patient/1', 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', 'Patient/', 'Patient/a b', "Patient/1' --"]) {
    assert.equal(patientIdOf({ reference }), undefined, reference);
  }
  assert.equal(patientIdOf({ display: 'no reference' }), undefined);
  assert.equal(patientIdOf(undefined), undefined);
  const groupObservation = extract({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Group/g' } });
  assert.equal(groupObservation.patientId, null);
});

test('codings without a code, duplicates and concepts with only text', () => {
  const columns = extract({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', display: 'no code' }, { code: 'bare' }, { code: 'bare' }], text: 'x' },
    category: [{ text: 'only text' }],
  });
  assert.deepEqual(columns.codes, ['|bare', 'bare']);
  assert.deepEqual(columns.categories, []);
});

test('an impossible date in a search column is a 400', () => {
  assert.throws(
    () => extract({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2021-02-29' }),
    (err: unknown) => err instanceof OperationOutcomeError,
  );
});

test('patientIdOfResource and categoriesOf (used by the gatekeeper)', () => {
  const observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: 'Patient/p' },
    category: [{ coding: [{ system: OBS_CATEGORY, code: 'laboratory' }, { code: 'local' }] }],
  } satisfies Resource;
  assert.equal(patientIdOfResource(observation), 'p');
  assert.deepEqual(categoriesOf(observation), ['laboratory', 'local']);
  assert.equal(patientIdOfResource({ resourceType: 'Patient', id: 'p' }), 'p');
  assert.equal(patientIdOfResource({ resourceType: 'Organization', id: 'o' }), undefined);
  assert.deepEqual(categoriesOf({ resourceType: 'Organization' }), []);
});

test('which search columns each type has', () => {
  const expected = {
    Patient: 'identifiers',
    Observation: 'patient subject codes categories status date identifiers',
    Condition: 'patient subject codes categories status date identifiers',
    DiagnosticReport: 'patient subject codes categories status date identifiers',
    MedicationRequest: 'patient subject codes categories status date identifiers',
    AllergyIntolerance: 'patient codes categories status date identifiers',
    Immunization: 'patient codes status date identifiers',
    Encounter: 'patient subject codes status date identifiers',
    DocumentReference: 'patient subject codes categories status date identifiers',
    ImagingStudy: 'patient subject codes status date identifiers',
    Procedure: 'patient subject codes categories status date identifiers',
    CarePlan: 'patient subject categories status date identifiers',
    Consent: 'patient categories status date identifiers',
    AuditEvent: 'patient codes date',
    Provenance: 'patient date',
    Device: 'patient codes status identifiers',
    // Every other R4 type: the patient from its compartment parameters, `code`, `status`, `identifier` where it has them.
    Account: 'patient subject status identifiers',
    Organization: 'identifiers',
    Practitioner: 'identifiers',
    OperationOutcome: '',
  };
  const table = Object.fromEntries(
    Object.keys(expected).map((type) => [
      type,
      (['patient', 'subject', 'codes', 'categories', 'status', 'date', 'identifiers'] as const).filter((c) => hasColumn(type as SupportedType, c)).join(' '),
    ]),
  );
  assert.deepEqual(table, expected);
  assert.equal(SUPPORTED_TYPES.length, 145, 'every R4 resource type');
});

const iso = (ms: number) => new Date(ms).toISOString();
const range = (value: string) => {
  const r = dateRange(value);
  return r && [iso(r.start), iso(r.end)];
};

test('dateRange: each precision is its whole interval (search.html#date)', () => {
  assert.deepEqual(range('2020'), ['2020-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z']);
  assert.deepEqual(range('2020-02'), ['2020-02-01T00:00:00.000Z', '2020-03-01T00:00:00.000Z']);
  assert.deepEqual(range('2020-12'), ['2020-12-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z']);
  assert.deepEqual(range('2020-02-29'), ['2020-02-29T00:00:00.000Z', '2020-03-01T00:00:00.000Z']);
  assert.deepEqual(range('2020-03-05T10:00'), ['2020-03-05T10:00:00.000Z', '2020-03-05T10:01:00.000Z']);
  assert.deepEqual(range('2020-03-05T10:00:30Z'), ['2020-03-05T10:00:30.000Z', '2020-03-05T10:00:31.000Z']);
  assert.deepEqual(range('2020-03-05T10:00:30.5Z'), ['2020-03-05T10:00:30.500Z', '2020-03-05T10:00:30.600Z']);
  assert.deepEqual(range('2020-03-05T10:00:30.123456Z'), ['2020-03-05T10:00:30.123Z', '2020-03-05T10:00:30.124Z']);
  assert.deepEqual(range('2020-03-05T00:30:00+01:00'), ['2020-03-04T23:30:00.000Z', '2020-03-04T23:30:01.000Z']);
  assert.deepEqual(range('2020-03-05T00:30:00-05:30'), ['2020-03-05T06:00:00.000Z', '2020-03-05T06:00:01.000Z']);
  // '+' decoded from a query string as a space.
  assert.deepEqual(range('2020-03-05T00:30:00 01:00'), range('2020-03-05T00:30:00+01:00'));
  assert.deepEqual(range('0099-01-01'), ['0099-01-01T00:00:00.000Z', '0099-01-02T00:00:00.000Z']);
});

test('dateRange: impossible and malformed values', () => {
  for (const value of ['2019-02-29', '2020-02-30', '2020-04-31', '2020-13', '2020-00', '0000', '2020-01-01T24:00', '2020-01-01T10:60', '2020-1-1', '20200101', '2020-01-01T10', '2020-01-01T10:00:00+15:00', '2020-01-01T10:00:00Zjunk', '', 'now']) {
    assert.equal(dateRange(value), undefined, value);
  }
});

test('periodRange', () => {
  assert.deepEqual(periodRange({ start: '2020', end: '2020-06' }), { start: Date.UTC(2020, 0, 1), end: Date.UTC(2020, 6, 1) });
  assert.deepEqual(periodRange({ start: '2020' }), { start: Date.UTC(2020, 0, 1), end: Infinity });
  assert.deepEqual(periodRange({ end: '2020' }), { start: -Infinity, end: Date.UTC(2021, 0, 1) });
  assert.equal(periodRange({}), undefined);
  assert.equal(periodRange({ start: '2020-02-30' }), undefined);
});
