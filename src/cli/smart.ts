/**
 * `medledger provider register-app` and `provider apps` (issue 17): the provider registers the SMART
 * apps its gatekeeper serves — client id → name, redirect URIs (a launched app), a JWKS (a backend
 * service, SMART Backend Services) and optionally the address grants are written to — with a signed
 * request to its own gatekeeper (POST /smart/apps, src/gatekeeper/smart/apps.ts). The patient then sees
 * the app by name on the consent screen and on the Sharing tab.
 * https://hl7.org/fhir/smart-app-launch/app-launch.html#register-app-with-ehr
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import type { Config } from '../config.js';
import { findUser } from '../keys/users.js';
import { announcedGatekeepers } from '../manager/gatekeeper-directory.js';
import { gatekeeperClient } from '../sdk/gatekeeper.js';
import { table } from './output.js';
import type { PeopleFormat } from './summary-format.js';

type WithLedger = <T>(fn: (ctx: { cfg: Config; me: LedgerClient }) => Promise<T>) => Promise<T>;

export interface SmartCommandDeps {
  provider: Command;
  withLedger: WithLedger;
  print: (value: unknown, forPeople?: (f: PeopleFormat) => string) => void;
}

interface RegisteredApp {
  clientId: string;
  name: string;
  redirectUris: string[];
  address: Address;
  jwks?: unknown;
}

/** This provider's gatekeeper: --gatekeeper, else where the running system announced it, else the demo's first port. */
function ownGatekeeper(cfg: Config, me: LedgerClient, url: string | undefined) {
  if (!me.account) throw new Error('this command needs --as <provider>');
  // The request is signed for the gatekeeper of the signer itself: only a provider has one.
  if (findUser(cfg.dataDir, me.account.address).role !== 'provider') throw new Error('only a provider registers and lists its SMART apps: run with --as <provider>');
  const base = (url ?? announcedGatekeepers(cfg.dataDir).get(me.account.address) ?? 'http://127.0.0.1:8081').replace(/\/+$/, '');
  return gatekeeperClient({ url: base, gatekeeper: me.account.address, chainId: me.chainId, account: me.account });
}

function readJwks(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the JWKS in ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export function addSmartCommands({ provider, withLedger, print }: SmartCommandDeps): void {
  provider
    .command('register-app <client-id>')
    .description("register (or replace) a SMART app at this provider's gatekeeper: a patient app with --redirect-uri, a backend service with --jwks")
    .requiredOption('--name <name>', 'the name patients see on the consent screen and the Sharing tab')
    .option('--redirect-uri <url>', 'where the app receives the code (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--jwks <file>', "a backend service's public keys (JSON Web Key Set, ES384 or RS384)")
    .option('--address <address>', "the address the patients' grants are written to (default: a fresh one nobody holds the key of)")
    .option('--gatekeeper <url>', "this provider's gatekeeper (default: the running system's)")
    .action((clientId: string, opts: { name: string; redirectUri: string[]; jwks?: string; address?: string; gatekeeper?: string }) =>
      withLedger(async ({ cfg, me }) => {
        const gk = ownGatekeeper(cfg, me, opts.gatekeeper);
        const registration = { clientId, name: opts.name, redirectUris: opts.redirectUri, ...(opts.jwks ? { jwks: readJwks(opts.jwks) } : {}), ...(opts.address ? { address: opts.address } : {}) };
        const app = (await gk.post<RegisteredApp>('/smart/apps', registration)).body;
        print(app, (f) => `registered ${app.name} (client id ${app.clientId}); grants to it go to ${f.nameOf(app.address)}${app.redirectUris.length ? `; redirects to ${app.redirectUris.join(', ')}` : ''}${app.jwks ? '; backend service keys kept' : ''}`);
      }),
    );
  provider
    .command('apps')
    .description("the SMART apps registered at this provider's gatekeeper")
    .option('--gatekeeper <url>', "this provider's gatekeeper (default: the running system's)")
    .action((opts: { gatekeeper?: string }) =>
      withLedger(async ({ cfg, me }) => {
        const apps = (await ownGatekeeper(cfg, me, opts.gatekeeper).get<RegisteredApp[]>('/smart/apps')).body;
        print(apps, () => (apps.length ? table([['client id', 'name', 'redirect URIs', 'grants go to'], ...apps.map((a) => [a.clientId, a.name, a.redirectUris.join(', ') || '(backend service)', a.address])]) : 'No apps registered.'));
      }),
    );
}
