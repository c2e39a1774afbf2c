/**
 * The patient's local copy of their Summary (relationships, pointers, grants), one file per address
 * in the data directory. It is a cache: `restoreFromChain` rebuilds it from the chain alone.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Address } from 'viem';
import { writePrivateFile } from '../keys/users.js';
import type { Summary } from '../sdk/summary.js';

const file = (dataDir: string, address: Address) => join(dataDir, 'local', `${address.toLowerCase()}.json`);

export function saveLocalSummary(dataDir: string, summary: Summary): void {
  mkdirSync(join(dataDir, 'local'), { recursive: true, mode: 0o700 });
  writePrivateFile(file(dataDir, summary.patient), JSON.stringify(summary, null, 2));
}

export function loadLocalSummary(dataDir: string, address: Address): Summary | undefined {
  const path = file(dataDir, address);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Summary) : undefined;
}

export function wipeLocalSummary(dataDir: string, address: Address): void {
  rmSync(file(dataDir, address), { force: true });
}
