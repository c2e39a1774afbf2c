/**
 * The one SQL seam: PGlite (embedded Postgres in a data directory) by default, PostgreSQL when a
 * connection string is given. Both speak the same dialect, so everything above this file is written
 * once.
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

/** What both drivers offer: a parameterised query returning rows. */
interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A Db over one driver; `begin` opens a transaction scope, `close` releases the driver. */
function wrap(kind: Db['kind'], q: Queryable, begin: <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>, close: () => Promise<void>): Db {
  const db: Db = {
    kind,
    async query<T>(fragment: Sql) {
      const { text, values } = render(fragment);
      return (await q.query(text, values)).rows as T[];
    },
    // Inside a transaction, a nested transaction simply joins it.
    transaction: (fn) => begin((tx) => fn(wrap(kind, tx, (inner) => inner(tx), async () => undefined))),
    exec: async (text) => {
      await q.query(text);
    },
    close,
  };
  return db;
}

/** Opens PGlite at `dataDir` (a directory; 'memory://' for tests) or PostgreSQL at `url`. */
export async function openDb(target: { url: string } | { dataDir: string }): Promise<Db> {
  return 'url' in target ? openPostgres(target.url) : openPglite(target.dataDir);
}

async function openPglite(dataDir: string): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create(dataDir);
  // PGlite's query() is one statement with parameters; exec() runs a script.
  const q: Queryable = { query: (text, values) => (values ? pg.query(text, values) : pg.exec(text).then((r) => r.at(-1) ?? { rows: [] })) };
  return wrap('pglite', q, (fn) => pg.transaction((tx) => fn(tx as unknown as Queryable)), () => pg.close());
}

async function openPostgres(url: string): Promise<Db> {
  const { default: pg } = await import('pg');
  // Types come back as PGlite returns them: timestamptz → Date, jsonb → object (pg's defaults).
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  return wrap(
    'postgres',
    pool,
    async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },
    () => pool.end(),
  );
}
