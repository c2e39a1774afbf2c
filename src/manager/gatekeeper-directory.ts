/**
 * Where the running system's gatekeepers listen, for commands run beside it (`medledger ml risk`
 * reads a patient's records through them): `medledger start` writes `gatekeepers.json` into the data
 * directory (provider address → base URL) while it runs and removes it when it stops, as it does
 * `node.json` for the chain. Nothing secret: the URLs are what the EHR Manager serves at /api/config.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAddress, type Address } from 'viem';

const file = (dataDir: string) => join(dataDir, 'gatekeepers.json');

export function announceGatekeepers(dataDir: string, urls: ReadonlyMap<Address, string>): void {
  const entries = Object.fromEntries([...urls].map(([provider, url]) => [provider.toLowerCase(), url]));
  writeFileSync(file(dataDir), `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
}

export function withdrawGatekeepers(dataDir: string): void {
  rmSync(file(dataDir), { force: true });
}

/** The announced gatekeepers (provider → URL); empty when no system runs on this data directory. */
export function announcedGatekeepers(dataDir: string): Map<Address, string> {
  if (!existsSync(file(dataDir))) return new Map();
  const entries = JSON.parse(readFileSync(file(dataDir), 'utf8')) as Record<string, string>;
  return new Map(Object.entries(entries).map(([provider, url]) => [getAddress(provider), url]));
}
