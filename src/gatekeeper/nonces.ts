/**
 * Replay protection: each signed request's nonce is recorded in the provider database (so it survives
 * a restart) until the signature's expiry; a nonce seen before is a replay.
 */
import type { Db } from '../records/db.js';
import { sql } from '../records/sql.js';

export const NONCE_SCHEMA = `
CREATE TABLE IF NOT EXISTS gatekeeper_nonces (
  address text NOT NULL,
  nonce text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (address, nonce)
);
CREATE INDEX IF NOT EXISTS gatekeeper_nonces_expiry ON gatekeeper_nonces (expires_at);
`;

/** Records the nonce; false when it was already used (a replay). */
export async function useNonce(db: Db, address: string, nonce: string, expiry: number): Promise<boolean> {
  const rows = await db.query(sql`
    INSERT INTO gatekeeper_nonces (address, nonce, expires_at) VALUES (${address.toLowerCase()}, ${nonce.toLowerCase()}, to_timestamp(${expiry}))
    ON CONFLICT DO NOTHING RETURNING 1 AS ok`);
  return rows.length === 1;
}

/** Forgets nonces whose signatures have expired (they can no longer be replayed anyway). */
export async function pruneNonces(db: Db, now = Math.floor(Date.now() / 1000)): Promise<void> {
  await db.query(sql`DELETE FROM gatekeeper_nonces WHERE expires_at < to_timestamp(${now})`);
}
