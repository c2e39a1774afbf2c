/**
 * The gatekeeper's own EIP-712 digest and signature recovery (request-signature.ts) agree with viem's
 * generic hashTypedData / recoverAddress, which the signing side uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bytesToHex, hashTypedData, keccak256, recoverAddress, stringToBytes, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { keccak256Bytes, keccak256Hex } from '../src/protocol/keccak.js';
import { REQUEST_TYPES, bodyHash, createSignerKeys, recoverSigner, requestDigest, signRequest, verifyRequest, type SignerKeys } from '../src/protocol/request-signature.js';

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => bytesToHex(b));

test('the gatekeeper keccak256 equals viem keccak256 for any bytes and any string (UTF-8, lone surrogates too)', () => {
  fc.assert(
    // Past several 136-byte blocks (the audit leaf hashes about ten).
    fc.property(fc.uint8Array({ maxLength: 1500 }), fc.string({ unit: 'binary', maxLength: 600 }), (bytes, text) => {
      assert.equal(bytesToHex(keccak256Bytes(bytes)), keccak256(bytes));
      assert.equal(keccak256Hex(bytes), keccak256(bytes));
      assert.equal(keccak256Hex(text), keccak256(stringToBytes(text)));
    }),
    { numRuns: 1000 },
  );
});

test('the gatekeeper keccak256 agrees with viem at every padding boundary and past its WebAssembly memory', () => {
  for (const n of [0, 1, 134, 135, 136, 137, 271, 272, 273, 64_000, 65_000, 70_000]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
    assert.equal(keccak256Hex(bytes), keccak256(bytes), `${n} bytes`);
    const text = 'é'.repeat(n / 2);
    assert.equal(keccak256Hex(text), keccak256(stringToBytes(text)), `${n / 2} × é`);
  }
});

test('requestDigest equals viem hashTypedData for any method, path, body, gatekeeper, chain, nonce and expiry', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'post', 'PUT'),
      fc.string({ unit: 'grapheme', maxLength: 80 }).map((s) => `/fhir/R4/${s}`),
      fc.option(fc.string({ unit: 'binary', maxLength: 200 }), { nil: undefined }),
      hex(20),
      fc.integer({ min: 1, max: 2 ** 40 }),
      hex(32),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      (method, path, body, gatekeeper, chainId, nonce, expiry) => {
        const expected = hashTypedData({
          domain: { name: 'MedLedger Gatekeeper', version: '1', chainId },
          types: REQUEST_TYPES,
          primaryType: 'Request',
          message: { method: method.toUpperCase(), path, bodyHash: bodyHash(body), gatekeeper: gatekeeper as Hex, nonce: nonce as Hex, expiry },
        });
        assert.equal(bytesToHex(requestDigest({ method, path, body, gatekeeper: gatekeeper as Hex, chainId }, nonce as Hex, expiry)), expected);
      },
    ),
    { numRuns: 1000 },
  );
});

test('recoverSigner recovers what viem recovers, for v = 27/28 and 0/1, and refuses other recovery bytes', async () => {
  const account = privateKeyToAccount(generatePrivateKey());
  const fields = { method: 'GET', path: '/fhir/R4/Observation?category=laboratory', gatekeeper: account.address, chainId: 31337 };
  for (let i = 0; i < 4; i++) {
    const h = await signRequest(account, fields);
    const signature = h['x-medledger-signature'] as Hex;
    const digest = requestDigest(fields, h['x-medledger-nonce'] as Hex, BigInt(h['x-medledger-expiry']!));
    assert.equal(recoverSigner(digest, signature), account.address);
    assert.equal(recoverSigner(digest, signature), await recoverAddress({ hash: bytesToHex(digest), signature }));
    const yParity = (Number.parseInt(signature.slice(130), 16) - 27).toString(16).padStart(2, '0');
    assert.equal(recoverSigner(digest, `${signature.slice(0, 130)}${yParity}` as Hex), account.address);
    assert.throws(() => recoverSigner(digest, `${signature.slice(0, 130)}1d` as Hex));
    // Another digest recovers some other address, never the signer's.
    assert.notEqual(recoverSigner(digest.map((b, j) => (j === 0 ? b ^ 1 : b)), signature), account.address);
  }
});

test('a known signer is checked against its key and decided exactly as recovery decides', async () => {
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const account = privateKeyToAccount(generatePrivateKey());
  const other = privateKeyToAccount(generatePrivateKey());
  const gatekeeper = privateKeyToAccount(generatePrivateKey()).address;
  const fields = { method: 'GET', path: '/fhir/R4/Observation', gatekeeper, chainId: 31337 };
  const inner = createSignerKeys();
  let decidedByKey = 0;
  const keys: SignerKeys = {
    check(...args) {
      const known = inner.check(...args);
      if (known !== undefined) decidedByKey++;
      return known;
    },
    remember: (address, key) => inner.remember(address, key),
  };
  const verify = (h: Record<string, string>, k = keys) => verifyRequest(h, fields, undefined, k).then((v) => v.address, (e: Error) => e.message);
  // Unknown at first: recovered, then remembered; later requests are checked against the key.
  for (let i = 0; i < 3; i++) assert.equal(await verify(await signRequest(account, fields)), account.address);
  const variants = async () => {
    const h = await signRequest(account, fields);
    const sig = h['x-medledger-signature']!;
    const r = sig.slice(2, 66);
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const v = Number.parseInt(sig.slice(130), 16);
    const hex = (n: bigint) => n.toString(16).padStart(64, '0');
    const byte = (n: number) => n.toString(16).padStart(2, '0');
    return {
      good: h,
      yParity: { ...h, 'x-medledger-signature': `${sig.slice(0, 130)}${byte(v - 27)}` },
      flipped: { ...h, 'x-medledger-signature': `${sig.slice(0, 130)}${byte(v === 27 ? 28 : 27)}` },
      // (r, n − s) with the other parity is the same key's signature too (malleability): both paths accept it.
      malleated: { ...h, 'x-medledger-signature': `0x${r}${hex(N - s)}${byte(v === 27 ? 28 : 27)}` },
      otherS: { ...h, 'x-medledger-signature': `0x${r}${hex(s === 1n ? 2n : s - 1n)}${byte(v)}` },
      otherNonce: { ...h, 'x-medledger-nonce': `0x${'ab'.repeat(32)}` },
      claimedByOther: { ...h, 'x-medledger-address': other.address },
      signedByOther: { ...(await signRequest(other, fields)), 'x-medledger-address': account.address },
    };
  };
  for (let i = 0; i < 3; i++) {
    for (const [name, headers] of Object.entries(await variants())) {
      const cold = await verify(headers, createSignerKeys()); // recovery only
      assert.equal(await verify(headers), cold, name);
    }
  }
  assert.equal(await verify((await variants()).good), account.address);
  assert.ok(decidedByKey >= 3 * 6 + 1, `${decidedByKey} decisions made with the remembered key`);
});
