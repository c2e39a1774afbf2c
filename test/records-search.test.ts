/**
 * Search semantics (src/records/search.ts through RecordStore.search), parameter by parameter, on a
 * small fixed data set; paging and totals with a consent-like filter ANDed in; everything, resultSet
 * and findPatientByIdentifier. https://hl7.org/fhir/R4/search.html
 * Runs on PGlite, or on PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OperationOutcomeError, getStatus } from '@medplum/core';
import type { Observation, Provenance, Resource } from '@medplum/fhirtypes';
import type { Db } from '../src/records/db.js';
import { and, sql, type Sql } from '../src/records/sql.js';
import { RecordStore } from '../src/records/store.js';
import { openTestDb } from './helpers/db.js';

const LOINC = 'http://loinc.org';
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

function obs(id: string, o: { patient?: string; subject?: string; category?: string; code?: string; status?: Observation['status']; date?: Partial<Observation>; security?: string[] }): Observation {
  return {
    resourceType: 'Observation',
    id,
    ...(o.security ? { meta: { security: o.security.map((s) => { const [system, code] = s.split('|'); return { system, code }; }) } } : {}),
    status: o.status ?? 'final',
    ...(o.category ? { category: [{ coding: [{ system: OBS_CATEGORY, code: o.category }] }] } : {}),
    code: { coding: [{ system: LOINC, code: o.code ?? '8310-5' }] },
    ...(o.patient ? { subject: { reference: `Patient/${o.patient}` } } : o.subject ? { subject: { reference: o.subject } } : {}),
    ...o.date,
  };
}

const DATA: Resource[] = [
  { resourceType: 'Patient', id: 'p1', identifier: [{ system: 'urn:oid:1.2.3', value: 'MRN-1' }, { system: 'urn:medledger:address', value: '0xaaa' }] },
  { resourceType: 'Patient', id: 'p2', identifier: [{ system: 'urn:oid:1.2.3', value: 'MRN-2' }], meta: { security: [{ system: CONFIDENTIALITY, code: 'R' }] } },
  { resourceType: 'Patient', id: 'p3', identifier: [{ value: 'MRN-1' }] },
  obs('lab-a1c-p1', { patient: 'p1', category: 'laboratory', code: '4548-4', date: { effectiveDateTime: '2020-01-15' } }),
  obs('lab-glu-p1', { patient: 'p1', category: 'laboratory', code: '2345-7', status: 'preliminary', date: { effectivePeriod: { start: '2020-02-10', end: '2020-02-20' } }, security: [`${CONFIDENTIALITY}|R`] }),
  obs('vit-hr-p1', { patient: 'p1', category: 'vital-signs', code: '8867-4', date: { effectiveDateTime: '2020-03' } }),
  obs('lab-a1c-p2', { patient: 'p2', category: 'laboratory', code: '4548-4', date: { effectiveDateTime: '2021-06-01T10:00:00Z' }, security: [`${ACT_CODE}|HIV`] }),
  {
    resourceType: 'Observation',
    id: 'local-p1',
    status: 'amended',
    category: [{ coding: [{ code: 'laboratory' }] }],
    code: { coding: [{ code: 'local-1' }] },
    subject: { reference: 'Patient/p1' },
  },
  obs('grp', { subject: 'Group/g1', category: 'laboratory', code: '4548-4' }),
  {
    resourceType: 'Condition',
    id: 'cond-p1',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
    subject: { reference: 'Patient/p1' },
    onsetDateTime: '2019',
  },
  {
    resourceType: 'MedicationRequest',
    id: 'med-p1',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '860975' }] },
    subject: { reference: 'Patient/p1' },
    authoredOn: '2020-03-02',
  },
  // Date ranges for the prefix tests (patient pd): see the table in 'date prefixes'.
  { resourceType: 'Patient', id: 'pd' },
  obs('dA', { patient: 'pd', date: { effectiveDateTime: '2020-03' } }),
  obs('dB', { patient: 'pd', date: { effectiveDateTime: '2020-03-15' } }),
  obs('dC', { patient: 'pd', date: { effectiveDateTime: '2020-03-15T10:00:00Z' } }),
  obs('dD', { patient: 'pd', date: { effectivePeriod: { start: '2020-02-20', end: '2020-03-10' } } }),
  obs('dE', { patient: 'pd', date: { effectivePeriod: { start: '2020-04-01' } } }),
  obs('dF', { patient: 'pd', date: { effectiveDateTime: '2019' } }),
  obs('dNone', { patient: 'pd' }),
];

let db: Db;
let store: RecordStore;
before(async () => {
  db = await openTestDb();
  store = await RecordStore.open(db);
  await store.createMany(DATA);
});
after(() => db.close());

async function ids(query: string | URLSearchParams, type = 'Observation', filter?: Sql): Promise<string[]> {
  const { resources, total } = await store.search(type, query, { filter });
  assert.equal(total, resources.length, 'the fixture fits one page');
  return resources.map((r) => r.id!).sort();
}

const badRequest = (err: unknown) => {
  assert.ok(err instanceof OperationOutcomeError, String(err));
  assert.equal(getStatus(err.outcome), 400);
  return true;
};

describe('parameters', () => {
  test('_id: one, several (OR), repeated (AND)', async () => {
    assert.deepEqual(await ids('_id=lab-a1c-p1'), ['lab-a1c-p1']);
    assert.deepEqual(await ids('_id=lab-a1c-p1,vit-hr-p1,nope'), ['lab-a1c-p1', 'vit-hr-p1']);
    assert.deepEqual(await ids('_id=lab-a1c-p1&_id=vit-hr-p1'), []);
    assert.deepEqual(await ids('_id=p1', 'Patient'), ['p1']);
  });

  test('patient and subject: id or Patient/id; other targets are refused', async () => {
    const p1 = ['lab-a1c-p1', 'lab-glu-p1', 'local-p1', 'vit-hr-p1'];
    assert.deepEqual(await ids('patient=p1'), p1);
    assert.deepEqual(await ids('patient=Patient/p1'), p1);
    assert.deepEqual(await ids('subject=Patient/p1'), p1);
    assert.deepEqual(await ids('subject=p1&patient=p1'), p1);
    assert.deepEqual(await ids('patient=p1,p2'), [...p1, 'lab-a1c-p2'].sort());
    assert.deepEqual(await ids('patient=p1', 'Condition'), ['cond-p1']);
    assert.deepEqual(await ids('patient=p1', 'MedicationRequest'), ['med-p1']);
    for (const query of ['patient=Group/g1', 'subject=Group/g1', 'patient=http://x.org/Patient/p1', 'patient=Patient/', 'subject:Patient=p1']) {
      await assert.rejects(store.search('Observation', query), badRequest, query);
    }
    await assert.rejects(store.search('Patient', 'patient=p1'), badRequest);
    await assert.rejects(store.search('AllergyIntolerance', 'subject=p1'), badRequest);
  });

  test('code: bare, system|code, |code (no system); comma = OR, repeated = AND', async () => {
    assert.deepEqual(await ids('code=4548-4'), ['grp', 'lab-a1c-p1', 'lab-a1c-p2']);
    assert.deepEqual(await ids('code=http://loinc.org|4548-4'), ['grp', 'lab-a1c-p1', 'lab-a1c-p2']);
    assert.deepEqual(await ids('code=http://snomed.info/sct|4548-4'), []);
    assert.deepEqual(await ids('code=|local-1'), ['local-p1']);
    assert.deepEqual(await ids('code=local-1'), ['local-p1']);
    assert.deepEqual(await ids('code=|4548-4'), []);
    assert.deepEqual(await ids('code=4548-4,8867-4&patient=p1'), ['lab-a1c-p1', 'vit-hr-p1']);
    assert.deepEqual(await ids('code=4548-4&code=8867-4'), []);
    assert.deepEqual(await ids('code=44054006', 'Condition'), ['cond-p1']);
    assert.deepEqual(await ids('code=860975', 'MedicationRequest'), ['med-p1']);
    await assert.rejects(store.search('Observation', 'code=http://loinc.org|'), badRequest);
    await assert.rejects(store.search('Patient', 'code=x'), badRequest);
  });

  test('category', async () => {
    assert.deepEqual(await ids('category=laboratory&patient=p1'), ['lab-a1c-p1', 'lab-glu-p1', 'local-p1']);
    assert.deepEqual(await ids(`category=${OBS_CATEGORY}|laboratory&patient=p1`), ['lab-a1c-p1', 'lab-glu-p1']);
    assert.deepEqual(await ids('category=vital-signs,laboratory&patient=p1'), ['lab-a1c-p1', 'lab-glu-p1', 'local-p1', 'vit-hr-p1']);
    assert.deepEqual(await ids('category=problem-list-item', 'Condition'), ['cond-p1']);
    await assert.rejects(store.search('Immunization', 'category=x'), badRequest);
  });

  test('status (Condition: its clinical status)', async () => {
    assert.deepEqual(await ids('status=preliminary,amended'), ['lab-glu-p1', 'local-p1']);
    assert.deepEqual(await ids('status=active', 'Condition'), ['cond-p1']);
    assert.deepEqual(await ids('status=active', 'MedicationRequest'), ['med-p1']);
    await assert.rejects(store.search('Observation', 'status=http://hl7.org/fhir/observation-status|final'), badRequest);
    await assert.rejects(store.search('Patient', 'status=active'), badRequest);
  });

  test('_security and _security:not (none of the listed labels)', async () => {
    assert.deepEqual(await ids('_security=R'), ['lab-glu-p1']);
    assert.deepEqual(await ids(`_security=${CONFIDENTIALITY}|R`, 'Patient'), ['p2']);
    assert.deepEqual(await ids(`_security=R,${ACT_CODE}|HIV`), ['lab-a1c-p2', 'lab-glu-p1']);
    assert.deepEqual(await ids('_security:not=R&patient=p1'), ['lab-a1c-p1', 'local-p1', 'vit-hr-p1']);
    assert.deepEqual(await ids(`_security:not=${CONFIDENTIALITY}|R,HIV&patient=p1,p2`), ['lab-a1c-p1', 'local-p1', 'vit-hr-p1']);
    await assert.rejects(store.search('Observation', '_security:missing=true'), badRequest);
  });

  test('identifier (types with an identifier element)', async () => {
    assert.deepEqual(await ids('identifier=MRN-1', 'Patient'), ['p1', 'p3']);
    assert.deepEqual(await ids('identifier=urn:oid:1.2.3|MRN-1', 'Patient'), ['p1']);
    assert.deepEqual(await ids('identifier=|MRN-1', 'Patient'), ['p3']);
    assert.deepEqual(await ids('identifier=urn:oid:1.2.3|MRN-1,urn:oid:1.2.3|MRN-2', 'Patient'), ['p1', 'p2']);
    await assert.rejects(store.search('OperationOutcome', 'identifier=MRN-1'), badRequest);
  });

  test('URLSearchParams and a leading "?" are accepted', async () => {
    assert.deepEqual(await ids(new URLSearchParams({ patient: 'p1', category: 'vital-signs' })), ['vit-hr-p1']);
    assert.deepEqual(await ids('?patient=p1&category=vital-signs'), ['vit-hr-p1']);
  });
});

describe('date prefixes (search.html#prefix), ranges [start, end)', () => {
  // dA 2020-03          [Mar 1, Apr 1)         dD 2020-02-20..2020-03-10  [Feb 20, Mar 11)
  // dB 2020-03-15       [Mar 15, Mar 16)       dE 2020-04-01..            [Apr 1, ∞)
  // dC …15T10:00:00Z    [10:00:00, 10:00:01)   dF 2019                    [2019, 2020)
  // dNone has no date and never matches.
  const cases: [string, string[]][] = [
    ['2020-03', ['dA', 'dB', 'dC']], // eq: the search range contains the target
    ['eq2020-03', ['dA', 'dB', 'dC']],
    ['ne2020-03', ['dD', 'dE', 'dF']],
    ['gt2020-03', ['dE']], // the range above (from Apr 1) overlaps the target
    ['lt2020-03', ['dD', 'dF']], // the range below (before Mar 1) overlaps the target
    ['ge2020-03', ['dA', 'dB', 'dC', 'dE']],
    ['le2020-03', ['dA', 'dB', 'dC', 'dD', 'dF']],
    ['sa2020-03', ['dE']], // starts after the search range
    ['eb2020-03', ['dF']], // ends before the search range
    ['sa2020-03-09', ['dA', 'dB', 'dC', 'dE'].filter((d) => d !== 'dA')],
    ['eb2020-03-15', ['dD', 'dF']],
    ['2020', ['dA', 'dB', 'dC', 'dD']],
    ['2020-03-15', ['dB', 'dC']],
    ['2020-03-15T10:00:00Z', ['dC']],
    ['2020-03-15T11:00:00+01:00', ['dC']],
    ['2020-03-15T10:00Z', ['dC']],
    ['gt2020-03-15T10:00:00Z', ['dA', 'dB', 'dE']], // dA and dB reach past that second
    ['2019,2020-03-15', ['dB', 'dC', 'dF']],
  ];
  for (const [value, expected] of cases) {
    test(`date=${value}`, async () => {
      assert.deepEqual(await ids(`patient=pd&date=${encodeURIComponent(value)}`), expected.sort());
    });
  }

  test('repeated date = AND: a window', async () => {
    assert.deepEqual(await ids('patient=pd&date=ge2020-03&date=lt2020-04'), ['dA', 'dB', 'dC']);
    // ge/le are overlaps: dA (all of March) reaches past both ends of the window.
    assert.deepEqual(await ids('patient=pd&date=ge2020-03-12&date=le2020-03-20'), ['dA', 'dB', 'dC']);
  });

  test('an unencoded + in the time zone (decoded as a space) still reads as +', async () => {
    assert.deepEqual(await ids('patient=pd&date=2020-03-15T11:00:00+01:00'), ['dC']);
  });

  test('date is the clinical date of each type', async () => {
    assert.deepEqual(await ids('date=2019', 'Condition'), ['cond-p1']);
    assert.deepEqual(await ids('date=2020-03', 'MedicationRequest'), ['med-p1']);
    await assert.rejects(store.search('Patient', 'date=2020'), badRequest);
  });

  test('malformed dates and unsupported prefixes are refused', async () => {
    for (const value of ['ap2020', 'xx2020', '2020-02-30', '2020-13', 'ge', '20200301', 'today', '2020-03-15T25:00Z', 'ge2020-03-15T10:00:00+99:00']) {
      await assert.rejects(store.search('Observation', `date=${encodeURIComponent(value)}`), badRequest, value);
    }
  });
});

test('_lastUpdated with instant precision', async () => {
  const stamps: string[] = [];
  for (const id of ['u1', 'u2', 'u3']) {
    const saved = await store.create<Provenance>({ resourceType: 'Provenance', id, target: [{ reference: 'Patient/pu' }], recorded: '2020-01-01T00:00:00Z', agent: [{ who: { display: 'x' } }] });
    stamps.push(saved.meta!.lastUpdated!);
    await new Promise((r) => setTimeout(r, 5));
  }
  const q = (v: string) => ids(`patient=pu&_lastUpdated=${encodeURIComponent(v)}`, 'Provenance');
  assert.deepEqual(await q(stamps[1]!), ['u2']);
  assert.deepEqual(await q(`ne${stamps[1]}`), ['u1', 'u3']);
  assert.deepEqual(await q(`gt${stamps[1]}`), ['u3']);
  assert.deepEqual(await q(`ge${stamps[1]}`), ['u2', 'u3']);
  assert.deepEqual(await q(`lt${stamps[1]}`), ['u1']);
  assert.deepEqual(await q(`le${stamps[1]}`), ['u1', 'u2']);
  assert.deepEqual(await q(`sa${stamps[1]}`), ['u3']);
  assert.deepEqual(await q(`eb${stamps[1]}`), ['u1']);
  assert.deepEqual(await q(`gt${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}`), []);
  assert.deepEqual(await q(`ge${stamps[0]!.slice(0, 4)}`), ['u1', 'u2', 'u3']);
  // _sort on it, both ways.
  const { resources } = await store.search('Provenance', 'patient=pu&_sort=_lastUpdated');
  assert.deepEqual(resources.map((r) => r.id), ['u1', 'u2', 'u3']);
  const { resources: newest } = await store.search('Provenance', 'patient=pu');
  assert.deepEqual(newest.map((r) => r.id), ['u3', 'u2', 'u1'], 'newest first by default');
});

describe('paging, totals and an ANDed filter', () => {
  // A consent-like filter as src/consent builds it: this patient, these categories, no sensitive labels.
  const consent = (patientId: string) =>
    and([sql`resource_type = 'Observation'`, sql`patient_id = ${patientId}`, sql`categories && ${['laboratory', 'vital-signs']}::text[]`, sql`NOT (security && ${['R', 'HIV']}::text[])`]);

  test('_count and _offset page through every match once; total counts them all', async () => {
    const all = (await store.search('Observation', 'patient=pd&_sort=_id&_count=1000')).resources.map((r) => r.id);
    assert.equal(all.length, 7);
    const seen: string[] = [];
    for (let offset = 0; offset < 8; offset += 3) {
      const page = await store.search('Observation', `patient=pd&_sort=_id&_count=3&_offset=${offset}`);
      assert.equal(page.total, 7);
      seen.push(...page.resources.map((r) => r.id!));
    }
    assert.deepEqual(seen, all);
    const past = await store.search('Observation', 'patient=pd&_count=3&_offset=50');
    assert.deepEqual(past, { resources: [], total: 7 });
  });

  test('_count=0 and _summary=count give the total only; _total is accepted', async () => {
    assert.deepEqual(await store.search('Observation', 'patient=pd&_count=0'), { resources: [], total: 7 });
    assert.deepEqual(await store.search('Observation', 'patient=pd&_summary=count'), { resources: [], total: 7 });
    assert.equal((await store.search('Observation', 'patient=pd&_total=accurate')).total, 7);
    assert.equal((await store.search('Observation', 'patient=pd&_total=none')).total, 7);
    assert.equal((await store.search('Observation', 'patient=pd')).resources.length, 7, 'default _count is 50');
  });

  test('the filter narrows results, totals and pages alike', async () => {
    assert.deepEqual(await ids('category=laboratory', 'Observation', consent('p1')), ['lab-a1c-p1', 'local-p1']);
    assert.deepEqual(await ids('', 'Observation', consent('p1')), ['lab-a1c-p1', 'local-p1', 'vit-hr-p1']);
    assert.deepEqual(await ids('patient=p2', 'Observation', consent('p1')), []);
    assert.deepEqual(await ids('', 'Observation', consent('p2')), [], 'HIV-labelled');
    const pages = [0, 1, 2, 3].map((offset) => store.search('Observation', `_sort=_id&_count=1&_offset=${offset}`, { filter: consent('p1') }));
    const results = await Promise.all(pages);
    assert.deepEqual(results.map((r) => r.total), [3, 3, 3, 3]);
    assert.deepEqual(results.map((r) => r.resources[0]?.id), ['lab-a1c-p1', 'local-p1', 'vit-hr-p1', undefined]);
    assert.deepEqual(await store.search('Observation', '_count=0', { filter: consent('p1') }), { resources: [], total: 3 });
    // A filter for another type matches nothing of this one.
    assert.deepEqual(await ids('', 'Condition', consent('p1')), []);
  });

  test('_sort: date (no date last), -date, _id, -_id, several keys; invalid ones refused', async () => {
    const order = async (sort: string) => (await store.search('Observation', `patient=pd&_sort=${sort}`)).resources.map((r) => r.id);
    assert.deepEqual(await order('date'), ['dF', 'dD', 'dA', 'dB', 'dC', 'dE', 'dNone']);
    assert.deepEqual(await order('-date'), ['dE', 'dC', 'dB', 'dA', 'dD', 'dF', 'dNone']);
    assert.deepEqual(await order('_id'), ['dA', 'dB', 'dC', 'dD', 'dE', 'dF', 'dNone']);
    assert.deepEqual(await order('-_id'), ['dNone', 'dF', 'dE', 'dD', 'dC', 'dB', 'dA']);
    assert.deepEqual(await order('-_lastUpdated,_id'), ['dA', 'dB', 'dC', 'dD', 'dE', 'dF', 'dNone'], 'created in one batch: same instant');
    for (const sort of ['foo', 'date;', '_id,', 'code']) {
      await assert.rejects(store.search('Observation', `_sort=${sort}`), badRequest, sort);
    }
    await assert.rejects(store.search('Patient', '_sort=date'), badRequest);
  });
});

describe('everything, resultSet, findPatientByIdentifier', () => {
  test('everything: the Patient first, then every resource of theirs, all types', async () => {
    const all = await store.everything('p1');
    assert.equal(all[0]?.resourceType, 'Patient');
    assert.deepEqual(all.map((r) => `${r.resourceType}/${r.id}`), [
      'Patient/p1', 'Condition/cond-p1', 'MedicationRequest/med-p1',
      'Observation/lab-a1c-p1', 'Observation/lab-glu-p1', 'Observation/local-p1', 'Observation/vit-hr-p1',
    ]);
    const filtered = await store.everything('p1', { filter: sql`NOT (security && ${['R']}::text[]) AND resource_type <> 'Condition'` });
    assert.deepEqual(filtered.map((r) => r.id), ['p1', 'med-p1', 'lab-a1c-p1', 'local-p1', 'vit-hr-p1']);
    await assert.rejects(store.everything('nobody'), (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 404);
  });

  test('resultSet: every resource of the pointer query for the patient, no paging', async () => {
    const ids = async (query: string, patient: string) => (await store.resultSet(query, patient)).map((r) => r.id);
    assert.deepEqual(await ids('Observation?category=laboratory', 'p1'), ['lab-a1c-p1', 'lab-glu-p1', 'local-p1']);
    assert.deepEqual(await ids('Observation?category=vital-signs,laboratory', 'p1'), ['lab-a1c-p1', 'lab-glu-p1', 'local-p1', 'vit-hr-p1']);
    assert.deepEqual(await ids('Observation', 'p2'), ['lab-a1c-p2']);
    assert.deepEqual(await ids('Condition', 'p1'), ['cond-p1']);
    assert.deepEqual(await ids('Patient', 'p1'), ['p1']);
    assert.deepEqual(await ids('Observation?category=laboratory', 'nobody'), []);
    const many = Array.from({ length: 60 }, (_, i) => obs(`many-${String(i).padStart(2, '0')}`, { patient: 'pm', category: 'laboratory' }));
    await store.createMany(many);
    assert.equal((await store.resultSet('Observation?category=laboratory', 'pm')).length, 60, 'more than a default page');
    for (const query of ['Observation?code=4548-4', 'Observation?category=laboratory&patient=p2', 'Organization', "Observation?category=laboratory' --"]) {
      await assert.rejects(store.resultSet(query, 'p1'), badRequest, query);
    }
  });

  test('findPatientByIdentifier', async () => {
    assert.equal((await store.findPatientByIdentifier('urn:medledger:address', '0xaaa'))?.id, 'p1');
    assert.equal((await store.findPatientByIdentifier('urn:oid:1.2.3', 'MRN-2'))?.id, 'p2');
    assert.equal(await store.findPatientByIdentifier('urn:oid:1.2.3', 'MRN-9'), undefined);
    assert.equal(await store.findPatientByIdentifier('urn:oid:9.9', 'MRN-1'), undefined);
    await store.create({ resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3', value: 'MRN-2' }] });
    await assert.rejects(store.findPatientByIdentifier('urn:oid:1.2.3', 'MRN-2'), (err: unknown) => err instanceof OperationOutcomeError && getStatus(err.outcome) === 412);
  });

  test('countResources', async () => {
    const byType = await Promise.all(['Patient', 'Observation', 'Condition', 'MedicationRequest', 'Provenance'].map((t) => store.countResources(t)));
    assert.equal(await store.countResources(), byType.reduce((a, b) => a + b, 0));
  });
});
