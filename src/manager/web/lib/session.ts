/**
 * The signed-in user: their key (decrypted here, kept in memory only), a chain client whose
 * transactions are signed in this page and relayed raw, and signed clients for each provider's
 * gatekeeper.
 */
import { type Address, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createLedgerClient, type LedgerClient } from '../../../chain/client.js';
import type { BreakGlassStatement } from '../../../sdk/emergency.js';
import { gatekeeperClient, type GatekeeperClient } from '../../../sdk/gatekeeper.js';
import { decryptKeystore, type KeystoreV3 } from './keystore.js';

export interface ManagerConfig {
  chainId: number;
  contract: Address;
  /** The research studies' registry (src/sdk/studies.ts), when the manager serves studies. */
  studyRegistry?: Address;
  deployBlock: string;
  rpcPath: string;
  providers: { name: string; label: string; address: Address; gatekeeperUrl: string }[];
  /** Providers that take part only in research studies (the UCI heart hospitals of the demo): not listed to patients. */
  researchSites?: { name: string; label: string; address: Address; gatekeeperUrl: string }[];
  /** Demo mode: demo patients can pick their name and the manager hands the page their encrypted keystore. */
  demo?: boolean;
  users: { name: string; role: string; label?: string; address: Address; demoSignIn?: boolean }[];
}

export interface Session {
  config: ManagerConfig;
  account: LocalAccount;
  /** The encrypted keystore this session was unlocked from (for the patient's backup file). */
  keystore: KeystoreV3;
  role: string;
  name: string;
  ledger: LedgerClient;
  /** A signed client for `provider`'s gatekeeper; with `breakGlass`, every request states that emergency. */
  gatekeeper(provider: Address, breakGlass?: BreakGlassStatement): GatekeeperClient;
  /** A person's name for an address, when the manager knows it. */
  nameOf(address: string): string;
}

export async function loadConfig(): Promise<ManagerConfig> {
  const res = await fetch('/api/config');
  if (!res.ok) throw new Error(`the manager answered ${res.status}`);
  return (await res.json()) as ManagerConfig;
}

export async function fetchKeystore(address: Address): Promise<KeystoreV3> {
  const res = await fetch(`/api/keystores/${address}`);
  if (!res.ok) throw new Error('this manager does not hand out that key: choose your keystore file instead');
  return (await res.json()) as KeystoreV3;
}

export async function openSession(config: ManagerConfig, keystore: KeystoreV3, password: string, onProgress?: (f: number) => void): Promise<Session> {
  const account = privateKeyToAccount(await decryptKeystore(keystore, password, onProgress));
  const ledger = createLedgerClient(
    { rpcUrl: new URL(config.rpcPath, location.href).toString(), chainId: config.chainId, contract: config.contract, studyRegistry: config.studyRegistry, deployBlock: BigInt(config.deployBlock) },
    { account, pollingIntervalMs: 100 },
  );
  const user = config.users.find((u) => u.address.toLowerCase() === account.address.toLowerCase());
  const clients = new Map<string, GatekeeperClient>();
  return {
    config,
    account,
    keystore,
    role: user?.role ?? 'third-party',
    name: user?.label ?? user?.name ?? account.address,
    ledger,
    gatekeeper(provider, breakGlass) {
      const p = [...config.providers, ...(config.researchSites ?? [])].find((x) => x.address.toLowerCase() === provider.toLowerCase());
      if (!p) throw new Error(`no gatekeeper known for provider ${provider}`);
      // Not cached: an emergency client is only for the reads made under that opening.
      if (breakGlass) return gatekeeperClient({ url: p.gatekeeperUrl, gatekeeper: p.address, chainId: config.chainId, account, breakGlass });
      let c = clients.get(p.address);
      if (!c) clients.set(p.address, (c = gatekeeperClient({ url: p.gatekeeperUrl, gatekeeper: p.address, chainId: config.chainId, account })));
      return c;
    },
    nameOf(address) {
      const a = address.toLowerCase();
      const u = config.users.find((x) => x.address.toLowerCase() === a);
      const p = [...config.providers, ...(config.researchSites ?? [])].find((x) => x.address.toLowerCase() === a);
      return p?.label ?? u?.label ?? u?.name ?? `${address.slice(0, 8)}…${address.slice(-4)}`;
    },
  };
}
