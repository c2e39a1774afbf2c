/**
 * The `medledger` command line: one subcommand per step of the consent flow, plus start/reset.
 * Errors print as one line on stderr with exit code 1; data prints for people on stdout (tables, names,
 * plain words: output.ts) and as JSON with `--json`, for scripts.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Address, Hex } from 'viem';
import { createLedgerClient, type LedgerClient } from '../chain/client.js';
import { openChain, runningNode, type ChainRuntime } from '../chain/runtime.js';
import { loadLocalSummary, saveLocalSummary, wipeLocalSummary } from '../client/local-state.js';
import { readConfig, type Config } from '../config.js';
import { createUser, demoPasswordOf, findUser, loadUsers, resolveAddress, unlockUser, USER_ROLES, type UserRole } from '../keys/users.js';
import { decryptKeystore, type KeystoreV3 } from '../keys/keystore.js';
import * as sdk from '../sdk/index.js';
import { describeError } from '../sdk/errors.js';
import { actingPatient, addCareCommands } from './care.js';
import { addDocCommands } from './doc.js';
import { addOutbreakCommands } from './outbreak.js';
import { addMlCommands } from './ml.js';
import { addStudyCommands } from './study.js';
import { addSmartCommands } from './smart.js';
import { addRecordCommands } from './add-record.js';
import { addProviderSiteCommand } from './provider-site.js';
import { addResearchSiteCommand } from './research-site.js';
import { gatekeeperClient } from '../sdk/gatekeeper.js';
import { askPassword } from './prompt.js';
// `start` and `gatekeeper` load the manager and the gatekeeper only when run: every other command starts
// about 0.7 s sooner without them (measured on `medledger --help`).
import type { StartOptions } from './start.js';
import { parseExpiry, parseRelationshipId } from './parse.js';
import { colourFor, human, waiting } from './output.js';
import { formatProviderRelationships, formatSummary, handleOf, namesOf, type PeopleFormat } from './summary-format.js';

interface GlobalOptions {
  dataDir?: string;
  as?: string;
  password?: string;
  for?: string;
  json?: boolean;
}

const program = new Command('medledger')
  .description('Patient-controlled health records: who may see what, on an EVM chain.')
  .option('--data-dir <dir>', 'data directory (default: $MEDLEDGER_DATA_DIR or ./.medledger)')
  .option('--as <user>', 'act as this user (name or address from `medledger users`)')
  .option('--for <patient>', "patient commands: act for this patient (as their delegate); a recovered key acts for its patient without it")
  .addOption(new Option('--password <password>', 'keystore password').env('MEDLEDGER_PASSWORD'))
  .option('--json', 'print JSON for scripts instead of tables')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  // `--json` anywhere on the line is the program's; commands that read their own opts.json see it too.
  .hook('preAction', (_program, command) => {
    if (program.opts<GlobalOptions>().json) command.setOptionValue('json', true);
  });

function config(): Config {
  const opts = program.opts<GlobalOptions>();
  return readConfig(opts.dataDir ? { ...process.env, MEDLEDGER_DATA_DIR: opts.dataDir } : process.env);
}

/** Data on stdout: JSON with --json; else `forPeople(value)`, or a generic table (output.ts human). */
function print(value: unknown, forPeople?: (f: PeopleFormat) => string): void {
  if (program.opts<GlobalOptions>().json) return console.log(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
  const dataDir = config().dataDir;
  const f: PeopleFormat = { nameOf: namesOf(dataDir), handleOf: handleOf(dataDir), colour: colourFor(), now: Math.floor(Date.now() / 1000) };
  console.log(forPeople ? forPeople(f) : human(value, f.nameOf));
}

/** Runs `fn` with the chain open and the acting user's client; always closes what it opened. */
async function withLedger<T>(fn: (ctx: { cfg: Config; runtime: ChainRuntime; me: LedgerClient; pepper: Hex }) => Promise<T>): Promise<T> {
  const cfg = config();
  const opts = program.opts<GlobalOptions>();
  if (!existsSync(cfg.dataDir) && !cfg.rpcUrl) throw new Error(`no data directory at ${cfg.dataDir}: run \`medledger start\` first`);
  const account = opts.as ? unlockUser(cfg.dataDir, opts.as, opts.password) : undefined;
  const runtime = await openChain(cfg);
  try {
    const me = createLedgerClient(runtime.deployment, { account, pollingIntervalMs: cfg.pollingIntervalMs });
    return await fn({ cfg, runtime, me, pepper: sdk.loadPepper(cfg.dataDir, cfg.identityPepper) });
  } finally {
    await runtime.stop();
  }
}

function requireAs(me: LedgerClient): Address {
  if (!me.account) throw new Error('this command needs --as <user>');
  return me.account.address;
}

/** A relationship given as an id, or (for a patient) as the provider's name/address. */
async function relationshipOf(me: LedgerClient, dataDir: string, ref: string): Promise<bigint> {
  const id = parseRelationshipId(ref);
  if (id !== undefined) return id;
  if (!me.account && !program.opts<GlobalOptions>().for) throw new Error(`give the relationship id, or --patient with the provider's name ${ref}`);
  const patient = await actingPatient(me, dataDir, program.opts<GlobalOptions>().for);
  const found = await sdk.findRelationship(me, { patient, provider: resolveAddress(dataDir, ref) });
  if (found === undefined) throw new Error(`you have no relationship with ${ref} (for another patient's, give --patient <name>)`);
  return found;
}

/** `patient`'s relationship with the provider `ref` (a name or address; or a relationship id). */
async function relationshipOfPatient(me: LedgerClient, patient: Address, ref: string, dataDir: string): Promise<bigint> {
  const id = parseRelationshipId(ref);
  if (id !== undefined) return id;
  const found = await sdk.findRelationship(me, { patient, provider: resolveAddress(dataDir, ref) });
  if (found === undefined) throw new Error(`no relationship between ${ref} and that patient`);
  return found;
}

// ---------------------------------------------------------------- node

program
  .command('start')
  .description('run the whole system: chain, contract, demo users, two providers\' gatekeepers with demo records, the EHR Manager; until Ctrl-C')
  .option('--demo', 'demo mode (npm start): create the demo users, print their passwords here, let the EHR Manager serve demo patients\' keystores to this machine only')
  .option('--chain-only', 'only the chain and the contract (and, with --demo, the demo users)')
  .option('--patients <n>', 'demo patients in each provider store', '20')
  .option('--host <host>', 'where the EHR Manager listens (demo mode: loopback only)', '127.0.0.1')
  .option('--no-research-sites', 'do not start the four UCI heart-disease hospitals as research sites (own processes, for studies)')
  .action(async (opts: StartOptions) => (await import('./start.js')).runStart(config(), opts));

program
  .command('reset')
  .description('delete the data directory (chain state, keys, caches)')
  .option('--yes', 'do not ask')
  .action((opts: { yes?: boolean }) => {
    const cfg = config();
    if (runningNode(cfg.dataDir)) throw new Error('medledger is running on this data directory: stop it first');
    if (!opts.yes && process.stdin.isTTY) throw new Error(`this deletes ${cfg.dataDir} and every key in it: run again with --yes`);
    rmSync(cfg.dataDir, { recursive: true, force: true });
    console.log(`deleted ${cfg.dataDir}`);
  });

program
  .command('status')
  .description('show the deployment and the users of this data directory')
  .action(() =>
    withLedger(async ({ runtime, cfg }) => {
      print({
        rpcUrl: runtime.deployment.rpcUrl,
        chainId: runtime.deployment.chainId,
        contract: runtime.deployment.contract,
        deployBlock: runtime.deployment.deployBlock,
        users: loadUsers(cfg.dataDir).map(({ demoPassword: _p, ...u }) => u),
      });
    }),
  );

program
  .command('users')
  .description('list the users of this data directory')
  .action(() => print(loadUsers(config().dataDir).map(({ demoPassword: _p, ...u }) => u)));

program
  .command('user-create <name>')
  .description('create a user with a new key in an encrypted keystore (needs --password)')
  .requiredOption('--role <role>', `one of ${USER_ROLES.join(', ')}`)
  .option('--identity <identity>', 'identity string (patients and providers)')
  .action((name: string, opts: { role: string; identity?: string }) => {
    const { password } = program.opts<GlobalOptions>();
    if (!password) throw new Error('give --password (or MEDLEDGER_PASSWORD) to encrypt the keystore');
    if (!USER_ROLES.includes(opts.role as UserRole)) throw new Error(`role must be one of ${USER_ROLES.join(', ')}`);
    const user = createUser(config().dataDir, { name, role: opts.role as UserRole, identity: opts.identity, password });
    console.log(`created ${user.name} ${user.address}`);
  });

program
  .command('user-import <name>')
  .description('add an existing key to this data directory from a v3 keystore file (e.g. on a new device; needs its --password)')
  .requiredOption('--keystore <file>', 'the keystore JSON file')
  .option('--role <role>', `one of ${USER_ROLES.join(', ')}`, 'patient')
  .option('--identity <identity>', 'identity string (patients and providers)')
  .action((name: string, opts: { keystore: string; role: string; identity?: string }) => {
    const { password } = program.opts<GlobalOptions>();
    if (!password) throw new Error('give the keystore\'s --password (or MEDLEDGER_PASSWORD)');
    if (!USER_ROLES.includes(opts.role as UserRole)) throw new Error(`role must be one of ${USER_ROLES.join(', ')}`);
    let keystore: KeystoreV3;
    try {
      keystore = JSON.parse(readFileSync(opts.keystore, 'utf8')) as KeystoreV3;
    } catch (err) {
      throw new Error(`cannot read keystore ${opts.keystore}: ${(err as Error).message.split('\n')[0]}`);
    }
    const privateKey = decryptKeystore(keystore, password);
    mkdirSync(config().dataDir, { recursive: true, mode: 0o700 });
    const user = createUser(config().dataDir, { name, role: opts.role as UserRole, identity: opts.identity, password, privateKey });
    console.log(`imported ${user.name} ${user.address}`);
  });

// ---------------------------------------------------------------- registrar

const identity = program.command('identity').description('identity hashes and Registrar lookups');
identity
  .command('lookup <identity>')
  .description('the address registered under an identity')
  .action((id: string) =>
    withLedger(async ({ me, pepper }) => {
      const address = await sdk.lookupIdentity(me, sdk.hashIdentity(id, pepper));
      if (!address) throw new Error('no one is registered under that identity');
      print({ address, account: await sdk.getAccount(me, address) });
    }),
  );

const governor = program.command('governor').description('accreditation of providers (governor only)');
governor
  .command('accredit <provider>')
  .description('accredit a provider')
  .requiredOption('--identity <identity>', "the provider's organisation identifier")
  .action((provider: string, opts: { identity: string }) =>
    withLedger(async ({ cfg, me, pepper }) => {
      requireAs(me);
      const r = await waiting('accrediting on chain…', sdk.accreditProvider(me, { provider: resolveAddress(cfg.dataDir, provider), identityHash: sdk.hashIdentity(opts.identity, pepper) }));
      console.log(`accredited ${provider} (tx ${r.transactionHash})`);
    }),
  );
governor
  .command('revoke <provider>')
  .description("withdraw a provider's accreditation")
  .action((provider: string) =>
    withLedger(async ({ cfg, me }) => {
      requireAs(me);
      const r = await waiting('revoking on chain…', sdk.revokeAccreditation(me, { provider: resolveAddress(cfg.dataDir, provider) }));
      console.log(`revoked ${provider} (tx ${r.transactionHash})`);
    }),
  );

// ---------------------------------------------------------------- provider

const provider = program.command('provider').description('provider steps (run with --as <provider>)');
provider
  .command('attest <patient>')
  .description("sign an attestation that an identity belongs to a patient's address (no transaction)")
  .requiredOption('--identity <identity>', "the patient's identity, checked by the provider")
  .action((patient: string, opts: { identity: string }) =>
    withLedger(async ({ cfg, me, pepper }) => {
      requireAs(me);
      const attestation = await sdk.attestPatient(me, { identityHash: sdk.hashIdentity(opts.identity, pepper), patient: resolveAddress(cfg.dataDir, patient) });
      print({ attester: me.account!.address, attestation });
    }),
  );
provider
  .command('remove-pointer')
  .description('remove a pointer from a relationship')
  .requiredOption('--patient <patient>', 'patient name or address')
  .requiredOption('--query <query>', 'the pointer query')
  .action((opts: { patient: string; query: string }) =>
    withLedger(async ({ cfg, me }) => {
      const relationshipId = await sdk.findRelationship(me, { patient: resolveAddress(cfg.dataDir, opts.patient), provider: requireAs(me) });
      if (relationshipId === undefined) throw new Error(`no relationship with ${opts.patient}`);
      await waiting('removing on chain…', sdk.removePointer(me, { relationshipId, query: opts.query }));
      console.log(`removed ${opts.query}`);
    }),
  );
provider
  .command('replicate')
  .description("copy another provider's records of a patient into this provider's running gatekeeper, verified against the chain (needs the patient's consent: `patient allow-replication`)")
  .requiredOption('--from <provider>', 'the provider whose records to copy (name or address)')
  .requiredOption('--patient <patient>', 'patient name or address')
  .option('--source-url <url>', "the source provider's gatekeeper (first time; later syncs reuse it)")
  .option('--consent <signature>', "the patient's replication consent (from `patient allow-replication`; kept for later syncs)")
  .option('--gatekeeper <url>', "this provider's gatekeeper", 'http://127.0.0.1:8081')
  .action((opts: { from: string; patient: string; sourceUrl?: string; consent?: string; gatekeeper: string }) =>
    withLedger(async ({ cfg, me }) => {
      const self = requireAs(me);
      const gatekeeper = gatekeeperClient({ url: opts.gatekeeper.replace(/\/+$/, ''), gatekeeper: self, chainId: me.chainId, account: me.account! });
      const source = resolveAddress(cfg.dataDir, opts.from);
      if (opts.consent && !/^0x[0-9a-fA-F]{130}$/.test(opts.consent)) throw new Error('--consent must be a 65-byte hex signature (0x and 130 hex digits)');
      const consent = opts.consent as Hex | undefined;
      print(await sdk.replicateRecords(gatekeeper, { source, patient: resolveAddress(cfg.dataDir, opts.patient), sourceUrl: opts.sourceUrl, consent }));
    }),
  );
provider
  .command('set-status <relationship> <status>')
  .description('set a relationship status: new, updated or awaiting-approval')
  .action((ref: string, status: string) =>
    withLedger(async ({ cfg, me }) => {
      if (!['new', 'updated', 'awaiting-approval'].includes(status)) {
        throw new Error(`a provider sets new, updated or awaiting-approval, not "${status}"`);
      }
      requireAs(me);
      const relationshipId = parseRelationshipId(ref) ?? (await sdk.findRelationship(me, { patient: resolveAddress(cfg.dataDir, ref), provider: me.account!.address }));
      if (relationshipId === undefined) throw new Error(`no relationship with ${ref}`);
      await waiting('writing on chain…', sdk.setStatus(me, { relationshipId, status: status as 'new' }));
      console.log(`relationship ${relationshipId} is ${status}`);
    }),
  );
provider
  .command('relationships')
  .description('the relationships this provider opened')
  .action(() =>
    withLedger(async ({ me }) => {
      const relationships = await sdk.listProviderRelationships(me, requireAs(me));
      print(relationships, (f) => formatProviderRelationships(relationships, f));
    }),
  );

// ---------------------------------------------------------------- patient

const patient = program.command('patient').description('patient steps (run with --as <patient>)');
patient
  .command('register')
  .description('register as a patient with an accredited provider\'s attestation')
  .requiredOption('--identity <identity>', 'your identity (never sent in clear)')
  .requiredOption('--attester <provider>', 'the provider that attested your identity')
  .option('--attestation <signature>', "the provider's signature (from `provider attest`); else signed here with the provider's local key")
  .addOption(new Option('--attester-password <password>', "the attester's keystore password, to sign here (asked when on a terminal)").env('MEDLEDGER_ATTESTER_PASSWORD'))
  .action((opts: { identity: string; attester: string; attestation?: string; attesterPassword?: string }) =>
    withLedger(async ({ cfg, me, pepper }) => {
      const address = requireAs(me);
      const identityHash = sdk.hashIdentity(opts.identity, pepper);
      const attester = resolveAddress(cfg.dataDir, opts.attester);
      let attestation = opts.attestation as Hex | undefined;
      if (!attestation) {
        // Attesting is the provider's act: it needs the provider's key, unlocked with its password
        // (a stored one only in a demo data directory), never the patient's say-so.
        const user = findUser(cfg.dataDir, attester);
        const password = opts.attesterPassword ?? (demoPasswordOf(cfg.dataDir, user) ? undefined : await askPassword(`password of ${user.name}'s keystore: `));
        const account = unlockUser(cfg.dataDir, user.name, password, '--attester-password or MEDLEDGER_ATTESTER_PASSWORD, or its --attestation');
        attestation = await sdk.attestPatient({ ...me, account }, { identityHash, patient: address });
      }
      if (!/^0x[0-9a-fA-F]{130}$/.test(attestation)) throw new Error('the attestation must be a 65-byte hex signature');
      await waiting('registering on chain…', sdk.registerPatient(me, { identityHash, attester, attestation }));
      console.log(`registered ${address}`);
    }),
  );
patient
  .command('list')
  .description('your Summary: relationships, pointers, grants (also saved locally)')
  .action(() =>
    withLedger(async ({ cfg, me }) => {
      const summary = await waiting('reading the chain…', sdk.readSummary(me, await actingPatient(me, cfg.dataDir, program.opts<GlobalOptions>().for)));
      saveLocalSummary(cfg.dataDir, summary);
      print(summary, (f) => formatSummary(summary, f));
    }),
  );
for (const [name, accept] of [['accept', true], ['reject', false]] as const) {
  patient
    .command(`${name} <relationship>`)
    .description(`${name} a relationship (id, or the provider's name/address)`)
    .action((ref: string) =>
      withLedger(async ({ cfg, me }) => {
        requireAs(me);
        const relationshipId = await relationshipOf(me, cfg.dataDir, ref);
        await waiting(`${accept ? 'accepting' : 'rejecting'} on chain…`, sdk.respond(me, { relationshipId, accept }));
        console.log(`relationship ${relationshipId} ${accept ? 'accepted' : 'rejected'}`);
      }),
    );
}
patient
  .command('grant <relationship>')
  .description('let a viewer run a scope on a relationship\'s data')
  .requiredOption('--viewer <viewer>', 'who may read (name or address)')
  .requiredOption('--scope <query>', 'what they may read, within one of the pointers, e.g. Observation?category=laboratory')
  .option('--expires <when>', 'never, a duration (1d, 12h) or an ISO date', 'never')
  .action((ref: string, opts: { viewer: string; scope: string; expires: string }) =>
    withLedger(async ({ cfg, me }) => {
      requireAs(me);
      const relationshipId = await relationshipOf(me, cfg.dataDir, ref);
      const expiresAt = parseExpiry(opts.expires, Math.floor(Date.now() / 1000));
      const summary = await sdk.readSummary(me, sdk.patientOf(relationshipId));
      const pointers = summary.relationships.find((r) => r.id === relationshipId.toString())?.pointers.map((p) => p.query);
      const r = await waiting('granting on chain…', sdk.grantViewer(me, { relationshipId, viewer: resolveAddress(cfg.dataDir, opts.viewer), scope: opts.scope, expiresAt, pointers }));
      console.log(`granted ${opts.viewer} ${r.scope} until ${expiresAt ? new Date(expiresAt * 1000).toISOString() : 'revoked'}`);
    }),
  );
patient
  .command('revoke <relationship>')
  .description("withdraw a viewer's grant")
  .requiredOption('--viewer <viewer>', 'name or address')
  .requiredOption('--scope <query>', 'the granted scope')
  .action((ref: string, opts: { viewer: string; scope: string }) =>
    withLedger(async ({ cfg, me }) => {
      requireAs(me);
      const relationshipId = await relationshipOf(me, cfg.dataDir, ref);
      await waiting('revoking on chain…', sdk.revokeViewer(me, { relationshipId, viewer: resolveAddress(cfg.dataDir, opts.viewer), scope: opts.scope }));
      console.log(`revoked ${opts.viewer} ${opts.scope}`);
    }),
  );
patient
  .command('allow-replication <provider>')
  .description("let another provider keep a verified copy of this provider's records (grants it every pointer of the relationship)")
  .requiredOption('--to <provider>', 'the provider that keeps the copy (name or address)')
  .action((source: string, opts: { to: string }) =>
    withLedger(async ({ cfg, me }) => {
      requireAs(me);
      const { granted, consent } = await sdk.allowReplication(me, { source: resolveAddress(cfg.dataDir, source), replica: resolveAddress(cfg.dataDir, opts.to) });
      print({ granted, consent, next: `give ${opts.to} the consent: medledger --as ${opts.to} provider replicate --from ${source} --patient <you> --consent ${consent}` });
    }),
  );
patient
  .command('withdraw-replication <provider>')
  .description("withdraw another provider's copy of this provider's records (it stops serving it at once)")
  .requiredOption('--from <provider>', 'the provider that keeps the copy (name or address)')
  .action((source: string, opts: { from: string }) =>
    withLedger(async ({ cfg, me }) => {
      requireAs(me);
      const revoked = await sdk.withdrawReplication(me, { source: resolveAddress(cfg.dataDir, source), replica: resolveAddress(cfg.dataDir, opts.from) });
      console.log(revoked.length ? `revoked ${opts.from} ${revoked.join(', ')}` : `${opts.from} held no grant`);
    }),
  );
patient
  .command('restore')
  .description('delete your local copy and rebuild every relationship, pointer and grant from the chain alone')
  .action(() =>
    withLedger(async ({ cfg, me }) => {
      const address = await actingPatient(me, cfg.dataDir, program.opts<GlobalOptions>().for);
      const before = loadLocalSummary(cfg.dataDir, address);
      wipeLocalSummary(cfg.dataDir, address);
      const summary = await waiting('reading your records from the chain…', sdk.restoreFromChain(me, address));
      saveLocalSummary(cfg.dataDir, summary);
      console.log(`restored ${summary.relationships.length} relationships from the chain${before ? ' (local copy replaced)' : ''}`);
    }),
  );

// ---------------------------------------------------------------- gatekeeper

program
  .command('gatekeeper')
  .description("run the provider's Database Gatekeeper (FHIR R4 at /fhir/R4) until Ctrl-C (run with --as <provider>)")
  .option('--port <port>', 'HTTP port', '8081')
  .option('--anchor-every <seconds>', 'anchor the audit log on chain this often', '60')
  .option('--publish-window <ms>', 'longest a write waits to join the next pointer batch while one is in flight (env MEDLEDGER_PUBLISH_WINDOW_MS)', process.env.MEDLEDGER_PUBLISH_WINDOW_MS ?? '500')
  .option('--publish-one-by-one', 'one transaction per pointer change, as before batching (env MEDLEDGER_PUBLISH_COALESCE=0)', process.env.MEDLEDGER_PUBLISH_COALESCE === '0')
  .option('--answer-before-mined', "answer a write once stored, its pointers shown 'pending' until mined (env MEDLEDGER_PUBLISH_AWAIT_CHAIN=0)", process.env.MEDLEDGER_PUBLISH_AWAIT_CHAIN === '0')
  .action((opts: { port: string; anchorEvery: string; publishWindow: string; publishOneByOne: boolean; answerBeforeMined: boolean }) =>
    withLedger(async ({ cfg, me }) => {
      const provider = requireAs(me);
      const name = findUser(cfg.dataDir, provider).name;
      const storeDir = join(cfg.dataDir, 'providers', name, 'pgdata');
      if (!cfg.databaseUrl) mkdirSync(storeDir, { recursive: true, mode: 0o700 });
      const database = cfg.databaseUrl ? { url: cfg.databaseUrl } : { dataDir: storeDir };
      const { startGatekeeper } = await import('../gatekeeper/index.js');
      const windowMs = Number(opts.publishWindow);
      if (!Number.isInteger(windowMs) || windowMs < 0) throw new Error('--publish-window takes a whole number of milliseconds');
      const publish = { windowMs, coalesce: !opts.publishOneByOne, awaitChain: !opts.answerBeforeMined };
      const gk = await startGatekeeper({ ledger: me, database, port: Number(opts.port), anchorIntervalMs: Number(opts.anchorEvery) * 1000, publish });
      console.log(`gatekeeper of ${name} (${provider}) at ${gk.url}/fhir/R4  (store: ${cfg.databaseUrl ? 'PostgreSQL' : storeDir})`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await gk.close();
    }),
  );

// ---------------------------------------------------------------- third party

program
  .command('check <relationship>')
  .description("check whether a viewer (default: you) may run a scope now; the relationship by id, or by its provider's name with --patient")
  .requiredOption('--scope <query>', 'the scope')
  .option('--viewer <viewer>', 'name or address (default: --as)')
  .option('--patient <patient>', "whose relationship with the provider named (default: you, or --for)")
  .action((ref: string, opts: { scope: string; viewer?: string; patient?: string }) =>
    withLedger(async ({ cfg, me }) => {
      const viewer = opts.viewer ? resolveAddress(cfg.dataDir, opts.viewer) : requireAs(me);
      const relationshipId = opts.patient ? await relationshipOfPatient(me, resolveAddress(cfg.dataDir, opts.patient), ref, cfg.dataDir) : await relationshipOf(me, cfg.dataDir, ref);
      const expiresAt = await waiting('asking the chain…', sdk.checkAccess(me, { relationshipId, viewer, scope: opts.scope }));
      print({ relationshipId, viewer, scope: opts.scope, granted: true, expiresAt }, (f) => `${f.nameOf(viewer)} may read ${opts.scope}: granted until ${expiresAt ? new Date(expiresAt * 1000).toISOString() : 'revoked'}`);
    }),
  );

addRecordCommands({ provider, withLedger, print });
addCareCommands({ program, patient, provider, withLedger, print });
addDocCommands({ program, provider, withLedger, print });
addOutbreakCommands({ program, withLedger, print, config });
addMlCommands({ program, withLedger, print });
addStudyCommands({ program, withLedger, print });
addSmartCommands({ provider, withLedger, print });
addResearchSiteCommand(program, config, () => program.opts<GlobalOptions>().password);
addProviderSiteCommand(program, config, () => program.opts<GlobalOptions>().password);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed its message (or the help).
    process.exitCode = err.exitCode;
  } else {
    console.error(`medledger: ${describeError(err)}`);
    process.exitCode = 1;
  }
}
