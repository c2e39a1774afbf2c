/**
 * The README's "Signing requests" section is enough to build a client. The client below is written
 * from that section alone, from keccak256 and secp256k1 primitives (@noble): nothing from
 * src/protocol or src/sdk. It must reproduce the README's worked examples (so the README and the code
 * cannot drift apart) and be accepted by a running gatekeeper, which must refuse a one-byte change
 * of what was signed. viem and the chain modules only set up the gatekeeper's side.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { privateKeyToAccount } from 'viem/accounts';
import { writeLedger } from '../src/chain/write.js';
import type { RunningGatekeeper } from '../src/gatekeeper/run.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { startTestGatekeeper } from './helpers/gatekeeper.js';

// ---- The client, from the README ----

const utf8 = (text: string) => new TextEncoder().encode(text);
const toHex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString('hex')}`;
function fromHex(hex: string, length?: number): Uint8Array {
  assert.match(hex, /^0x([0-9a-fA-F]{2})*$/);
  const bytes = Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));
  if (length !== undefined) assert.equal(bytes.length, length, `${hex} is not ${length} bytes`);
  return bytes;
}
const keccak = (data: Uint8Array | string) => keccak_256(typeof data === 'string' ? utf8(data) : data);
function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
/** A uint64/uint256 as a 32-byte big-endian word. */
const uint256 = (value: bigint) => fromHex(`0x${value.toString(16).padStart(64, '0')}`, 32);
/** An address left-padded with 12 zero bytes. */
const pad32 = (address: string) => concat(new Uint8Array(12), fromHex(address, 20));

const TYPE_HASH = keccak('Request(string method,string path,bytes32 bodyHash,address gatekeeper,bytes32 nonce,uint64 expiry)');
const DOMAIN_TYPE_HASH = keccak('EIP712Domain(string name,string version,uint256 chainId)');

interface SignedFields {
  method: string;
  path: string;
  /** The raw body bytes; none for a GET. */
  body?: Uint8Array;
  gatekeeper: string;
  chainId: number;
  nonce: string;
  expiry: bigint;
}

const domainSeparator = (chainId: number) => keccak(concat(DOMAIN_TYPE_HASH, keccak('MedLedger Gatekeeper'), keccak('1'), uint256(BigInt(chainId))));
const bodyHash = (body: Uint8Array | undefined) => keccak(body ?? new Uint8Array(0));
const structHash = (f: SignedFields) =>
  keccak(concat(TYPE_HASH, keccak(f.method.toUpperCase()), keccak(f.path), bodyHash(f.body), pad32(f.gatekeeper), fromHex(f.nonce, 32), uint256(f.expiry)));
const digestOf = (f: SignedFields) => keccak(concat(Uint8Array.of(0x19, 0x01), domainSeparator(f.chainId), structHash(f)));

/** r ‖ s ‖ v (v = 27/28), RFC 6979 deterministic. */
function sign(digest: Uint8Array, privateKey: string): string {
  const sig = secp256k1.sign(digest, fromHex(privateKey, 32));
  return toHex(concat(fromHex(`0x${sig.toCompactHex()}`, 64), Uint8Array.of(27 + sig.recovery)));
}
const addressOf = (privateKey: string) => toHex(keccak(secp256k1.getPublicKey(fromHex(privateKey, 32), false).subarray(1)).subarray(12));

function signatureHeaders(privateKey: string, f: SignedFields): Record<string, string> {
  return {
    'x-medledger-address': addressOf(privateKey),
    'x-medledger-chain-id': String(f.chainId),
    'x-medledger-nonce': f.nonce,
    'x-medledger-expiry': f.expiry.toString(),
    'x-medledger-signature': sign(digestOf(f), privateKey),
  };
}

// ---- The README's worked examples ----

interface Example {
  [field: string]: string;
}

