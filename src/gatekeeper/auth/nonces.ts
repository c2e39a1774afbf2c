/**
 * Replay protection: each signed request's nonce is recorded in the provider database (so it survives
 * a restart) until the signature's expiry; a nonce seen before is a replay. Claims are group-committed
 * with the audit log (journal.ts), and the request is decided only once its nonce is stored.
 */
import type { Db } from '../../records/db.js';
import { sql } from '../../records/sql.js';
import { journalOf } from '../audit/journal.js';

export const NONCE_SCHEMA = `
CREATE TABLE IF NOT EXISTS gatekeeper_nonces (
  address text NOT NULL,
  nonce text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (address, nonce)
);
CREATE INDEX IF NOT EXISTS gatekeeper_nonces_expiry ON gatekeeper_nonces (expires_at);
`;

/** Records the nonce durably; false when it was already used (a replay). */
export function useNonce(db: Db, address: string, nonce: string, expiry: number): Promise<boolean> {
  return journalOf(db).claimNonce(address, nonce, expiry);
}

/** Forgets nonces whose signatures have expired (they can no longer be replayed anyway). */
export async function pruneNonces(db: Db, now = Math.floor(Date.now() / 1000)): Promise<void> {
  await db.query(sql`DELETE FROM gatekeeper_nonces WHERE expires_at < to_timestamp(${now})`);
}
