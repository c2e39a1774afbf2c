/**
 * The SMART token endpoint for patient apps (authorization code + PKCE S256, refresh): codes are the
 * patient's signed approval, tokens read exactly the on-chain grants behind them, and neither a
 * refresh nor an access token outlives or outreaches those grants.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import type { SmartApp } from '../src/gatekeeper/smart/apps.js';
import { startSmartFixture, type SmartFixture } from './helpers/smart.js';

const REDIRECT = 'http://app.test/callback';
const SCOPE = 'launch/patient patient/Observation.rs?category=laboratory offline_access';
const LAB_GRANT = 'Observation?category=laboratory';

let s: SmartFixture;
let app: SmartApp;

before(async () => {
  s = await startSmartFixture();
  app = await s.register({ clientId: 'growth-chart', name: 'Growth Chart', redirectUris: [REDIRECT] });
});
after(() => s?.close());

const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
  s.token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'growth-chart', code_verifier: verifier, ...extra });
const categories = (body: { entry?: { resource: { category?: { coding?: { code?: string }[] }[] } }[] }) =>
  (body.entry ?? []).map((e) => e.resource.category?.[0]?.coding?.[0]?.code).sort();

test('discovery names the manager authorize page, the token endpoint and PKCE S256', async () => {
  const res = await fetch(`${s.fhirBase}/.well-known/smart-configuration`);
  const doc = (await res.json()) as Record<string, unknown>;
  assert.equal(doc.authorization_endpoint, 'http://manager.test/smart/authorize');
  assert.equal(doc.token_endpoint, `${s.gk.url}/smart/token`);
  assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
  assert.ok((doc.capabilities as string[]).includes('launch-standalone'));
});

test('only the provider registers apps, and a registration is public without keys', async () => {
  const stranger = privateKeyToAccount(generatePrivateKey());
  const { sendRaw } = await import('./helpers/gatekeeper.js');
  const refused = await sendRaw(s.gk, s.provider, { account: stranger }, { method: 'POST', path: '/smart/apps', body: JSON.stringify({ clientId: 'x', name: 'X', redirectUris: [REDIRECT] }), contentType: 'application/json' });
  assert.equal(refused.status, 403);
  const shown = (await (await fetch(`${s.gk.url}/smart/apps/growth-chart`)).json()) as SmartApp;
  assert.deepEqual(shown, { clientId: 'growth-chart', name: 'Growth Chart', redirectUris: [REDIRECT], address: app.address });
});

test('no on-chain grant, no token', async () => {
  const code = await s.code({ clientId: 'growth-chart', redirectUri: REDIRECT, scope: SCOPE, verifier: 'v'.repeat(50) });
  const res = await redeem(code, 'v'.repeat(50));
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'invalid_grant');
  assert.match(String(res.body.error_description), /no live on-chain grant/);
});

test('PKCE S256: a wrong verifier is refused, the right one gets a token reading exactly the grant, once', async () => {
  await s.grant(0, app.address, LAB_GRANT, s.clock.now + 3600);
  const verifier = 'correct-horse-battery-staple-'.repeat(2);
  const code = await s.code({ clientId: 'growth-chart', redirectUri: REDIRECT, scope: SCOPE, verifier });
  const wrong = await redeem(code, `${verifier}x`);
  assert.equal(wrong.status, 400);
  assert.match(String(wrong.body.error_description), /PKCE/);
  assert.equal((await redeem(code, verifier, { redirect_uri: 'http://evil.test/cb' })).body.error, 'invalid_grant');

  const ok = await redeem(code, verifier);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.patient, s.patients[0]!.id);
  assert.equal(ok.body.scope, SCOPE);
  assert.equal(typeof ok.body.refresh_token, 'string');
  const token = ok.body.access_token as string;
  const obs = await s.read(token, 'Observation');
  assert.equal(obs.status, 200);
  assert.deepEqual(categories(obs.body as never), ['laboratory']); // alice's lab only: not her vitals, not bob's
  assert.equal((await s.read(token, 'Condition')).status, 403);

  const replay = await redeem(code, verifier);
  assert.equal(replay.body.error, 'invalid_grant');
  assert.match(String(replay.body.error_description), /already used/);
});

test('an expired, forged, phished or foreign code is refused', async () => {
  const verifier = 'v'.repeat(43);
  const approved = { clientId: 'growth-chart', redirectUri: REDIRECT, scope: SCOPE, verifier };
  const expired = await s.code(approved, { issuedAt: s.clock.now - 600 });
  assert.match(String((await redeem(expired, verifier)).body.error_description), /expired/);
  // Signed by someone else but claiming to be alice: the signature does not recover to her.
  const mallory = privateKeyToAccount(generatePrivateKey());
  const forged = await s.code(approved, { account: { ...mallory, address: s.patients[0]!.client.account!.address } });
  assert.match(String((await redeem(forged, verifier)).body.error_description), /forged/);
  const phished = await s.code(approved, { domain: 'manager.example.com' });
  assert.match(String((await redeem(phished, verifier)).body.error_description), /signed on manager\.example\.com/);
  const other = await s.code({ ...approved, aud: 'http://elsewhere.test/fhir/R4' });
  assert.match(String((await redeem(other, verifier)).body.error_description), /not this server/);
  assert.equal((await redeem('not-a-code', verifier)).body.error, 'invalid_grant');
});

test('a scope wider than the grant reads only the grant; a narrower one only itself', async () => {
  const verifier = 'w'.repeat(43);
  const wide = await redeem(await s.code({ clientId: 'growth-chart', redirectUri: REDIRECT, scope: 'launch/patient patient/*.rs', verifier }), verifier);
  assert.deepEqual(categories((await s.read(wide.body.access_token as string, 'Observation')).body as never), ['laboratory']);
  const vitals = await redeem(await s.code({ clientId: 'growth-chart', redirectUri: REDIRECT, scope: 'patient/Observation.rs?category=vital-signs', verifier }), verifier);
  assert.equal(vitals.body.error, 'invalid_grant'); // the app holds no vital-signs grant: no token
});

test('refresh works while the grant lives, never past its expiry, and not after a revoke', async () => {
  const verifier = 'r'.repeat(43);
  const ok = await redeem(await s.code({ clientId: 'growth-chart', redirectUri: REDIRECT, scope: SCOPE, verifier }), verifier);
  const refreshed = await s.token({ grant_type: 'refresh_token', refresh_token: ok.body.refresh_token as string });
  assert.equal(refreshed.status, 200);
  assert.equal((await s.read(refreshed.body.access_token as string, 'Observation')).status, 200);

  const start = s.clock.now;
  s.clock.now = start + 3601; // past the grant's expiry (1 h)
  try {
    const late = await s.token({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token as string });
    assert.equal(late.body.error, 'invalid_grant');
  } finally {
    s.clock.now = start;
  }

  await s.revoke(0, app.address, LAB_GRANT);
  assert.equal((await s.read(refreshed.body.access_token as string, 'Observation')).status, 403);
  const after = await s.token({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token as string });
  assert.equal(after.body.error, 'invalid_grant');
});

test('a forged or wrong-use token is refused with 401', async () => {
  const ok = await s.token({ grant_type: 'refresh_token', refresh_token: 'a.b.c' });
  assert.equal(ok.body.error, 'invalid_grant');
  assert.equal((await s.read('a.b.c', 'Observation')).status, 401);
});

test('openid fhirUser: an id_token naming the patient, checkable with the published key', async () => {
  await s.grant(0, app.address, LAB_GRANT, s.clock.now + 3600);
  const verifier = 'o'.repeat(43);
  const ok = await redeem(await s.code({ clientId: 'growth-chart', redirectUri: REDIRECT, scope: `openid fhirUser ${SCOPE}`, verifier }), verifier);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const jwks = (await (await fetch(`${s.gk.url}/smart/jwks`)).json()) as JSONWebKeySet;
  const { payload } = await jwtVerify(ok.body.id_token as string, createLocalJWKSet(jwks), { issuer: s.fhirBase, audience: 'growth-chart', currentDate: new Date(s.clock.now * 1000) });
  assert.equal(payload.fhirUser, `${s.fhirBase}/Patient/${s.patients[0]!.id}`);
  assert.equal(String(payload.sub).toLowerCase(), s.patients[0]!.client.account!.address.toLowerCase());
  const plain = await redeem(await s.code({ clientId: 'growth-chart', redirectUri: REDIRECT, scope: SCOPE, verifier }), verifier);
  assert.equal(plain.body.id_token, undefined);
});
