/**
 * SMART Backend Services (client_credentials + private_key_jwt, https://hl7.org/fhir/smart-app-launch/backend-services.html):
 * a registry's service, registered with its public keys, reads exactly what patients granted its
 * address on chain — across patients, narrowed by the scopes it asks for — and nothing else.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import type { SmartApp } from '../src/gatekeeper/smart/apps.js';
import { startSmartFixture, type SmartFixture } from './helpers/smart.js';

let s: SmartFixture;
let service: SmartApp;
let es384: CryptoKey;
let rs384: CryptoKey;

before(async () => {
  s = await startSmartFixture();
  const ec = await generateKeyPair('ES384');
  const rsa = await generateKeyPair('RS384');
  es384 = ec.privateKey;
  rs384 = rsa.privateKey;
  const keys = [{ ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES384' }, { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS384' }];
  service = await s.register({ clientId: 'registry', name: 'Asthma Registry', jwks: { keys } });
  // Alice shares her labs, Bob his vital signs and his conditions; Condition reads come only from Bob.
  await s.grant(0, service.address, 'Observation?category=laboratory');
  await s.grant(1, service.address, 'Observation?category=vital-signs');
  await s.grant(1, service.address, 'Condition');
});
after(() => s?.close());

function assertion(key: CryptoKey, alg: string, kid: string, claims: { aud?: string; exp?: number; jti?: string; iss?: string } = {}) {
  return new SignJWT({ jti: claims.jti ?? randomUUID() })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? 'registry')
    .setSubject(claims.iss ?? 'registry')
    .setAudience(claims.aud ?? `${s.gk.url}/smart/token`)
    .setExpirationTime(claims.exp ?? s.clock.now + 240)
    .sign(key);
}

const tokenFor = async (scope: string, client_assertion: string) =>
  s.token({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion });

const who = (body: { entry?: { resource: { subject?: { reference?: string }; category?: { coding?: { code?: string }[] }[] } }[] }) =>
  (body.entry ?? []).map((e) => `${e.resource.subject?.reference}:${e.resource.category?.[0]?.coding?.[0]?.code ?? ''}`).sort();

test('ES384 and RS384 assertions get tokens that read exactly the grants, across patients', async () => {
  const [alice, bob] = s.patients.map((p) => `Patient/${p.id}`);
  for (const [key, alg, kid] of [[es384, 'ES384', 'ec'], [rs384, 'RS384', 'rsa']] as const) {
    const res = await tokenFor('system/Observation.rs system/Condition.rs', await assertion(key, alg, kid));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.patient, undefined);
    const token = res.body.access_token as string;
    assert.deepEqual(who((await s.read(token, 'Observation')).body as never), [`${alice}:laboratory`, `${bob}:vital-signs`].sort());
    assert.deepEqual(who((await s.read(token, 'Condition')).body as never), [`${bob}:`]);
    assert.equal((await s.read(token, 'MedicationRequest')).status, 403);
  }
});

test('the scopes it asks for narrow its grants', async () => {
  const res = await tokenFor('system/Observation.rs?category=laboratory', await assertion(es384, 'ES384', 'ec'));
  const token = res.body.access_token as string;
  assert.deepEqual(who((await s.read(token, 'Observation')).body as never), [`Patient/${s.patients[0]!.id}:laboratory`]);
  assert.equal((await s.read(token, 'Condition')).status, 403);
});

test('refused: a replayed jti, a foreign key, another audience, a long-lived or expired assertion', async () => {
  const scope = 'system/Observation.rs';
  const once = await assertion(es384, 'ES384', 'ec');
  assert.equal((await tokenFor(scope, once)).status, 200);
  const replay = await tokenFor(scope, once);
  assert.equal(replay.status, 401);
  assert.match(String(replay.body.error_description), /jti/);
  const foreign = (await generateKeyPair('ES384')).privateKey;
  assert.equal((await tokenFor(scope, await assertion(foreign, 'ES384', 'ec'))).body.error, 'invalid_client');
  assert.equal((await tokenFor(scope, await assertion(es384, 'ES384', 'ec', { aud: 'http://elsewhere.test/token' }))).body.error, 'invalid_client');
  assert.match(String((await tokenFor(scope, await assertion(es384, 'ES384', 'ec', { exp: s.clock.now + 3600 }))).body.error_description), /5 minutes/);
  assert.equal((await tokenFor(scope, await assertion(es384, 'ES384', 'ec', { exp: s.clock.now - 10 }))).body.error, 'invalid_client');
  assert.equal((await tokenFor(scope, await assertion(es384, 'ES384', 'ec', { iss: 'nobody' }))).body.error, 'invalid_client');
});

test('a revoke on chain refuses the service at its next request', async () => {
  const res = await tokenFor('system/Condition.rs', await assertion(es384, 'ES384', 'ec'));
  const token = res.body.access_token as string;
  assert.equal((await s.read(token, 'Condition')).status, 200);
  await s.revoke(1, service.address, 'Condition');
  assert.equal((await s.read(token, 'Condition')).status, 403);
  assert.equal((await tokenFor('system/Condition.rs', await assertion(es384, 'ES384', 'ec'))).body.error, 'invalid_grant');
});