function readmeExamples(): Example[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const examples: Example[] = [];
  for (const [, block] of readme.matchAll(/<!-- signing-example[^>]*-->\s*```text\n([\s\S]*?)```/g)) {
    const example: Example = {};
    for (const line of block!.split('\n').filter(Boolean)) {
      const colon = line.indexOf(':');
      example[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
    }
    examples.push(example);
  }
  return examples;
}

test('the README worked examples are what this implementation computes, step by step', () => {
  const examples = readmeExamples();
  assert.ok(examples.length >= 2, 'the README has its signing examples');
  assert.ok(examples.some((e) => e.body === '(none)') && examples.some((e) => e.body !== '(none)'), 'one example without a body, one with');
  for (const e of examples) {
    const fields: SignedFields = {
      method: e.method!,
      path: e.path!,
      body: e.body === '(none)' ? undefined : utf8(e.body!),
      gatekeeper: e.gatekeeper!,
      chainId: Number(e.chainId),
      nonce: e.nonce!,
      expiry: BigInt(e.expiry!),
    };
    const what = `${e.method} ${e.path}`;
    assert.equal(addressOf(e['private key']!), e.address!.toLowerCase(), what);
    assert.equal(toHex(TYPE_HASH), e.typeHash, what);
    assert.equal(toHex(domainSeparator(fields.chainId)), e.domainSeparator, what);
    assert.equal(toHex(bodyHash(fields.body)), e.bodyHash, what);
    assert.equal(toHex(structHash(fields)), e.structHash, what);
    assert.equal(toHex(digestOf(fields)), e.digest, what);
    assert.equal(sign(digestOf(fields), e['private key']!), e.signature, what);
  }
  // The empty-body hash the README quotes is keccak256 of zero bytes.
  assert.equal(toHex(bodyHash(undefined)), '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
});

// ---- Against a running gatekeeper ----

let f: Fixture;
let gk: RunningGatekeeper;
let chainId: number;
/** The provider's key and address: the gatekeeper serves this provider, and the provider may read and write everything in it. */
const providerKey = toHex(secp256k1.utils.randomPrivateKey());
const provider = addressOf(providerKey);

before(async () => {
  f = await startFixture();
  const account = privateKeyToAccount(providerKey as `0x${string}`);
  await f.runtime.fund(account.address);
  await writeLedger(f.governor, 'accreditProvider', [account.address, toHex(keccak(`provider|${account.address}`)) as `0x${string}`]);
  const ledger = f.as(account);
  chainId = ledger.chainId;
  gk = await startTestGatekeeper(ledger);
});
after(async () => {
  await gk?.close();
  await f?.close();
});

interface Answer {
  status: number;
  body: { resourceType?: string; id?: string; total?: number; entry?: { resource: { id: string; status: string } }[]; issue?: { code: string; diagnostics: string }[]; token?: string; expiresAt?: number };
  dataHash: string | null;
}

/** Signs `signed` (by default what is sent) with `key` and sends `method path body`; `headers` are added last. */
async function send(
  key: string,
  method: string,
  path: string,
  body?: Uint8Array,
  options: { signed?: Partial<SignedFields>; headers?: Record<string, string | undefined> } = {},
): Promise<Answer> {
  const fields: SignedFields = {
    method,
    path,
    body,
    gatekeeper: provider,
    chainId,
    nonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
    expiry: BigInt(Math.floor(Date.now() / 1000) + 60),
    ...options.signed,
  };
  const headers: Record<string, string> = { ...signatureHeaders(key, fields), ...(body ? { 'content-type': 'application/fhir+json' } : {}) };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  const res = await fetch(`${gk.url}${path}`, { method, headers, body: body && new Uint8Array(body) });
  return { status: res.status, body: (await res.json()) as Answer['body'], dataHash: res.headers.get('x-medledger-data-hash') };
}

const GLUCOSE = '{"resourceType":"Observation","status":"final","code":{"text":"Blutzucker nüchtern"}}';
const LOINC_QUERY = '/fhir/R4/Observation?code=http%3A%2F%2Floinc.org%7C2345-7&_count=10';
const diagnostics = (a: Answer) => a.body.issue?.[0]?.diagnostics ?? '';

test('the provider writes (POST, PUT) and reads (GET, no body) with requests signed by this implementation', async () => {
  const created = await send(providerKey, 'POST', '/fhir/R4/Observation', utf8(GLUCOSE));
  assert.equal(created.status, 201, diagnostics(created));
  const id = created.body.id!;
  assert.ok(id);

  const coded = { resourceType: 'Observation', id, status: 'amended', code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }], text: 'Blutzucker nüchtern' } };
  // Pretty-printed on purpose: the hash is of the bytes sent, whitespace included.
  const updated = await send(providerKey, 'PUT', `/fhir/R4/Observation/${id}`, utf8(JSON.stringify(coded, null, 2)));
  assert.equal(updated.status, 200, diagnostics(updated));

  // The README's example path: percent-encoded query, signed as sent.
  const found = await send(providerKey, 'GET', LOINC_QUERY);
  assert.equal(found.status, 200, diagnostics(found));
  assert.equal(found.body.resourceType, 'Bundle');
  assert.equal(found.body.total, 1);
  assert.deepEqual(found.body.entry!.map((e) => [e.resource.id, e.resource.status]), [[id, 'amended']]);
  assert.match(found.dataHash!, /^0x[0-9a-f]{64}$/);

  const read = await send(providerKey, 'GET', `/fhir/R4/Observation/${id}`);
  assert.equal(read.status, 200, diagnostics(read));
  assert.equal(read.body.id, id);

  // The chain-id header is optional.
  const bare = await send(providerKey, 'GET', `/fhir/R4/Observation/${id}`, undefined, { headers: { 'x-medledger-chain-id': undefined } });
  assert.equal(bare.status, 200, diagnostics(bare));
});

