/**
 * Users of this data directory: one v3 keystore per user in keys/, and users.json listing name,
 * role and address. Real users' passwords are never written anywhere. Only a *demo data directory*
 * (marked by demo.json, written when the first demo password is stored) keeps the passwords of its
 * generated users in users.json (`demoPassword`), so `medledger start --demo` can print them again
 * and the CLI can act as them without asking; nowhere else is a stored password ever used.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { decryptKeystore, encryptKeystore, STANDARD_SCRYPT_N, type KeystoreV3 } from './keystore.js';

export const USER_ROLES = ['governor', 'provider', 'patient', 'third-party', 'public-health'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface UserRecord {
  name: string;
  role: UserRole;
  address: Address;
  /** Shown to people, e.g. "St Mary's Hospital". */
  label?: string;
  /** The identity string hashed into the Registrar (patients and providers). */
  identity?: string;
  /** Demo users only. */
  demoPassword?: string;
}

const usersFile = (dataDir: string) => join(dataDir, 'users.json');
const demoMarker = (dataDir: string) => join(dataDir, 'demo.json');
const keyFile = (dataDir: string, address: Address) => join(dataDir, 'keys', `${address.toLowerCase()}.json`);

/** Writes `content` readable by the owner only (keys, passwords, caches of health data). */
export function writePrivateFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
}

/** Whether this is a demo data directory, whose generated users' passwords are kept in clear. */
export function isDemoDataDir(dataDir: string): boolean {
  return existsSync(demoMarker(dataDir));
}

/** Marks the data directory as a demo one (idempotent); the file says so to whoever opens it. */
export function markDemoDataDir(dataDir: string): void {
  if (isDemoDataDir(dataDir)) return;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const note = 'DEMO data directory: users.json keeps the demo users\' passwords in clear (demoPassword). Never keep real patients or real keys here.';
  writePrivateFile(demoMarker(dataDir), `${JSON.stringify({ demo: true, note }, null, 2)}\n`);
}

/** The stored password of a demo user; undefined for real users and outside a demo data directory. */
export function demoPasswordOf(dataDir: string, user: UserRecord): string | undefined {
  return isDemoDataDir(dataDir) ? user.demoPassword : undefined;
}

/** All users of the data directory. */
export function loadUsers(dataDir: string): UserRecord[] {
  return existsSync(usersFile(dataDir)) ? (JSON.parse(readFileSync(usersFile(dataDir), 'utf8')) as UserRecord[]) : [];
}

/** Finds a user by name or address; throws a one-line error when unknown. */
export function findUser(dataDir: string, nameOrAddress: string): UserRecord {
  const needle = nameOrAddress.toLowerCase();
  const user = loadUsers(dataDir).find((u) => u.name.toLowerCase() === needle || u.address.toLowerCase() === needle);
  if (!user) throw new Error(`unknown user "${nameOrAddress}" (see \`medledger users\`)`);
  return user;
}

/** Resolves a user name or a 0x address to an address. */
export function resolveAddress(dataDir: string, nameOrAddress: string): Address {
  if (isAddress(nameOrAddress, { strict: false })) return nameOrAddress as Address;
  if (nameOrAddress.startsWith('0x')) throw new Error(`"${nameOrAddress}" is not a valid address`);
  return findUser(dataDir, nameOrAddress).address;
}

/**
 * Creates a user: generates (or imports) a key, encrypts it into keys/<address>.json, lists it in
 * users.json. `scryptN` below the standard is for demo and test users only.
 */
export function createUser(
  dataDir: string,
  user: Omit<UserRecord, 'address'> & { password: string; privateKey?: Hex; scryptN?: number },
): UserRecord & { privateKey: Hex } {
  const users = loadUsers(dataDir);
  if (users.some((u) => u.name === user.name)) throw new Error(`user "${user.name}" already exists`);
  const privateKey = user.privateKey ?? generatePrivateKey();
  const address = privateKeyToAccount(privateKey).address;
  mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  writePrivateFile(keyFile(dataDir, address), JSON.stringify(encryptKeystore(privateKey, user.password, user.scryptN ?? STANDARD_SCRYPT_N)));
  const record: UserRecord = { name: user.name, role: user.role, address };
  if (user.label) record.label = user.label;
  if (user.identity) record.identity = user.identity;
  if (user.demoPassword) {
    // A stored password makes this a demo data directory, and says so.
    markDemoDataDir(dataDir);
    record.demoPassword = user.demoPassword;
  }
  writePrivateFile(usersFile(dataDir), JSON.stringify([...users, record], null, 2));
  return { ...record, privateKey };
}

/**
 * Decrypts a user's keystore: the password given, else (in a demo data directory only) the demo
 * password on record. `askFor` names where the password comes from, for the error.
 */
export function unlockUser(dataDir: string, nameOrAddress: string, password?: string, askFor = '--password or MEDLEDGER_PASSWORD'): LocalAccount {
  const user = findUser(dataDir, nameOrAddress);
  const secret = password ?? demoPasswordOf(dataDir, user);
  if (secret === undefined) throw new Error(`user "${user.name}" needs a password (${askFor})`);
  return privateKeyToAccount(decryptKeystore(readKeystore(dataDir, user.address), secret));
}

/** The encrypted keystore of a user of this data directory. */
export function readKeystore(dataDir: string, address: Address): KeystoreV3 {
  return JSON.parse(readFileSync(keyFile(dataDir, address), 'utf8')) as KeystoreV3;
}
