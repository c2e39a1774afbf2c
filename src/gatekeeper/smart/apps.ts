/**
 * Registered SMART apps (client id → name, redirect URIs, the address grants are written to, and for
 * backend services their public keys as a JWKS). The provider registers them; the EHR Manager reads a
 * registration to show the patient which app asks, and the token endpoint checks redirect URIs and
 * client assertions against it. https://hl7.org/fhir/smart-app-launch/app-launch.html#register-app-with-ehr
 */
import type { JSONWebKeySet } from 'jose';
import { isAddress, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Db } from '../../records/db.js';
import { sql } from '../../records/sql.js';
import { GatekeeperError } from '../http/outcomes.js';

export const SMART_APPS_SCHEMA = `
CREATE TABLE IF NOT EXISTS smart_apps (
  client_id text PRIMARY KEY,
  registration jsonb NOT NULL
);
`;

export interface SmartApp {
  clientId: string;
  name: string;
  redirectUris: string[];
  /** The viewer address the patient's grants are written to. */
  address: Address;
  /** A confidential client's public keys (SMART Backend Services: ES384 or RS384). */
  jwks?: JSONWebKeySet;
}

/**
 * Registers (or replaces) an app. Without an address the app gets a fresh one whose key is thrown
 * away: nobody can sign as it, so its grants are usable only through this server's tokens.
 */
export async function registerApp(db: Db, input: unknown): Promise<SmartApp> {
  const r = (input ?? {}) as Partial<SmartApp>;
  const bad = (why: string): never => {
    throw new GatekeeperError(400, `app registration: ${why}`);
  };
  if (typeof r.clientId !== 'string' || !/^[A-Za-z0-9._~-]{1,100}$/.test(r.clientId)) bad('clientId must be 1–100 URL-safe characters');
  if (typeof r.name !== 'string' || !r.name.trim() || r.name.length > 200) bad('name is required (at most 200 characters)');
  const uris = r.redirectUris ?? [];
  if (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string' || !URL.canParse(u))) bad('redirectUris must be absolute URLs');
  if (r.address !== undefined && !isAddress(r.address)) bad('address is not an address');
  if (r.jwks !== undefined && !Array.isArray(r.jwks?.keys)) bad('jwks must be a JSON Web Key Set ({ keys: [...] })');
  if (!uris.length && !r.jwks) bad('give redirectUris (a launched app) or jwks (a backend service)');
  const app: SmartApp = { clientId: r.clientId!, name: r.name!.trim(), redirectUris: uris, address: r.address ?? privateKeyToAccount(generatePrivateKey()).address, ...(r.jwks ? { jwks: r.jwks } : {}) };
  await db.query(sql`INSERT INTO smart_apps (client_id, registration) VALUES (${app.clientId}, ${JSON.stringify(app)}::jsonb)
    ON CONFLICT (client_id) DO UPDATE SET registration = EXCLUDED.registration`);
  return app;
}

export async function findApp(db: Db, clientId: string): Promise<SmartApp | undefined> {
  const [row] = await db.query<{ registration: SmartApp }>(sql`SELECT registration FROM smart_apps WHERE client_id = ${clientId}`);
  return row?.registration;
}

/** Every registered app, as the patient's Sharing tab names them (no keys). */
export async function listApps(db: Db): Promise<Omit<SmartApp, 'jwks'>[]> {
  const rows = await db.query<{ registration: SmartApp }>(sql`SELECT registration FROM smart_apps ORDER BY client_id`);
  return rows.map(({ registration: { jwks: _keys, ...app } }) => app);
}