test('a one-byte change of the path or body after signing, or a body signed as none, is refused with 401', async () => {
  const count = async () => (await send(providerKey, 'GET', '/fhir/R4/Observation')).body.total;
  const before = await count();
  assert.ok(before! >= 1);
  const altered: [string, Promise<Answer>][] = [
    ['path', send(providerKey, 'GET', '/fhir/R4/Observation?_count=11', undefined, { signed: { path: '/fhir/R4/Observation?_count=10' } })],
    ['path (decoded)', send(providerKey, 'GET', LOINC_QUERY, undefined, { signed: { path: '/fhir/R4/Observation?code=http://loinc.org|2345-7&_count=10' } })],
    ['body', send(providerKey, 'POST', '/fhir/R4/Observation', utf8(GLUCOSE.replace('Blutzucker', 'Blutzuckar')), { signed: { body: utf8(GLUCOSE) } })],
    ['body signed as none', send(providerKey, 'POST', '/fhir/R4/Observation', utf8(GLUCOSE), { signed: { body: undefined } })],
    ['method', send(providerKey, 'GET', '/fhir/R4/Observation', undefined, { signed: { method: 'POST' } })],
    ['gatekeeper', send(providerKey, 'GET', '/fhir/R4/Observation', undefined, { signed: { gatekeeper: addressOf(toHex(secp256k1.utils.randomPrivateKey())) } })],
  ];
  for (const [what, answer] of altered) {
    const a = await answer;
    assert.equal(a.status, 401, what);
    assert.equal(a.body.resourceType, 'OperationOutcome', what);
    assert.equal(a.body.issue![0]!.code, 'login', what);
    assert.match(diagnostics(a), /signature does not match the address/, what);
  }
  assert.equal(await count(), before, 'nothing altered was written');
});

test('the refusals the README lists: replay, expiry window, chain, malformed and missing headers', async () => {
  const path = '/fhir/R4/Observation';
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(32)));
  assert.equal((await send(providerKey, 'GET', path, undefined, { signed: { nonce } })).status, 200);
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, Promise<Answer>, number, RegExp][] = [
    ['replayed nonce', send(providerKey, 'GET', path, undefined, { signed: { nonce } }), 401, /replayed request/],
    ['expired', send(providerKey, 'GET', path, undefined, { signed: { expiry: BigInt(now - 1) } }), 401, /signature expired/],
    ['beyond 300 s', send(providerKey, 'GET', path, undefined, { signed: { expiry: BigInt(now + 330) } }), 401, /more than 300 s ahead/],
    ['another chain', send(providerKey, 'GET', path, undefined, { signed: { chainId: chainId + 1 } }), 401, /signed for chain/],
    ['short nonce', send(providerKey, 'GET', path, undefined, { headers: { 'x-medledger-nonce': '0x1234' } }), 400, /nonce must be 32 bytes/],
    ['no signature', send(providerKey, 'GET', path, undefined, { headers: { 'x-medledger-signature': undefined } }), 401, /missing signature headers/],
  ];
  for (const [what, answer, status, reason] of cases) {
    const a = await answer;
    assert.equal(a.status, status, `${what}: ${diagnostics(a)}`);
    assert.match(diagnostics(a), reason, what);
  }
});

test('a stranger\'s correctly signed read is authenticated and refused 403 (no grant), not 401', async () => {
  const a = await send(toHex(secp256k1.utils.randomPrivateKey()), 'GET', '/fhir/R4/Observation');
  assert.equal(a.status, 403, diagnostics(a));
  assert.equal(a.body.issue![0]!.code, 'forbidden');
  assert.match(diagnostics(a), /no active grant covers it/);
});

test('a signed login without a body gives a session token that replaces the signature headers', async () => {
  const login = await send(providerKey, 'POST', '/auth/login');
  assert.equal(login.status, 200, diagnostics(login));
  const { token, expiresAt } = login.body;
  assert.ok(token);
  const now = Date.now() / 1000;
  assert.ok(expiresAt! > now + 800 && expiresAt! <= now + 901, `expires in 15 minutes: ${expiresAt}`);
  const withToken = await fetch(`${gk.url}/fhir/R4/Observation`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(withToken.status, 200);
  const forged = await fetch(`${gk.url}/fhir/R4/Observation`, { headers: { authorization: `Bearer ${token}x` } });
  assert.equal(forged.status, 401);
  assert.match(((await forged.json()) as Answer['body']).issue![0]!.diagnostics, /session token is invalid or expired/);
});
