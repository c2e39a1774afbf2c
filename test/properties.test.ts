/**
 * Hostile input, property by property (fast-check, 1,000 cases each): every external input that a
 * pure function decides — SMART scopes, the on-chain query grammar, FHIR search strings, FHIR
 * resources, signed request headers, session tokens, CLI arguments — either comes out as a valid
 * value that keeps its invariants, or is refused with that parser's own clear error (bounded, one
 * line). Never another exception, never a value that breaks the rules.
 * The chain and the store get their own files (properties-chain, records-properties, gatekeeper-properties).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { getStatus, OperationOutcomeError } from '@medplum/core';
import { type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { parseExpiry, parseGatekeeperSpec, parseHash, parseRelationshipId } from '../src/cli/parse.js';
import { CATEGORIES, formatPointerQuery, isWithin, normalizePointerQuery, parsePointerQuery, UnsafeQueryError } from '../src/protocol/pointer-query.js';
import { formatScope, InvalidScopeError, intersectScopes, parseScope, parseScopes, scopeAllows, SmartPermission, type SmartScope } from '../src/consent/smart.js';
import { HEADERS, SignatureError, signRequest, verifyRequest } from '../src/protocol/request-signature.js';
import { createTokenIssuer } from '../src/gatekeeper/auth/tokens.js';
import { SUPPORTED_TYPES, validate } from '../src/records/fhir.js';
import { MAX_COUNT, MAX_OFFSET, parseSearch } from '../src/records/search.js';
import { RUNS } from './helpers/properties.js';


const INTERACTIONS = Object.values(SmartPermission);
const TYPES = Object.keys(CATEGORIES);
const ALL_CATEGORIES = [...new Set(Object.values(CATEGORIES).flat())] as string[];

/** Strings of every kind: ASCII, full Unicode, lone surrogates, control characters. */
const anyText = (maxLength = 60) =>
  fc.oneof(fc.string({ maxLength }), fc.string({ unit: 'binary', maxLength }), fc.string({ unit: 'grapheme', maxLength }), fc.string({ unit: fc.constantFrom(...'\u0000\n\r\t\u202e\ud800 %&=,?|:/.'), maxLength: 8 }));

/** Text glued from the grammar's own pieces and some noise: near-misses reach deep into a parser. */
const pieces = (tokens: readonly string[], maxLength = 8) =>
  fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: anyText(3) }), { maxLength }).map((p) => p.join(''));

/** A refusal's message is one bounded line: safe to print, log and send back. */
function assertClearMessage(message: string, what: string) {
  assert.ok(message.length > 0 && message.length <= 600, `${what}: message length ${message.length}`);
  assert.ok(!/[\u0000-\u001f\u007f]/.test(message), `${what}: control character in ${JSON.stringify(message)}`);
}

// ---------------------------------------------------------------- SMART scopes

test('SMART scopes: any text parses to a canonical scope or is refused with InvalidScopeError', () => {
  const text = fc.oneof(anyText(), pieces(['patient/', 'user/', 'system/', 'Observation', '*', '.', 'r', 's', 'cruds', 'read', 'write', '?', 'category=', 'code=', ',', '&', 'launch', 'openid', '__x', 'urn:x']));
  fc.assert(
    fc.property(text, (s) => {
      let scope: SmartScope;
      try {
        scope = parseScope(s);
      } catch (err) {
        assert.ok(err instanceof InvalidScopeError, `${JSON.stringify(s)}: ${String(err)}`);
        assertClearMessage(err.message, JSON.stringify(s));
        return;
      }
      assert.deepEqual(parseScope(formatScope(scope)), scope, 'format ∘ parse is stable');
      if (scope.kind === 'resource') assert.match(scope.permissions, /^c?r?u?d?s?$/);
    }),
    RUNS,
  );
});

