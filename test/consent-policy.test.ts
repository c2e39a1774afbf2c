/**
 * The consent compiler (src/consent/policy.ts): requester + grants + SMART scopes → AccessPolicy →
 * SQL filter. Every decision is asserted twice: on the policy (canRead, explainDenial) and by running
 * the filter against a real embedded Postgres (PGlite) and comparing the rows it selects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import {
  canRead,
  compilePolicy,
  DIRECTORY_TYPES,
  explainDenial,
  policyFilter,
  SENSITIVE_LABELS,
  type ConsentPolicy,
  type Requester,
  type ViewerGrant,
} from '../src/consent/policy.js';
import { render, sql, type Sql } from '../src/records/sql.js';

const NOW = 1_800_000_000;
const OBS = 'http://terminology.hl7.org/CodeSystem/observation-category';
const COND = 'http://terminology.hl7.org/CodeSystem/condition-category';
const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const TYPES = ['Observation', 'Condition', 'DiagnosticReport', 'Patient', 'Organization'] as const;

/** A coding as the store indexes it: `system|code` and bare `code` (src/records/schema.ts). */
const coded = (system: string, ...codes: string[]): string[] => codes.flatMap((c) => [`${system}|${c}`, c]);

// id, resource_type, patient_id, categories, security
const ROWS: [string, string, string | null, string[], string[]][] = [
  ['a-lab', 'Observation', 'alice', coded(OBS, 'laboratory'), []],
  ['a-lab-normal', 'Observation', 'alice', coded(OBS, 'laboratory'), coded(CONF, 'N')],
  ['a-lab-hiv', 'Observation', 'alice', coded(OBS, 'laboratory'), coded(ACT, 'HIV')],
  ['a-lab-restricted', 'Observation', 'alice', coded(OBS, 'laboratory'), coded(CONF, 'R')],
  ['a-lab-bare', 'Observation', 'alice', ['laboratory'], ['V']], // codings written without a system
  ['a-vitals', 'Observation', 'alice', coded(OBS, 'vital-signs'), []],
  ['a-lab-vitals', 'Observation', 'alice', coded(OBS, 'laboratory', 'vital-signs'), []],
  ['a-problem', 'Condition', 'alice', coded(COND, 'problem-list-item'), []],
  ['a-diagnosis', 'Condition', 'alice', coded(COND, 'encounter-diagnosis'), []],
  ['a-diagnosis-psy', 'Condition', 'alice', coded(COND, 'encounter-diagnosis'), coded(ACT, 'PSY')],
  ['a-report', 'DiagnosticReport', 'alice', coded('http://terminology.hl7.org/CodeSystem/v2-0074', 'LAB'), []],
  ['a-patient', 'Patient', 'alice', [], []],
  ['b-lab', 'Observation', 'bob', coded(OBS, 'laboratory'), []],
  ['b-problem', 'Condition', 'bob', coded(COND, 'problem-list-item'), []],
  ['b-patient', 'Patient', 'bob', [], []],
  ['org', 'Organization', null, [], []],
  ['org-alice', 'Organization', 'alice', [], []], // a row with a patient: never a directory row
];
const ALICE_OBS = ['a-lab', 'a-lab-bare', 'a-lab-hiv', 'a-lab-normal', 'a-lab-restricted', 'a-lab-vitals', 'a-vitals'];

const PROVIDER: Requester = { role: 'provider' };
const ALICE: Requester = { role: 'patient', patientId: 'alice' };
const BOB: Requester = { role: 'patient', patientId: 'bob' };
const grant = (patientId: string, scope: string, expiresAt = 0): ViewerGrant => ({ patientId, scope, expiresAt });
const CAROL: Requester = {
  role: 'viewer',
  grants: [
    grant('alice', 'Observation?category=laboratory'),
    grant('alice', 'Condition?category=problem-list-item', NOW + 3600),
    grant('bob', 'Condition', NOW - 1), // expired
    grant('alice', 'DiagnosticReport?category=LAB', NOW), // expires this very second: expired
  ],
};
const DAVE: Requester = {
  role: 'viewer',
  grants: [grant('alice', 'Condition'), grant('bob', 'Observation?category=laboratory,vital-signs')],
};

