/**
 * Demo users, generated on the first `medledger start --demo` of a data directory: keys and passwords
 * are random and live only there (never in the repository); storing them marks it as a demo data
 * directory (see src/keys/users.ts), the only kind where the CLI uses a stored password.
 */
import { randomBytes } from 'node:crypto';
import type { ChainRuntime } from '../chain/runtime.js';
import { DEMO_SCRYPT_N } from '../chain/runtime.js';
import { createLedgerClient } from '../chain/client.js';
import { createUser, loadUsers, unlockUser, type UserRecord } from '../keys/users.js';
import { accreditProvider, attestPatient, getAccount, registerPatient } from '../sdk/registrar.js';
import { hashIdentity } from '../sdk/identity.js';
import type { Hex } from 'viem';

export const DEMO_USERS: Omit<UserRecord, 'address'>[] = [
  { name: 'st-marys', role: 'provider', label: "St Mary's Hospital", identity: 'urn:medledger:org|st-marys' },
  { name: 'city-lab', role: 'provider', label: 'City Laboratory', identity: 'urn:medledger:org|city-lab' },
  { name: 'alice', role: 'patient', label: 'Alice (patient)', identity: 'urn:medledger:demo-mrn|100001' },
  { name: 'bob', role: 'patient', label: 'Bob (patient)', identity: 'urn:medledger:demo-mrn|100002' },
  { name: 'carol', role: 'third-party', label: 'Carol (researcher)' },
  // The public-health authority the demo providers report weekly surveillance counts to (src/manager/outbreak-source.ts).
  { name: 'dana', role: 'public-health', label: 'Dana (public health)' },
];

/**
 * Creates the demo users that are missing, funds them, accredits the providers and registers the
 * patients (attested by the first provider). Idempotent: a second start changes nothing.
 */
export async function ensureDemoUsers(
  runtime: ChainRuntime,
  dataDir: string,
  pepper: Hex,
  log: (line: string) => void,
): Promise<void> {
  const existing = new Set(loadUsers(dataDir).map((u) => u.name));
  const reader = createLedgerClient(runtime.deployment, { pollingIntervalMs: 20 });
  const client = (name: string) =>
    createLedgerClient(runtime.deployment, { account: unlockUser(dataDir, name), pollingIntervalMs: 20 });
  for (const demo of DEMO_USERS) {
    if (!existing.has(demo.name)) {
      const password = randomBytes(9).toString('base64url');
      createUser(dataDir, { ...demo, password, demoPassword: password, scryptN: DEMO_SCRYPT_N });
      log(`created demo user ${demo.name}`);
    }
    const user = loadUsers(dataDir).find((u) => u.name === demo.name)!;
    await runtime.fund(user.address);
    const account = await getAccount(reader, user.address);
    if (demo.role === 'provider' && !account.accredited) {
      if (!runtime.governor) throw new Error('the governor key is needed to accredit the demo providers');
      const governor = createLedgerClient(runtime.deployment, { account: runtime.governor, pollingIntervalMs: 20 });
      await accreditProvider(governor, { provider: user.address, identityHash: hashIdentity(demo.identity!, pepper) });
      log(`accredited ${demo.name}`);
    }
    if (demo.role === 'patient' && account.role === 'none') {
      const attester = client(DEMO_USERS[0]!.name);
      const identityHash = hashIdentity(demo.identity!, pepper);
      const attestation = await attestPatient(attester, { identityHash, patient: user.address });
      await registerPatient(client(demo.name), { identityHash, attester: attester.account!.address, attestation });
      log(`registered patient ${demo.name}`);
    }
  }
}
