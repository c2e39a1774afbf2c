/**
 * The access matrix: every requester role × every resource of a seeded store (several types, with and
 * without sensitive security labels, two patients) — each cell asserted against an independent
 * oracle, through real signed HTTP requests to a gatekeeper whose decisions come from the chain.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { grantViewer, revokeViewer, type LedgerClient } from '../src/sdk/index.js';
import { GatekeeperRequestError } from '../src/sdk/gatekeeper.js';
import { PEPPER, startFixture, type Fixture } from '../bench/harness/chain.js';
import { clientFor, startTestGatekeeper } from './helpers/gatekeeper.js';

type Role = 'patient' | 'ownProvider' | 'otherProvider' | 'grantee' | 'expiredGrant' | 'revokedGrant' | 'stranger';
const ROLES: Role[] = ['patient', 'ownProvider', 'otherProvider', 'grantee', 'expiredGrant', 'revokedGrant', 'stranger'];
const LABELS = { none: [], HIV: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }], R: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] };
type Label = keyof typeof LABELS;
const TYPES = ['Observation', 'Condition', 'MedicationRequest', 'AllergyIntolerance'] as const;

interface Cell {
  resource: Resource;
  patient: 'alice' | 'bob';
  type: (typeof TYPES)[number];
  category?: string;
  label: Label;
}

/** The oracle: may `role` read this resource? (undefined = refused with `status`) */
function expected(role: Role, cell: Cell): 'read' | 403 | 410 {
  switch (role) {
    case 'ownProvider':
      return 'read';
    case 'patient':
      return cell.patient === 'alice' ? 'read' : 403;
    case 'grantee':
      return cell.patient === 'alice' && cell.type === 'Observation' && cell.category === 'laboratory' && cell.label === 'none' ? 'read' : 403;
    case 'expiredGrant':
      return cell.type === 'Observation' ? 410 : 403;
    default:
      return 403;
  }
}

let f: Fixture;
let provider: LedgerClient;
let gk: RunningGatekeeper;
const accounts = {} as Record<Role, LocalAccount>;
const cells: Cell[] = [];

function resourceFor(type: Cell['type'], subject: string, category: string | undefined, label: Label): Resource {
  const meta = LABELS[label].length ? { security: LABELS[label] } : undefined;
  const ref = { reference: `Patient/${subject}` };
  const cat = (system: string) => (category ? [{ coding: [{ system, code: category }] }] : undefined);
  switch (type) {
    case 'Observation':
      return { resourceType: 'Observation', meta, status: 'final', category: cat('http://terminology.hl7.org/CodeSystem/observation-category'), code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] }, subject: ref, effectiveDateTime: '2024-05-01', valueQuantity: { value: 13.2, unit: 'g/dL' } };
    case 'Condition':
      return { resourceType: 'Condition', meta, subject: ref, category: cat('http://terminology.hl7.org/CodeSystem/condition-category'), code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }] }, recordedDate: '2023-01-02' };
    case 'MedicationRequest':
      return { resourceType: 'MedicationRequest', meta, status: 'active', intent: 'order', subject: ref, medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }] }, authoredOn: '2024-02-03' };
    case 'AllergyIntolerance':
      return { resourceType: 'AllergyIntolerance', meta, patient: ref, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] }, category: category ? [category as 'food'] : undefined, code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005' }] } };
  }
}