let db: PGlite;
before(async () => {
  db = await PGlite.create('memory://');
  await db.exec(`CREATE TABLE resources (
    id text PRIMARY KEY, resource_type text NOT NULL, patient_id text,
    categories text[] NOT NULL DEFAULT '{}', security text[] NOT NULL DEFAULT '{}')`);
  for (const row of ROWS) await db.query('INSERT INTO resources VALUES ($1, $2, $3, $4, $5)', row);
});
after(async () => db.close());

/** Runs `SELECT id FROM resources WHERE <filter>`; undefined filter = not readable. */
async function select(filter: Sql | undefined): Promise<string[] | undefined> {
  if (!filter) return undefined;
  const { text, values } = render(sql`SELECT id FROM resources WHERE ${filter} ORDER BY id`);
  return (await db.query<{ id: string }>(text, values)).rows.map((r) => r.id);
}
const rows = (policy: ConsentPolicy, type: string, interaction?: 'read' | 'search') =>
  select(policyFilter(policy, type, interaction));
const compile = (r: Requester, scopes?: string[]) => compilePolicy(r, { now: NOW, ...(scopes ? { scopes } : {}) });

/** Asserts the exact rows per type (undefined = not readable), and that canRead agrees. */
async function assertRows(
  policy: ConsentPolicy,
  expected: Partial<Record<(typeof TYPES)[number], string[] | undefined>>,
): Promise<void> {
  for (const type of TYPES) {
    const want = expected[type];
    assert.deepEqual(await rows(policy, type), want && [...want].sort(), `${type}`);
    assert.equal(canRead(policy, type), want !== undefined, `canRead ${type}`);
    assert.equal(explainDenial(policy, type) === undefined, want !== undefined, `explainDenial ${type}`);
  }
}

describe('sensitive security labels', () => {
  test('Confidentiality R and V, and the v3-ActCode sensitivities HIV PSY SUD ETH STD SDV SEX', () => {
    assert.deepEqual(
      SENSITIVE_LABELS.map((l) => `${l.system.split('/').at(-1)}|${l.code}`),
      [
        'v3-Confidentiality|R',
        'v3-Confidentiality|V',
        ...['HIV', 'PSY', 'SUD', 'ETH', 'STD', 'SDV', 'SEX'].map((c) => `v3-ActCode|${c}`),
      ],
    );
  });
});