test('SMART scopes: an intersection never allows what either side does not', () => {
  const scope = fc
    .record({
      context: fc.constantFrom('patient', 'user', 'system'),
      type: fc.constantFrom('Observation', 'Condition', 'Patient', '*'),
      perms: fc.subarray([...'cruds'], { minLength: 1 }),
      v1: fc.constantFrom('', 'read', 'write', '*'),
    })
    .map(({ context, type, perms, v1 }) => parseScope(`${context}/${type}.${v1 || perms.join('')}`));
  fc.assert(
    fc.property(fc.array(scope, { maxLength: 4 }), fc.array(scope, { maxLength: 4 }), fc.constantFrom('Observation', 'Condition', 'Patient', 'Encounter'), fc.constantFrom(...INTERACTIONS), (a, b, type, i) => {
      const both = intersectScopes(a, b).some((s) => scopeAllows(s, type, i));
      assert.equal(both, a.some((s) => scopeAllows(s, type, i)) && b.some((s) => scopeAllows(s, type, i)));
    }),
    RUNS,
  );
  // A whole scope string: each space-separated token is checked.
  fc.assert(
    fc.property(fc.array(fc.oneof(anyText(20), fc.constantFrom('patient/Observation.rs', 'openid', 'user/*.cruds')), { maxLength: 5 }), (tokens) => {
      try {
        const scopes = parseScopes(tokens.join(' '));
        for (const s of scopes) assert.deepEqual(parseScope(formatScope(s)), s);
      } catch (err) {
        assert.ok(err instanceof InvalidScopeError, String(err));
      }
    }),
    RUNS,
  );
});

// ---------------------------------------------------------------- on-chain query grammar

test('on-chain queries: anything is refused unless it is a type from the allowlist and allowed categories', () => {
  const text = fc.oneof(anyText(), pieces([...TYPES, '?', '?', 'category=', 'code=', ...ALL_CATEGORIES, ',', '&', '=', 'Patient/1', 'laboratory ', '%20']));
  fc.assert(
    fc.property(text, (q) => {
      let parsed;
      try {
        parsed = parsePointerQuery(q);
      } catch (err) {
        assert.ok(err instanceof UnsafeQueryError, `${JSON.stringify(q)}: ${String(err)}`);
        assertClearMessage(err.message, JSON.stringify(q));
        return;
      }
      const canonical = formatPointerQuery(parsed);
      // Nothing but an allowlisted type and allowlisted category codes can come out.
      assert.match(canonical, /^[A-Za-z]+(\?category=[A-Za-z-]+(,[A-Za-z-]+)*)?$/);
      assert.ok(Object.hasOwn(CATEGORIES, parsed.resourceType));
      const allowed: readonly string[] = CATEGORIES[parsed.resourceType];
      for (const c of parsed.categories) assert.ok(allowed.includes(c), c);
      assert.equal(normalizePointerQuery(canonical), canonical, 'normalisation is idempotent');
      assert.ok(isWithin(canonical, canonical));
      assert.ok(isWithin(canonical, parsed.resourceType), 'within the whole type');
    }),
    RUNS,
  );
});

test('on-chain queries: isWithin is a partial order on valid queries (scope ⊆ pointer)', () => {
  const query = fc.constantFrom(...TYPES).chain((type) => {
    const cats: readonly string[] = CATEGORIES[type as keyof typeof CATEGORIES];
    return cats.length ? fc.subarray([...cats]).map((c) => (c.length ? `${type}?category=${c.join(',')}` : type)) : fc.constant(type);
  });
  fc.assert(
    fc.property(query, query, query, (a, b, c) => {
      if (isWithin(a, b) && isWithin(b, a)) assert.equal(normalizePointerQuery(a), normalizePointerQuery(b), 'antisymmetric');
      if (isWithin(a, b) && isWithin(b, c)) assert.ok(isWithin(a, c), 'transitive');
      if (isWithin(a, b)) assert.equal(parsePointerQuery(a).resourceType, parsePointerQuery(b).resourceType);
    }),
    RUNS,
  );
});

// ---------------------------------------------------------------- FHIR search strings

