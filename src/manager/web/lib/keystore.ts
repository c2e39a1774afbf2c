/**
 * Decrypting a v3 keystore in the browser (https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/):
 * scrypt from @noble/hashes, AES-128-CTR from WebCrypto, MAC by keccak256. The password and the key
 * never leave the page.
 */
import { scryptAsync } from '@noble/hashes/scrypt';
import { bytesToHex, concat, hexToBytes, keccak256, type Hex } from 'viem';

export interface KeystoreV3 {
  version: 3;
  address: string;
  crypto: {
    cipher: string;
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: string;
    kdfparams: { dklen: number; n: number; r: number; p: number; salt: string };
    mac: string;
  };
}

export async function decryptKeystore(keystore: KeystoreV3, password: string, onProgress?: (fraction: number) => void): Promise<Hex> {
  const { crypto: c } = keystore;
  if (keystore.version !== 3 || c.kdf !== 'scrypt' || c.cipher !== 'aes-128-ctr') throw new Error('unsupported keystore (need v3, scrypt, aes-128-ctr)');
  const { n, r, p, salt } = c.kdfparams;
  const key = await scryptAsync(password.normalize('NFKC'), hexToBytes(`0x${salt}`), { N: n, r, p, dkLen: 32, onProgress });
  const ciphertext = hexToBytes(`0x${c.ciphertext}`) as Uint8Array<ArrayBuffer>;
  const mac = keccak256(concat([key.subarray(16, 32), ciphertext]));
  if (mac.slice(2) !== c.mac.toLowerCase()) throw new Error('wrong password for this keystore');
  const aes = await crypto.subtle.importKey('raw', key.slice(0, 16), 'AES-CTR', false, ['decrypt']);
  const plain = await crypto.subtle.decrypt({ name: 'AES-CTR', counter: hexToBytes(`0x${c.cipherparams.iv}`) as Uint8Array<ArrayBuffer>, length: 128 }, aes, ciphertext);
  return bytesToHex(new Uint8Array(plain));
}
