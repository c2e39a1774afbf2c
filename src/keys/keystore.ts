/**
 * Ethereum v3 JSON keystores in Node: encryption, and decryption with OpenSSL's scrypt (several times
 * faster than the pure-JS one at geth's cost). The format and the decoding are src/protocol/keystore.ts,
 * shared with the browser. https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/
 */
import { createCipheriv, randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt';
import { hexToBytes, type Hex } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { keystoreKdf, keystoreMac, openKeystore, type KeystoreV3 } from '../protocol/keystore.js';

export type { KeystoreV3 } from '../protocol/keystore.js';

/** scrypt cost: geth's "standard" (2^18) for real users; tests and demo users may pass a lighter n. */
export const STANDARD_SCRYPT_N = 1 << 18;

function derive(secret: string, salt: Uint8Array, n: number, r: number, p: number): Buffer {
  // OpenSSL (node:crypto) enforces RFC 7914's N < 2^(16·r); keystores with r = 1 and a large n (the
  // Web3 Secret Storage test vector, some old wallets) need the pure-JS scrypt, which is slower.
  if (r * 16 <= Math.log2(n)) return Buffer.from(nobleScrypt(secret, salt, { N: n, r, p, dkLen: 32 }));
  return scryptSync(secret, salt, 32, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
}

/** Encrypts `privateKey` under `password`. */
export function encryptKeystore(privateKey: Hex, password: string, n = STANDARD_SCRYPT_N): KeystoreV3 {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const r = 8;
  const p = 1;
  const key = derive(password.normalize('NFKC'), salt, n, r, p);
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()]);
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: ciphertext.toString('hex'),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n, r, p, salt: salt.toString('hex') },
      mac: keystoreMac(key, ciphertext),
    },
  };
}

/** Decrypts a v3 keystore; throws 'wrong password' when the MAC does not match. */
export function decryptKeystore(keystore: KeystoreV3, password: string): Hex {
  const { password: secret, salt, n, r, p } = keystoreKdf(keystore, password);
  return openKeystore(keystore, derive(secret, salt, n, r, p));
}