test('FHIR search: any query is a bounded search or a 400 OperationOutcome; values never reach SQL text', () => {
  const key = fc.oneof(
    fc.constantFrom('code', 'category', 'status', 'patient', 'subject', '_id', 'date', '_lastUpdated', '_security', '_security:not', '_count', '_offset', '_sort', '_total', '_summary', 'identifier', 'code:text'),
    anyText(12),
  );
  // Values carry a marker that appears nowhere in the SQL the parser writes.
  const marked = fc.stringMatching(/^[a-z0-9]{0,6}$/).map((s) => `zqx${s}`);
  const value = fc.oneof(marked, anyText(40), fc.constantFrom("' OR 1=1 --", '2020-03', 'ge2020', 'laboratory', 'Patient/1', '-date', '0', '1001', '\u0000', 'http://loinc.org|4548-4', 'a,b'));
  fc.assert(
    fc.property(fc.constantFrom(...SUPPORTED_TYPES, 'Observation', 'observation', 'resources', "Observation'--"), fc.array(fc.tuple(key, value), { maxLength: 6 }), fc.boolean(), (type, pairs, asString) => {
      const params = new URLSearchParams(pairs);
      let search;
      try {
        search = parseSearch(type, asString ? params.toString() : params);
      } catch (err) {
        assert.ok(err instanceof OperationOutcomeError, `${params}: ${String(err)}`);
        assert.equal(getStatus(err.outcome), 400);
        assert.ok(JSON.stringify(err.outcome).length < 2000, 'the error does not echo unbounded input');
        return;
      }
      assert.ok(search.count >= 0 && search.count <= MAX_COUNT);
      assert.ok(search.offset >= 0 && search.offset <= MAX_OFFSET);
      const text = search.where.strings.join('$') + search.orderBy.strings.join('');
      assert.ok(!text.includes('zqx'), `a value reached the SQL text: ${text}`);
      for (const [k] of pairs) if (k.length > 2 && !/^[a-z_:]+$/i.test(k)) assert.ok(!text.includes(k), `a key reached the SQL text: ${k}`);
    }),
    RUNS,
  );
});

// ---------------------------------------------------------------- FHIR resources

test('FHIR resources: any JSON validates or is refused with a 400 OperationOutcome', () => {
  const element = fc.constantFrom('id', 'status', 'code', 'subject', 'category', 'meta', 'valueQuantity', 'effectiveDateTime', 'name', 'birthDate', 'gender', 'note', 'identifier', 'extension', 'contained', '__proto__', 'constructor', 'resourceType');
  const resource = fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...SUPPORTED_TYPES, 'Bogus', ''), fc.dictionary(fc.oneof(element, fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }))
        .map(([resourceType, rest]) => ({ ...rest, resourceType })),
    },
    {
      // A valid Observation with one element replaced.
      weight: 4,
      arbitrary: fc.tuple(element, fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyText(20))).map(([k, v]) => {
        const obs: Record<string, unknown> = {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
          subject: { reference: 'Patient/p1' },
          effectiveDateTime: '2020-03-01',
        };
        Object.defineProperty(obs, k, { value: v, enumerable: true, writable: true, configurable: true });
        return obs;
      }),
    },
  );
  let valid = 0;
  fc.assert(
    fc.property(resource, (r) => {
      try {
        validate(r);
        valid++;
        // What validates survives the trip through JSON (what the store and the data hash see).
        validate(JSON.parse(JSON.stringify(r)));
      } catch (err) {
        assert.ok(err instanceof OperationOutcomeError, `${JSON.stringify(r)?.slice(0, 200)}: ${String(err)}`);
        assert.equal(getStatus(err.outcome), 400);
        assert.ok(err.outcome.issue?.length, 'at least one issue says why');
      }
    }),
    RUNS,
  );
  assert.ok(valid > 0, 'some cases were valid');
});

// ---------------------------------------------------------------- signed request headers

const signer = privateKeyToAccount(generatePrivateKey());
const GATEKEEPER = privateKeyToAccount(generatePrivateKey()).address;
const CHAIN = 31337;
const FIELDS = { method: 'GET', path: '/fhir/R4/Observation?category=laboratory', gatekeeper: GATEKEEPER, chainId: CHAIN };

