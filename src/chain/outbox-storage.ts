/** What the outbox (outbox.ts) keeps of each transaction, and where: a file replaced atomically, or memory. */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Address, Hex } from 'viem';

/** What a transaction does, kept so that it can be signed again when its signed bytes can no longer be mined. */
export interface OutboxIntent {
  /** Absent for a deployment. */
  to?: Address;
  data: Hex;
  /** Decimal strings (JSON has no bigint). */
  gas: string;
  value?: string;
}

/** One signed transaction, as it was sent. */
export interface OutboxEntry {
  hash: Hex;
  /** Lower-case sender. */
  from: Address;
  nonce: number;
  chainId: number;
  /** The signed, serialised transaction. */
  raw: Hex;
  /** Absent on entries written before intents were kept: those cannot be signed again. */
  intent?: OutboxIntent;
  /** Hashes of earlier signings of the same intent, oldest first (each was refused or replaced). */
  replaces?: Hex[];
}

/** Where entries live: read once when the outbox is created, written whole on every change. */
export interface OutboxStorage {
  load(): OutboxEntry[];
  save(entries: readonly OutboxEntry[]): void;
}

/** A file in the data directory, replaced atomically (write, fsync, rename) so a crash leaves the old or the new list. */
export function fileOutboxStorage(path: string): OutboxStorage {
  return {
    load: () => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as OutboxEntry[]) : []),
    save(entries) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify(entries));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
  };
}

/** Entries kept in memory only (tests; a process that accepts losing them on a crash). */
export function memoryOutboxStorage(): OutboxStorage {
  let saved: OutboxEntry[] = [];
  return { load: () => saved.map((e) => ({ ...e })), save: (entries) => void (saved = entries.map((e) => ({ ...e }))) };
}
