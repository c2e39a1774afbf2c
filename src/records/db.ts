/**
 * The one SQL seam: PGlite (embedded Postgres in a data directory) by default, PostgreSQL when a
 * connection string is given. Both speak the same dialect (PG 15), so everything above this file is
 * written once.
 */
import { render, type Sql } from './sql.js';

export interface Db {
  /** Runs one statement; rows come back as plain objects (jsonb parsed, timestamptz as Date). */
  query<T = Record<string, unknown>>(fragment: Sql): Promise<T[]>;
  /** Runs `fn` in a transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** Runs several statements of trusted text (schema). */
  exec(text: string): Promise<void>;
  close(): Promise<void>;
  readonly kind: 'pglite' | 'postgres';
}

/** Opens PGlite at `dataDir` (a directory; 'memory://' for tests) or PostgreSQL at `url`. */
export async function openDb(target: { url: string } | { dataDir: string }): Promise<Db> {
  return 'url' in target ? openPostgres(target.url) : openPglite(target.dataDir);
}

async function openPglite(dataDir: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create(dataDir);
  type Q = { query: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }> };
  const wrap = (q: Q, inTx: boolean): Db => ({
    kind: 'pglite',
    async query<T>(fragment: Sql) {
      const { text, values } = render(fragment);
      return (await q.query(text, values)).rows as T[];
    },
    transaction: inTx
      ? (fn) => fn(wrap(q, true))
      : (fn) => pg.transaction((tx) => fn(wrap(tx as unknown as Q, true))),
    exec: async (text) => {
      await pg.exec(text);
    },
    close: async () => {
      if (!inTx) await pg.close();
    },
  });
  return wrap(pg as unknown as Q, false);
}

async function openPostgres(url: string): Promise<Db> {
  const { default: pg } = await import('pg');
  // Dates and JSON as PGlite returns them: timestamptz → Date (pg default), jsonb → object (pg default).
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  type Q = { query: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }> };
  const wrap = (q: Q, inTx: boolean): Db => ({
    kind: 'postgres',
    async query<T>(fragment: Sql) {
      const { text, values } = render(fragment);
      return (await q.query(text, values)).rows as T[];
    },
    transaction: inTx
      ? (fn) => fn(wrap(q, true))
      : async (fn) => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            const result = await fn(wrap(client, true));
            await client.query('COMMIT');
            return result;
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          } finally {
            client.release();
          }
        },
    exec: async (text) => {
      await q.query(text);
    },
    close: async () => {
      if (!inTx) await pool.end();
    },
  });
  return wrap(pool, false);
}
