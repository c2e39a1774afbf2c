/**
 * A SMART fixture: a chain, one provider's gatekeeper (SMART on, its clock settable), two patients
 * with lab and vital-sign Observations and a Condition published to chain, and helpers to register
 * apps, grant them, sign authorization codes as a patient, call the token endpoint and read.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Address, Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSiweNonce } from 'viem/siwe';
import { linkPatient, publishRecord } from '../../src/gatekeeper/publish/publish.js';
import type { RunningGatekeeper } from '../../src/gatekeeper/run.js';
import type { SmartApp } from '../../src/gatekeeper/smart/apps.js';
import type { SmartOptions } from '../../src/gatekeeper/smart/authority.js';
import { authorizationMessage, encodeCode, pkceChallenge, type ApprovedAuthorization } from '../../src/protocol/smart/authorization-code.js';
import { attestPatient, findRelationship, grantViewer, hashIdentity, registerPatient, revokeViewer, type LedgerClient } from '../../src/sdk/index.js';
import { PEPPER, startFixture, type Fixture } from '../../bench/harness/chain.js';
import { sendRaw, startTestGatekeeper } from './gatekeeper.js';

export const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category';

export interface SmartFixture {
  f: Fixture;
  provider: LedgerClient;
  gk: RunningGatekeeper;
  /** The patients' chain clients, private keys (for a keystore the browser unlocks) and local Patient ids. */
  patients: { client: LedgerClient; key: Hex; id: string }[];
  /** The gatekeeper's clock (unix seconds); tests move it. */
  clock: { now: number };
  fhirBase: string;
  register(app: Partial<SmartApp>): Promise<SmartApp>;
  grant(patient: number, viewer: Address, scope: string, expiresAt?: number): Promise<void>;
  revoke(patient: number, viewer: Address, scope: string): Promise<void>;
  /** An authorization code signed by `account` (the patient's key unless given). */
  code(approved: Omit<ApprovedAuthorization, 'aud' | 'codeChallenge'> & { verifier: string; aud?: string }, options?: { account?: LocalAccount; issuedAt?: number; domain?: string }): Promise<string>;
  token(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  read(token: string, path: string): Promise<{ status: number; body: { entry?: { resource: Resource }[] } & Record<string, unknown> }>;
  close(): Promise<void>;
}

function observation(patient: string, category: string, value: number): Resource {
  return { resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: LAB, code: category }] }], code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] }, subject: { reference: `Patient/${patient}` }, valueQuantity: { value, unit: 'g/dL' } };
}

/** `smart`: the gatekeeper's SMART options object (its authorizeUrl may be set later); its clock is the fixture's. `patients`: alice, then bob (default both). */
export async function startSmartFixture(options: { smart?: SmartOptions; corsOrigins?: string[]; patients?: number } = {}): Promise<SmartFixture> {
  const f = await startFixture();
  const provider = await f.newProvider();
  const clock = { now: Math.floor(Date.now() / 1000) };
  const gk = await startTestGatekeeper(provider, { corsOrigins: options.corsOrigins, smart: Object.assign(options.smart ?? { authorizeUrl: 'http://manager.test/smart/authorize' }, { now: () => clock.now }) });
  const patients: SmartFixture['patients'] = [];
  for (const name of ['alice', 'bob'].slice(0, options.patients ?? 2)) {
    const key = generatePrivateKey();
    const client = f.as(privateKeyToAccount(key));
    await f.runtime.fund(client.account!.address);
    const identityHash = hashIdentity(`urn:test|${name}`, PEPPER);
    const attestation = await attestPatient(provider, { identityHash, patient: client.account!.address });
    await registerPatient(client, { identityHash, attester: provider.account!.address, attestation });
    const p = await gk.store.create({ resourceType: 'Patient', name: [{ family: name }] });
    await linkPatient(gk.store, provider, p.id!, `urn:test|${name}`, PEPPER);
    const resources: Resource[] = [observation(p.id!, 'laboratory', 13.2), observation(p.id!, 'vital-signs', 72), { resourceType: 'Condition', subject: { reference: `Patient/${p.id}` }, code: { text: 'asthma' } }];
    for (const r of resources) await publishRecord(gk.store, provider, await gk.store.create(r));
    patients.push({ client, key, id: p.id! });
  }
  const relationshipOf = async (i: number) => (await findRelationship(provider, { patient: patients[i]!.client.account!.address, provider: provider.account!.address }))!;
  const fhirBase = `${gk.url}/fhir/R4`;
  return {
    f,
    provider,
    gk,
    patients,
    clock,
    fhirBase,
    async register(app) {
      const res = await sendRaw(gk, provider, { account: provider.account! }, { method: 'POST', path: '/smart/apps', body: JSON.stringify(app), contentType: 'application/json' });
      if (res.status !== 201) throw new Error(`registration refused: ${JSON.stringify(res.body)}`);
      return res.body as unknown as SmartApp;
    },
    async grant(i, viewer, scope, expiresAt = 0) {
      await grantViewer(patients[i]!.client, { relationshipId: await relationshipOf(i), viewer, scope, expiresAt });
    },
    async revoke(i, viewer, scope) {
      await revokeViewer(patients[i]!.client, { relationshipId: await relationshipOf(i), viewer, scope });
    },
    async code(approved, { account = patients[0]!.client.account!, issuedAt = clock.now, domain = 'manager.test' } = {}) {
      const message = authorizationMessage({
        domain,
        address: account.address,
        chainId: provider.chainId,
        statement: 'Let the app read my lab results.',
        nonce: generateSiweNonce(),
        issuedAt: new Date(issuedAt * 1000),
        approved: { clientId: approved.clientId, redirectUri: approved.redirectUri, scope: approved.scope, aud: approved.aud ?? fhirBase, codeChallenge: await pkceChallenge(approved.verifier) },
      });
      return encodeCode(message, await account.signMessage({ message }));
    },
    async token(form) {
      const res = await fetch(`${gk.url}/smart/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async read(token, path) {
      const res = await fetch(`${fhirBase}/${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as never };
    },
    async close() {
      await gk.close();
      await f.close();
    },
  };
}
