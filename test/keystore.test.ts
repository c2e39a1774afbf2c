/**
 * Ethereum v3 keystores (src/keys/keystore.ts, decoded by src/protocol/keystore.ts in Node and the browser): round trip, wrong password, address field, and the
 * scrypt test vector of the Web3 Secret Storage Definition.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { decryptKeystore, encryptKeystore, type KeystoreV3 } from '../src/keys/keystore.js';
import { decryptKeystore as decryptInPage } from '../src/manager/web/lib/keystore.js';

const LIGHT_N = 1024;

test('a keystore decrypts to the key it was made from', () => {
  const key = generatePrivateKey();
  const keystore = encryptKeystore(key, 'correct horse', LIGHT_N);
  assert.equal(decryptKeystore(keystore, 'correct horse'), key);
  // Survives a JSON round trip (it is stored as a file).
  assert.equal(decryptKeystore(JSON.parse(JSON.stringify(keystore)) as KeystoreV3, 'correct horse'), key);
  assert.equal(keystore.version, 3);
  assert.equal(keystore.crypto.kdfparams.n, LIGHT_N);
  assert.equal(keystore.crypto.kdf, 'scrypt');
  assert.equal(keystore.crypto.cipher, 'aes-128-ctr');
});

test('the address field is the lower-case address of the key, without 0x', () => {
  const key = generatePrivateKey();
  const keystore = encryptKeystore(key, 'pw', LIGHT_N);
  assert.equal(keystore.address, privateKeyToAddress(key).slice(2).toLowerCase());
  assert.match(keystore.address, /^[0-9a-f]{40}$/);
});

test('a wrong password throws and reveals nothing', () => {
  const keystore = encryptKeystore(generatePrivateKey(), 'right', LIGHT_N);
  assert.throws(() => decryptKeystore(keystore, 'wrong'), /wrong password/);
  assert.throws(() => decryptKeystore(keystore, ''), /wrong password/);
  assert.throws(() => decryptKeystore(keystore, 'right '), /wrong password/);
});

test('salt and iv are fresh for every keystore', () => {
  const key = generatePrivateKey();
  const a = encryptKeystore(key, 'pw', LIGHT_N);
  const b = encryptKeystore(key, 'pw', LIGHT_N);
  assert.notEqual(a.crypto.kdfparams.salt, b.crypto.kdfparams.salt);
  assert.notEqual(a.crypto.cipherparams.iv, b.crypto.cipherparams.iv);
  assert.notEqual(a.crypto.ciphertext, b.crypto.ciphertext);
  assert.notEqual(a.id, b.id);
});

test('a tampered ciphertext fails the MAC; unsupported keystores are refused', () => {
  const keystore = encryptKeystore(generatePrivateKey(), 'pw', LIGHT_N);
  const flipped = (keystore.crypto.ciphertext[0] === '0' ? '1' : '0') + keystore.crypto.ciphertext.slice(1);
  assert.throws(() => decryptKeystore({ ...keystore, crypto: { ...keystore.crypto, ciphertext: flipped } }, 'pw'), /wrong password/);
  assert.throws(() => decryptKeystore({ ...keystore, version: 1 } as unknown as KeystoreV3, 'pw'), /unsupported keystore/);
  assert.throws(() => decryptKeystore({ ...keystore, crypto: { ...keystore.crypto, kdf: 'pbkdf2' } } as unknown as KeystoreV3, 'pw'), /unsupported keystore/);
});

test('decrypts go-ethereum\'s scrypt test vectors with r = 8 (31- and 30-byte keys)', () => {
  // go-ethereum accounts/keystore/testdata/v3_test_vector.json, "31_byte_key" and "30_byte_key".
  const vector = (iv: string, ciphertext: string, salt: string, mac: string) =>
    ({
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv },
        ciphertext,
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: 2, r: 8, p: 1, salt },
        mac,
      },
      id: 'fecfc4ce-e956-48fd-953b-30f8b52ed66c',
      version: 3,
    }) as unknown as KeystoreV3;
  const k31 = vector(
    'e0c41130a323adc1446fc82f724bca2f',
    '9517cd5bdbe69076f9bf5057248c6c050141e970efa36ce53692d5d59a3984',
    '711f816911c92d649fb4c84b047915679933555030b3552c1212609b38208c63',
    'd5e116151c6aa71470e67a7d42c9620c75c4d23229847dcc127794f0732b0db5',
  );
  assert.equal(decryptKeystore(k31, 'foo'), '0xfa7b3db73dc7dfdf8c5fbdb796d741e4488628c41fc4febd9160a866ba0f35');
  const k30 = vector(
    '3ca92af36ad7c2cd92454c59cea5ef00',
    '108b7d34f3442fc26ab1ab90ca91476ba6bfa8c00975a49ef9051dc675aa',
    'd0769e608fb86cda848065642a9c6fa046845c928175662b8e356c77f914cd3b',
    '75d0e6759f7b3cefa319c3be41680ab6beea7d8328653474bd06706d4cc67420',
  );
  assert.equal(decryptKeystore(k30, 'foo'), '0x81c29e8142bb6a81bef5a92bda7a8328a5c85bb2f9542e76f9b0f94fc018');
  assert.throws(() => decryptKeystore(k31, 'bar'), /wrong password/);
});

// node:crypto's scrypt (OpenSSL) enforces RFC 7914's N < 2^(16·r) and refuses this vector
// (n = 2^18, r = 1, p = 8); decryptKeystore falls back to a pure-JS scrypt for such parameters.
test(
  'decrypts the scrypt test vector of the Web3 Secret Storage Definition',
  () => {
    // https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/#scrypt
    // (also go-ethereum accounts/keystore/testdata/v3_test_vector.json, "wikipage_test_vector_scrypt").
    // It carries no address field; the decoder does not need one.
    const vector = {
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
        ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: 262144, r: 1, p: 8, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
        mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
      },
      id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
      version: 3,
    } as unknown as KeystoreV3;
    assert.equal(decryptKeystore(vector, 'testpassword'), '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d');
  },
);

// The browser's path (src/protocol/keystore.ts, re-exported by src/manager/web/lib/keystore.ts): the
// same decoder with the pure-JS scrypt, so a keystore Node wrote opens in the page, and the page
// refuses what Node refuses.
test('the shared pure-JS decoder opens what Node encrypted, and refuses a wrong password or format', async () => {
  const key = generatePrivateKey();
  const keystore = encryptKeystore(key, 'pässword', LIGHT_N);
  const progress: number[] = [];
  assert.equal(await decryptInPage(JSON.parse(JSON.stringify(keystore)) as KeystoreV3, 'pässword', (f) => progress.push(f)), key);
  assert.ok(progress.length > 0 && progress.at(-1)! <= 1, 'reports progress');
  // NFKC: the composed and decomposed spellings of ä are the same password, in both decoders.
  assert.equal(await decryptInPage(keystore, 'pa\u0308ssword'), key);
  assert.equal(decryptKeystore(keystore, 'pa\u0308ssword'), key);
  await assert.rejects(decryptInPage(keystore, 'password'), /wrong password/);
  await assert.rejects(decryptInPage({ ...keystore, crypto: { ...keystore.crypto, kdf: 'pbkdf2' } } as unknown as KeystoreV3, 'pässword'), /unsupported keystore/);
});
