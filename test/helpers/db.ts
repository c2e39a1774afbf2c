/**
 * Test databases: PGlite in memory by default; PostgreSQL when MEDLEDGER_TEST_DATABASE_URL is set,
 * each call getting a fresh schema. The schema is selected with the connection string's
 * `options=-c search_path=…`, so every pooled connection uses it (a `SET search_path` would reach
 * only the one connection that ran it). Schemas are dropped on close (openTestDb) or when the test
 * process is about to exit (testDatabase, whose caller closes the Db itself).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, type Db } from '../../src/records/db.js';

const url = process.env.MEDLEDGER_TEST_DATABASE_URL;

export const testBackend: 'pglite' | 'postgres' = url ? 'postgres' : 'pglite';

const schemas = new Set<string>();
let cleanupHooked = false;

/** A connection target for a fresh, empty database (`{ dataDir: 'memory://' }` or a new schema). */
export async function testDatabase(): Promise<{ dataDir: string } | { url: string }> {
  if (!url) return { dataDir: 'memory://' };
  const schema = `medledger_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE SCHEMA ${schema}`);
  schemas.add(schema);
  if (!cleanupHooked) process.on('beforeExit', () => void dropAll());
  cleanupHooked = true;
  const target = new URL(url);
  target.searchParams.set('options', `-c search_path=${schema}`);
  return { url: target.toString() };
}

/** A fresh Db; with PostgreSQL its schema is dropped on close. */
export async function openTestDb(): Promise<Db> {
  const target = await testDatabase();
  const db = await openDb(target);
  if (!('url' in target)) return db;
  const schema = new URL(target.url).searchParams.get('options')!.split('=')[1]!;
  return {
    ...db,
    close: async () => {
      await db.close();
      schemas.delete(schema);
      await admin(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}

async function dropAll(): Promise<void> {
  const left = [...schemas];
  schemas.clear();
  if (left.length) await admin(`DROP SCHEMA IF EXISTS ${left.join(', ')} CASCADE`).catch(() => undefined);
}

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
