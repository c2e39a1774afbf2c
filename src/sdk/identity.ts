/**
 * Identity hashing. An identity (e.g. `urn:oid:2.16.840.1.113883.4.1|123-45-6789`, or a hospital's
 * patient number) never goes on chain in clear. Identifiers have little entropy, so a bare hash could
 * be reversed by trying every number; the hash is therefore keyed with a network-wide pepper held by
 * the accredited providers (config, never on chain): keccak256("medledger:identity:v1" ‖ pepper ‖ id).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { concat, keccak256, stringToHex, type Hex } from 'viem';

/** Trims and Unicode-normalises an identity string; throws if empty. */
export function normalizeIdentity(identity: string): string {
  const normalized = identity.normalize('NFC').trim();
  if (normalized.length === 0) throw new Error('identity must not be empty');
  return normalized;
}

/** The on-chain identity hash of `identity` under the network's `pepper` (hex). */
export function hashIdentity(identity: string, pepper: Hex): Hex {
  return keccak256(concat([stringToHex('medledger:identity:v1'), pepper, stringToHex(normalizeIdentity(identity))]));
}

/**
 * The pepper of this installation: MEDLEDGER_IDENTITY_PEPPER when set (a real network shares one
 * among its providers), else one generated once into the data directory (demo).
 */
export function loadPepper(dataDir: string, configured?: Hex): Hex {
  if (configured) return configured;
  const file = join(dataDir, 'identity-pepper');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim() as Hex;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pepper = `0x${randomBytes(32).toString('hex')}` as Hex;
  writeFileSync(file, pepper, { mode: 0o600 });
  return pepper;
}