before(async () => {
  f = await startFixture();
  provider = await f.newProvider();
  const other = await f.newProvider();
  const alice = await f.newPatient(provider, 'urn:test|alice');
  const bob = await f.newPatient(provider, 'urn:test|bob');
  accounts.patient = alice.account!;
  accounts.ownProvider = provider.account!;
  accounts.otherProvider = other.account!;
  for (const role of ['grantee', 'expiredGrant', 'revokedGrant', 'stranger'] as const) accounts[role] = await f.newAccount();

  gk = await startTestGatekeeper(provider);
  const ids: Record<string, string> = {};
  for (const [name] of [['alice'], ['bob']] as const) {
    const p = await gk.store.create({ resourceType: 'Patient', name: [{ family: name }] });
    ids[name] = p.id!;
    await linkPatient(gk.store, provider, p.id!, `urn:test|${name}`, PEPPER);
  }
  for (const patient of ['alice', 'bob'] as const) {
    for (const type of TYPES) {
      const categories = type === 'Observation' ? ['laboratory', 'vital-signs'] : type === 'Condition' ? ['problem-list-item'] : type === 'AllergyIntolerance' ? ['food'] : [undefined];
      for (const category of categories) {
        for (const label of Object.keys(LABELS) as Label[]) {
          const resource = await gk.store.create(resourceFor(type, ids[patient]!, category, label));
          await publishRecord(gk.store, provider, resource);
          cells.push({ resource, patient, type, category, label });
        }
      }
    }
  }
  // Alice's grants: one live, one that expires in a few seconds, one revoked.
  const relationshipId = (await import('../src/sdk/index.js')).findRelationship;
  const rel = (await relationshipId(provider, { patient: alice.account!.address, provider: provider.account!.address }))!;
  const scope = 'Observation?category=laboratory';
  // The embedded node mines at once; on a node with block times (2 s in `npm run test:external`) the
  // grant lands a block or two later and must still be in the future then, and the chain's clock
  // (its latest block) trails the wall clock by up to a block.
  const margin = f.runtime.node ? 1 : 10;
  const expiresAt = Math.floor(Date.now() / 1000) + 1 + margin;
  await grantViewer(alice, { relationshipId: rel, viewer: accounts.grantee.address, scope, expiresAt: 0 });
  await grantViewer(alice, { relationshipId: rel, viewer: accounts.expiredGrant.address, scope, expiresAt });
  await grantViewer(alice, { relationshipId: rel, viewer: accounts.revokedGrant.address, scope, expiresAt: 0 });
  await revokeViewer(alice, { relationshipId: rel, viewer: accounts.revokedGrant.address, scope });
  await new Promise((r) => setTimeout(r, Math.max(0, (expiresAt + margin) * 1000 - Date.now())));
});
after(async () => {
  await gk?.close();
  await f?.close();
});

async function outcomeOf(p: Promise<unknown>): Promise<'read' | number> {
  try {
    await p;
    return 'read';
  } catch (err) {
    if (err instanceof GatekeeperRequestError) return err.status;
    throw err;
  }
}

test('every role × resource cell: reads by id', async () => {
  let unauthorised = 0;
  let wrongfulDenials = 0;
  let asserted = 0;
  for (const role of ROLES) {
    const client = clientFor(gk, provider, accounts[role]);
    for (const cell of cells) {
      const want = expected(role, cell);
      const got = await outcomeOf(client.get(`/fhir/R4/${cell.type}/${cell.resource.id}`));
      if (got === 'read' && want !== 'read') unauthorised++;
      if (got !== 'read' && want === 'read') wrongfulDenials++;
      assert.equal(got, want, `${role} reading ${cell.patient}'s ${cell.type}/${cell.category ?? '-'} labelled ${cell.label}`);
      asserted++;
    }
  }
  assert.equal(unauthorised, 0);
  assert.equal(wrongfulDenials, 0);
  assert.equal(asserted, ROLES.length * cells.length);
});

test('every role × type: searches return exactly the permitted resources, with correct totals', async () => {
  for (const role of ROLES) {
    const client = clientFor(gk, provider, accounts[role]);
    for (const type of TYPES) {
      const permitted = cells.filter((c) => c.type === type && expected(role, c) === 'read').map((c) => c.resource.id).sort();
      const refusals = new Set(cells.filter((c) => c.type === type).map((c) => expected(role, c)));
      try {
        const { body } = await client.get<{ total: number; entry?: { resource: Resource }[] }>(`/fhir/R4/${type}?_count=100`);
        assert.deepEqual((body.entry ?? []).map((e) => e.resource.id).sort(), permitted, `${role} searching ${type}`);
        assert.equal(body.total, permitted.length);
      } catch (err) {
        assert.ok(err instanceof GatekeeperRequestError, String(err));
        assert.equal(permitted.length, 0, `${role} was refused ${type} (${err.status}) but may read ${permitted.length}`);
        assert.ok(refusals.has(err.status as 403 | 410), `${role} searching ${type}: ${err.status}`);
      }
    }
  }
});

test('paging stays correct under the consent filter', async () => {
  const client = clientFor(gk, provider, accounts.patient);
  const all = cells.filter((c) => c.patient === 'alice' && c.type === 'Observation').length;
  const page = await client.get<{ total: number; entry?: unknown[] }>('/fhir/R4/Observation?_count=2&_offset=2');
  assert.equal(page.body.total, all);
  assert.equal(page.body.entry?.length, 2);
});
