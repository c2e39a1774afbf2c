/**
 * Ethereum v3 JSON keystores (the format geth, MetaMask and ethers read), decoded the same way in
 * Node and in the browser: scrypt key derivation, a keccak256 MAC over the second half of the derived
 * key and the ciphertext, AES-128-CTR under the first half.
 * https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/
 *
 * Pure JavaScript (@noble), so the EHR Manager's page unlocks a key without it leaving the page.
 * src/keys/keystore.ts adds what only Node has: encryption, and a native scrypt for the usual costs.
 */
import { ctr } from '@noble/ciphers/aes';
import { scryptAsync } from '@noble/hashes/scrypt';
import { bytesToHex, concat, hexToBytes, keccak256, type Hex } from 'viem';

export interface KeystoreV3 {
  version: 3;
  id?: string;
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

/** The scrypt inputs a keystore asks for (the password is NFKC-normalised, as geth does). */
export interface KeystoreKdf {
  password: string;
  salt: Uint8Array;
  n: number;
  r: number;
  p: number;
}

/** Checks the format and gives the key derivation's inputs; throws 'unsupported keystore' otherwise. */
export function keystoreKdf(keystore: KeystoreV3, password: string): KeystoreKdf {
  const { crypto } = keystore;
  if (keystore.version !== 3 || crypto?.kdf !== 'scrypt' || crypto.cipher !== 'aes-128-ctr') {
    throw new Error('unsupported keystore (need v3, scrypt, aes-128-ctr)');
  }
  const { n, r, p, salt } = crypto.kdfparams;
  return { password: password.normalize('NFKC'), salt: hexToBytes(`0x${salt}`), n, r, p };
}

/** The keystore MAC: keccak256(derived key[16..32] ‖ ciphertext), without 0x. */
export function keystoreMac(derivedKey: Uint8Array, ciphertext: Uint8Array): string {
  return keccak256(concat([derivedKey.subarray(16, 32), ciphertext])).slice(2);
}

/** The private key, given the key derived from the password; throws 'wrong password' when the MAC does not match. */
export function openKeystore(keystore: KeystoreV3, derivedKey: Uint8Array): Hex {
  const { crypto } = keystore;
  const ciphertext = hexToBytes(`0x${crypto.ciphertext}`);
  if (keystoreMac(derivedKey, ciphertext) !== crypto.mac.toLowerCase()) throw new Error('wrong password for keystore');
  return bytesToHex(ctr(derivedKey.slice(0, 16), hexToBytes(`0x${crypto.cipherparams.iv}`)).decrypt(ciphertext));
}

/** Decrypts a keystore with the pure-JS scrypt, yielding to the page while it works (`onProgress`: 0 to 1). */
export async function decryptKeystore(keystore: KeystoreV3, password: string, onProgress?: (fraction: number) => void): Promise<Hex> {
  const kdf = keystoreKdf(keystore, password);
  const key = await scryptAsync(kdf.password, kdf.salt, { N: kdf.n, r: kdf.r, p: kdf.p, dkLen: 32, onProgress });
  return openKeystore(keystore, key);
}