test('signed headers: any mutation of a signed request fails to verify, with a 400/401 SignatureError', async () => {
  const now = Math.floor(Date.now() / 1000);
  const originals = await Promise.all(Array.from({ length: 4 }, () => signRequest(signer, FIELDS, { now })));
  for (const h of originals) assert.equal((await verifyRequest(h, FIELDS, now)).address, signer.address, 'the unmutated request verifies');
  const hexOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => `0x${Buffer.from(b).toString('hex')}`);
  /** Changes one byte of a hex string (never only its case: the same bytes would rightly verify). */
  const flipByte = (hex: string, at: number, xor: number) => {
    const i = 2 + 2 * (at % ((hex.length - 2) / 2));
    const byte = (Number.parseInt(hex.slice(i, i + 2), 16) ^ xor).toString(16).padStart(2, '0');
    return `${hex.slice(0, i)}${byte}${hex.slice(i + 2)}`;
  };
  const header = fc.constantFrom(HEADERS.address, HEADERS.chainId, HEADERS.nonce, HEADERS.expiry, HEADERS.signature);
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), header: fc.constantFrom(HEADERS.address, HEADERS.nonce, HEADERS.signature), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('replace' as const), header, value: fc.oneof(anyText(80), hexOf(20), hexOf(32), hexOf(65), fc.integer({ min: -10, max: 2 ** 40 }).map(String)) }),
    fc.record({ kind: fc.constant('drop' as const), header: fc.constantFrom(HEADERS.address, HEADERS.nonce, HEADERS.expiry, HEADERS.signature) }),
    fc.record({ kind: fc.constant('expiry' as const), delta: fc.integer({ min: -400, max: 400 }).filter((d) => d !== 0) }),
    fc.record({ kind: fc.constant('request' as const), method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), path: fc.oneof(fc.constant(FIELDS.path), anyText(30).map((s) => `/fhir/R4/${s}`)), body: fc.option(anyText(30), { nil: undefined }) }),
    fc.record({ kind: fc.constant('target' as const), gatekeeper: hexOf(20), chainId: fc.integer({ min: 1, max: 2 ** 31 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: originals.length - 1 }), mutation, async (which, m) => {
      const headers: Record<string, string | undefined> = { ...originals[which]! };
      let fields: typeof FIELDS & { body?: string } = { ...FIELDS };
      if (m.kind === 'flip') headers[m.header] = flipByte(headers[m.header]!, m.at, m.xor);
      else if (m.kind === 'replace') {
        if (headers[m.header]?.toLowerCase() === m.value.toLowerCase()) return; // not a mutation
        headers[m.header] = m.value;
      } else if (m.kind === 'drop') delete headers[m.header];
      else if (m.kind === 'expiry') headers[HEADERS.expiry] = String(Number(headers[HEADERS.expiry]) + m.delta);
      else if (m.kind === 'request') {
        if (m.method === 'GET' && m.path === FIELDS.path && !m.body) return; // not a mutation
        fields = { ...fields, method: m.method, path: m.path, body: m.body };
      } else {
        if (m.gatekeeper.toLowerCase() === GATEKEEPER.toLowerCase() && m.chainId === CHAIN) return;
        fields = { ...fields, gatekeeper: m.gatekeeper as Address, chainId: m.chainId };
      }
      await assert.rejects(verifyRequest(headers, fields, now), (err: unknown) => {
        assert.ok(err instanceof SignatureError, `${JSON.stringify(m)}: ${String(err)}`);
        assert.ok(err.status === 400 || err.status === 401);
        assertClearMessage(err.message, JSON.stringify(m));
        return true;
      });
    }),
    RUNS,
  );
});

test('signed headers: arbitrary header sets are refused with a SignatureError, never verified', async () => {
  const value = fc.oneof(anyText(70), fc.array(anyText(10), { maxLength: 2 }), fc.constant(undefined), fc.constant(signer.address), fc.constant(`0x${'ab'.repeat(32)}`));
  const headers = fc.record(
    { [HEADERS.address]: value, [HEADERS.chainId]: value, [HEADERS.nonce]: value, [HEADERS.expiry]: fc.oneof(value, fc.integer({ min: 0, max: 2 ** 40 }).map(String)), [HEADERS.signature]: value },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(headers, async (h) => {
      await assert.rejects(verifyRequest(h as Record<string, string | string[] | undefined>, FIELDS), (err: unknown) => err instanceof SignatureError);
    }),
    RUNS,
  );
});

// ---------------------------------------------------------------- session tokens

