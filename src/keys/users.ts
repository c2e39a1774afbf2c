/**
 * Users of this data directory: one v3 keystore per user in keys/, and users.json listing name,
 * role and address. Demo users (generated at first start) also keep their password there, so
 * `npm start` can print it again; real users' passwords are never written anywhere.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { decryptKeystore, encryptKeystore, STANDARD_SCRYPT_N, type KeystoreV3 } from './keystore.js';

export const USER_ROLES = ['governor', 'provider', 'patient', 'third-party'] as const;
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
const keyFile = (dataDir: string, address: Address) => join(dataDir, 'keys', `${address.toLowerCase()}.json`);

/** Writes `content` readable by the owner only (keys, passwords, caches of health data). */
export function writePrivateFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
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
  if (user.demoPassword) record.demoPassword = user.demoPassword;
  writePrivateFile(usersFile(dataDir), JSON.stringify([...users, record], null, 2));
  return { ...record, privateKey };
}

/** Decrypts a user's keystore: the password given, else the demo password on record. */
export function unlockUser(dataDir: string, nameOrAddress: string, password?: string): LocalAccount {
  const user = findUser(dataDir, nameOrAddress);
  const secret = password ?? user.demoPassword;
  if (secret === undefined) throw new Error(`user "${user.name}" needs a password (--password or MEDLEDGER_PASSWORD)`);
  const keystore = JSON.parse(readFileSync(keyFile(dataDir, user.address), 'utf8')) as KeystoreV3;
  return privateKeyToAccount(decryptKeystore(keystore, secret));
}