describe('requester kinds × resource types × labels (run against PGlite)', () => {
  test('provider: every resource of every type, every label, every patient (and none)', async () => {
    await assertRows(compile(PROVIDER), {
      Observation: [...ALICE_OBS, 'b-lab'],
      Condition: ['a-problem', 'a-diagnosis', 'a-diagnosis-psy', 'b-problem'],
      DiagnosticReport: ['a-report'],
      Patient: ['a-patient', 'b-patient'],
      Organization: ['org', 'org-alice'],
    });
  });

  test('patient: all of their own resources, sensitive labels included; nobody else’s', async () => {
    await assertRows(compile(ALICE), {
      Observation: ALICE_OBS,
      Condition: ['a-problem', 'a-diagnosis', 'a-diagnosis-psy'],
      DiagnosticReport: ['a-report'],
      Patient: ['a-patient'],
      // 'org': a directory resource, in nobody's compartment, readable by those the provider shares with
      Organization: ['org', 'org-alice'],
    });
    await assertRows(compile(BOB), {
      Observation: ['b-lab'],
      Condition: ['b-problem'],
      DiagnosticReport: [],
      Patient: ['b-patient'],
      Organization: ['org'],
    });
  });

  test('viewer: only granted slices, never a sensitive label, expired grants dropped', async () => {
    await assertRows(compile(CAROL), {
      // laboratory for alice; not vital signs alone, not bob, not HIV / R / bare V
      Observation: ['a-lab', 'a-lab-normal', 'a-lab-vitals'],
      // alice's problem list; bob's Condition grant expired
      Condition: ['a-problem'],
      // DiagnosticReport (expired at NOW), Patient: never granted → not readable
      Organization: ['org'], // directory: readable while any grant here is live
    });
    await assertRows(compile(DAVE), {
      Observation: ['b-lab'],
      Condition: ['a-problem', 'a-diagnosis'], // every category, but not the PSY-labelled diagnosis
      Organization: ['org'],
    });
  });

  test('a viewer with no grants reads nothing', async () => {
    const policy = compile({ role: 'viewer', grants: [] });
    assert.deepEqual(policy.resource, []);
    await assertRows(policy, {});
  });

  test('directory resources: only rows in nobody\'s compartment, and only while something here is live', async () => {
    const expiredOnly = compile({ role: 'viewer', grants: [grant('alice', 'Observation', NOW - 1)] });
    await assertRows(expiredOnly, {}); // an expired grant opens no directory either
    // org-alice is in alice's compartment: carol's grants do not cover Organization, so it stays hidden.
    const directory = policyFilter(compile(CAROL), 'Organization');
    assert.deepEqual(await select(directory), ['org']);
    assert.ok(!canRead(compile(CAROL), 'Device'), 'Device is not a directory type');
    // SMART: a patient/ scope can cover a directory type; a scope that does not name it cannot.
    assert.ok(canRead(compile(CAROL, ['patient/Organization.rs']), 'Organization'));
    assert.ok(!canRead(compile(CAROL, ['patient/Observation.rs']), 'Organization'));
  });
});

describe('grants', () => {
  test('expiry: 0 never expires; expiresAt <= now is expired; NaN counts as expired', async () => {
    const at = (expiresAt: number) => compile({ role: 'viewer', grants: [grant('alice', 'Patient', expiresAt)] });
    assert.ok(canRead(at(0), 'Patient'));
    assert.ok(canRead(at(NOW + 1), 'Patient'));
    assert.ok(!canRead(at(NOW), 'Patient'));
    assert.ok(!canRead(at(NOW - 1), 'Patient'));
    assert.ok(!canRead(at(Number.NaN), 'Patient'));
    assert.match(explainDenial(at(NOW), 'Patient')!, /^Patient: the grant "Patient" expired at 1800000000$/);
    assert.deepEqual(await rows(at(NOW + 1), 'Patient'), ['a-patient']);
    assert.throws(() => compilePolicy(ALICE, { now: Number.NaN }), RangeError);
  });

  test('grant scopes outside the on-chain grammar, or without a patient, are dropped (fail closed)', () => {
    const policy = compile({
      role: 'viewer',
      grants: [
        grant('alice', 'Observation?code=4548-4'),
        grant('alice', 'Observation?category=laboratory&patient=bob'),
        grant('', 'Condition'),
      ],
    });
    assert.deepEqual(policy.resource, []);
    assert.match(explainDenial(policy, 'Observation')!, /not an on-chain-safe query/);
    assert.match(explainDenial(policy, 'Condition')!, /names no patient/);
  });

  test('the compiled policy is AccessPolicy-shaped, readonly, with the grant written as criteria', () => {
    const policy = compile(CAROL);
    assert.equal(policy.resourceType, 'AccessPolicy');
    assert.equal(policy.resource.filter((r) => !r.directory).length, 2);
    assert.deepEqual(policy.resource.filter((r) => r.directory).map((r) => r.resourceType), [...DIRECTORY_TYPES]);
    const [lab] = policy.resource;
    assert.equal(lab?.resourceType, 'Observation');
    assert.equal(lab?.readonly, true);
    assert.deepEqual(lab?.interaction, ['read', 'vread', 'history', 'search']);
    assert.match(
      lab?.criteria ?? '',
      /^Observation\?_compartment=Patient\/alice&category=laboratory&_security:not=.*v3-ActCode\|HIV/,
    );
    assert.deepEqual(compile(PROVIDER).resource, [
      {
        resourceType: '*',
        readonly: true,
        interaction: ['read', 'vread', 'history', 'search'],
        categories: [],
        excludeSecurity: [],
      },
    ]);
  });
});