test('session tokens: random strings and any change to a real token never verify', () => {
  const issuer = createTokenIssuer();
  const now = Math.floor(Date.now() / 1000);
  const { token } = issuer.issue(signer.address, now);
  assert.equal(issuer.verify(token, now), signer.address);
  fc.assert(
    fc.property(
      fc.oneof(
        anyText(80),
        fc.tuple(fc.nat({ max: token.length - 1 }), fc.string({ minLength: 1, maxLength: 1 })).map(([i, c]) => `${token.slice(0, i)}${c}${token.slice(i + 1)}`),
        fc.tuple(fc.nat({ max: token.length }), anyText(3)).map(([i, s]) => `${token.slice(0, i)}${s}${token.slice(i)}`),
      ),
      (t) => {
        if (t === token) return;
        assert.equal(issuer.verify(t, now), undefined, t);
      },
    ),
    RUNS,
  );
  // Another gatekeeper's tokens are worthless here, and every token expires.
  assert.equal(createTokenIssuer().verify(token, now), undefined);
  assert.equal(issuer.verify(token, now + 3600), undefined);
});

// ---------------------------------------------------------------- CLI arguments

const UINT64_MAX = 2 ** 64 - 1;

test('CLI: any --expires is an expiry the contract can take (0 or unix seconds in uint64) or one clear error', () => {
  const now = 1_800_000_000;
  const text = fc.oneof(
    anyText(30),
    pieces(['never', '0', '1', '9', '99999999999', 'd', 'h', 'm', 's', 'w', '-', '2026-', '01-', '31', 'T', ':', 'Z', '+', ' ', '1900-01-01', '275760-09-13', '9999-12-31']),
    fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.constantFrom('s', 'm', 'h', 'd', 'w', '')).map(([n, u]) => `${n}${u}`),
  );
  fc.assert(
    fc.property(text, (t) => {
      let expiry: number;
      try {
        expiry = parseExpiry(t, now);
      } catch (err) {
        assert.ok(err instanceof Error);
        assertClearMessage(err.message, JSON.stringify(t));
        return;
      }
      assert.ok(Number.isSafeInteger(expiry) && expiry >= 0 && expiry <= UINT64_MAX, `${JSON.stringify(t)} → ${expiry}`);
    }),
    RUNS,
  );
});

test('CLI: relationship ids and hashes are exact or refused with one clear line', () => {
  fc.assert(
    fc.property(fc.oneof(anyText(80), fc.bigInt({ min: 0n, max: 1n << 260n }).map((n) => (n % 2n ? n.toString() : `0x${n.toString(16)}`))), (t) => {
      try {
        const id = parseRelationshipId(t);
        if (id !== undefined) assert.ok(id > 0n && id < 1n << 256n); // a uint256: patient in the upper 160 bits (MedLedger.relationshipIdFor)
        else assert.ok(!/^(\d+|0x[0-9a-fA-F]+)$/.test(t), `${t} is a number`);
      } catch (err) {
        assertClearMessage((err as Error).message, JSON.stringify(t));
      }
      try {
        const hash = parseHash(t);
        assert.match(hash, /^0x[0-9a-f]{64}$/);
      } catch (err) {
        assertClearMessage((err as Error).message, JSON.stringify(t));
      }
    }),
    RUNS,
  );
  assert.equal(parseHash(`0x${'AB'.repeat(32)}`), `0x${'ab'.repeat(32)}` as Hex);
});

test('CLI: a --gatekeeper value is a provider and an http(s) URL with a host, or one clear line', () => {
  const spec = fc.oneof(anyText(80), fc.tuple(anyText(12), fc.constantFrom('http://', 'https://', 'ftp://', ''), anyText(24)).map(([p, s, u]) => `${p}=${s}${u}`));
  fc.assert(
    fc.property(spec, (t) => {
      try {
        const { provider, url } = parseGatekeeperSpec(t);
        assert.ok(provider.length > 0 && !/[=\s]/.test(provider), `${JSON.stringify(t)}: provider ${provider}`);
        assert.match(url, /^https?:\/\/[^\s/]\S*$/);
        assert.ok(!url.endsWith('/') && t.startsWith(`${provider}=${url}`));
      } catch (err) {
        assertClearMessage((err as Error).message, JSON.stringify(t));
        assert.match((err as Error).message, /use provider=url/);
      }
    }),
    RUNS,
  );
  assert.deepEqual(parseGatekeeperSpec('st-marys=http://127.0.0.1:8081//'), { provider: 'st-marys', url: 'http://127.0.0.1:8081' });
  assert.throws(() => parseGatekeeperSpec('st-marys=http:///'), /use provider=url/);
});
