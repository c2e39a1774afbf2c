/**
 * Ethereum v3 JSON keystores (the format geth, MetaMask and ethers read): scrypt key derivation,
 * AES-128-CTR encryption, keccak256 MAC. https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt';
import { bytesToHex, concat, hexToBytes, keccak256, type Hex } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';

export interface KeystoreV3 {
  version: 3;
  id: string;
  address: string;
  crypto: {
    cipher: 'aes-128-ctr';
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: 'scrypt';
    kdfparams: { dklen: 32; n: number; r: number; p: number; salt: string };
    mac: string;
  };
}

/** scrypt cost: geth's "standard" (2^18) for real users; tests and demo users may pass a lighter n. */
export const STANDARD_SCRYPT_N = 1 << 18;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Buffer {
  const secret = password.normalize('NFKC');
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
  const key = derive(password, salt, n, r, p);
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()]);
  const mac = keccak256(concat([key.subarray(16, 32), ciphertext]));
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
      mac: mac.slice(2),
    },
  };
}

/** Decrypts a v3 keystore; throws 'wrong password' when the MAC does not match. */
export function decryptKeystore(keystore: KeystoreV3, password: string): Hex {
  const { crypto } = keystore;
  if (keystore.version !== 3 || crypto.kdf !== 'scrypt' || crypto.cipher !== 'aes-128-ctr') {
    throw new Error('unsupported keystore (need v3, scrypt, aes-128-ctr)');
  }
  const { n, r, p, salt } = crypto.kdfparams;
  const key = derive(password, Buffer.from(salt, 'hex'), n, r, p);
  const ciphertext = Buffer.from(crypto.ciphertext, 'hex');
  const mac = keccak256(concat([key.subarray(16, 32), ciphertext]));
  if (mac.slice(2) !== crypto.mac.toLowerCase()) throw new Error('wrong password for keystore');
  const decipher = createDecipheriv('aes-128-ctr', key.subarray(0, 16), Buffer.from(crypto.cipherparams.iv, 'hex'));
  return bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}