describe('requested SMART scopes only narrow', () => {
  test('provider + user/Observation.rs: Observation only', async () => {
    const policy = compile(PROVIDER, ['openid fhirUser user/Observation.rs']);
    await assertRows(policy, { Observation: [...ALICE_OBS, 'b-lab'] });
    assert.equal(explainDenial(policy, 'Condition'), 'Condition: the SMART scopes presented do not include it');
  });

  test('patient + patient/Observation.rs?category=system|laboratory: only system-coded lab results', async () => {
    await assertRows(compile(ALICE, [`patient/Observation.rs?category=${OBS}|laboratory`]), {
      Observation: ['a-lab', 'a-lab-hiv', 'a-lab-normal', 'a-lab-restricted', 'a-lab-vitals'], // a-lab-bare has no system
    });
  });

  test('viewer grant (laboratory) ∩ scope (vital-signs): resources carrying both', async () => {
    await assertRows(compile(CAROL, ['patient/Observation.rs?category=vital-signs']), { Observation: ['a-lab-vitals'] });
  });

  test('scopes that mean "everything" leave the grants as they are; they cannot widen', async () => {
    for (const [scopes, directory] of [
      [['patient/*.read'], true],
      [['user/*.cruds'], true],
      [['system/*.*'], true],
      [['patient/Observation.rs patient/Condition.rs patient/Patient.rs'], false],
    ] as const) {
      await assertRows(compile(CAROL, [...scopes]), {
        Observation: ['a-lab', 'a-lab-normal', 'a-lab-vitals'],
        Condition: ['a-problem'],
        ...(directory ? { Organization: ['org'] } : {}),
      });
    }
  });

  test('no resource scope, write-only scopes, or unenforceable params: nothing', async () => {
    for (const scopes of [
      [],
      ['openid fhirUser launch/patient offline_access'],
      ['patient/*.cud'],
      ['patient/Observation.rs?code=4548-4'],
    ]) {
      await assertRows(compile(CAROL, scopes), {});
    }
    assert.match(
      explainDenial(compile(CAROL, ['patient/Observation.rs?code=4548-4']), 'Observation')!,
      /cannot enforce scope parameter code/,
    );
    assert.match(explainDenial(compile(CAROL, ['patient/*.cud']), 'Observation')!, /SMART scopes presented do not include it/);
  });

  test('patient/ scopes need a patient in context: the provider gets nothing from them', async () => {
    const policy = compile(PROVIDER, ['patient/*.rs']);
    await assertRows(policy, {});
    assert.match(explainDenial(policy, 'Observation')!, /patient\/ scope needs a patient in context/);
  });

  test('.r without .s: read by id, no search', async () => {
    const policy = compile(CAROL, ['patient/Observation.r']);
    assert.equal(policyFilter(policy, 'Observation', 'search'), undefined);
    assert.deepEqual(await rows(policy, 'Observation', 'read'), ['a-lab', 'a-lab-normal', 'a-lab-vitals']);
    assert.ok(canRead(policy, 'Observation', 'read'));
    assert.equal(explainDenial(policy, 'Observation', 'search'), 'Observation: the SMART scopes presented do not allow search');
  });

  test('invalid requested scopes are refused', () => {
    assert.throws(() => compile(CAROL, ['patient/Observation.sr']), /invalid SMART scope/);
  });

  test('for many scope sets, rows with scopes ⊆ rows without, for every requester and type', async () => {
    const scopeSets = [
      'patient/*.rs',
      'user/*.cruds',
      'patient/Observation.rs',
      'user/Condition.s',
      'patient/*.r',
      `patient/Observation.rs?category=${OBS}|laboratory`,
      'user/Observation.rs?category=vital-signs,laboratory',
      `user/Condition.rs?category=${COND}|encounter-diagnosis`,
      'patient/Patient.rs',
      'system/*.rs?category=laboratory',
    ];
    for (const requester of [PROVIDER, ALICE, CAROL, DAVE]) {
      for (const scopes of scopeSets) {
        for (const type of TYPES) {
          const wide = (await rows(compile(requester), type)) ?? [];
          const narrow = (await rows(compile(requester, [scopes]), type)) ?? [];
          assert.ok(
            narrow.every((id) => wide.includes(id)),
            `${requester.role} ${scopes} ${type}: ${narrow} ⊄ ${wide}`,
          );
        }
      }
    }
  });
});

describe('SQL: placeholders only', () => {
  test('one rule renders as the documented fragment', () => {
    const { text, values } = render(policyFilter(compile(CAROL), 'Observation')!);
    assert.equal(text, '(resource_type = $1 AND patient_id = $2 AND categories && $3::text[] AND NOT (security && $4::text[]))');
    assert.deepEqual(values.slice(0, 3), ['Observation', 'alice', ['laboratory']]);
    assert.ok((values[3] as string[]).includes(`${ACT}|HIV`) && (values[3] as string[]).includes('HIV'));
  });

  test('rules are OR-ed; provider and patient rules have only the constraints they need', () => {
    const two = compile({
      role: 'viewer',
      grants: [grant('alice', 'Observation?category=laboratory'), grant('bob', 'Observation')],
    });
    assert.equal(
      render(policyFilter(two, 'Observation')!).text,
      '((resource_type = $1 AND patient_id = $2 AND categories && $3::text[] AND NOT (security && $4::text[])) OR ' +
        '(resource_type = $5 AND patient_id = $6 AND NOT (security && $7::text[])))',
    );
    assert.equal(render(policyFilter(compile(PROVIDER), 'Observation')!).text, '(resource_type = $1)');
    assert.equal(render(policyFilter(compile(ALICE), 'Observation')!).text, '(resource_type = $1 AND patient_id = $2)');
  });

  test('hostile patient ids, categories and resource types never reach the SQL text', async () => {
    const hostile = [
      "alice' OR '1'='1",
      "x'); DROP TABLE resources; --",
      "laboratory']::text[]/**/OR/**/TRUE/**/--",
      "Observation' OR 1=1 --",
    ];
    const injectedCategories = `x');DROP/**/TABLE/**/resources;--,${hostile[2]!}`; // an OAuth scope has no spaces or quotes
    const policies = [
      compile({ role: 'patient', patientId: hostile[0]! }),
      compile({ role: 'viewer', grants: [grant(hostile[1]!, 'Observation?category=laboratory')] }),
      compile(ALICE, [`patient/Observation.rs?category=${injectedCategories}`]),
      compile(PROVIDER),
    ];
    let checked = 0;
    for (const policy of policies) {
      for (const type of ['Observation', hostile[3]!]) {
        const filter = policyFilter(policy, type);
        if (!filter) continue;
        checked++;
        const { text } = render(filter);
        for (const h of [...hostile, ...injectedCategories.split(','), 'DROP', 'TRUE', "'", '"', '--', '/*'])
          assert.ok(!text.includes(h), `${text} contains ${h}`);
        assert.match(text, /^[()\sA-Za-z_=&$\d:[\]]+$/, text);
        assert.deepEqual(
          await select(filter),
          type === 'Observation' && policy === policies[3] ? [...ALICE_OBS, 'b-lab'].sort() : [],
        );
      }
    }
    assert.equal(checked, 6);
    assert.equal((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resources')).rows[0]?.n, ROWS.length);
  });
});
