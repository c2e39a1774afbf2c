/**
 * CLI commands for who acts for a patient and for emergencies (issue 8): delegates, guardians and
 * recovery, break-glass. Registered on the `medledger` program by main.ts.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import type { Config } from '../config.js';
import { EMERGENCY_DATA_SET } from '../consent/emergency.js';
import { resolveAddress, writePrivateFile } from '../keys/users.js';
import * as sdk from '../sdk/index.js';
import { gatekeeperClient } from '../sdk/gatekeeper.js';
import { parseDuration, parseExpiry } from './parse.js';
import type { PeopleFormat } from './summary-format.js';

type WithLedger = <T>(fn: (ctx: { cfg: Config; me: LedgerClient }) => Promise<T>) => Promise<T>;

export interface CareCommandDeps {
  program: Command;
  patient: Command;
  provider: Command;
  withLedger: WithLedger;
  /** JSON with --json; else `forPeople`, or a generic table (main.ts). */
  print: (value: unknown, forPeople?: (f: PeopleFormat) => string) => void;
}

function signer(me: LedgerClient): Address {
  if (!me.account) throw new Error('this command needs --as <user>');
  return me.account.address;
}

/**
 * The patient a patient command acts for: `--for` when given (a delegate, or anyone naming the
 * patient), else the identity the signing key holds — itself, or the patient it recovered.
 */
export async function actingPatient(me: LedgerClient, dataDir: string, forPatient?: string): Promise<Address> {
  const key = signer(me);
  if (forPatient) return resolveAddress(dataDir, forPatient);
  return (await sdk.patientOfKey(me, key)) ?? key;
}

const timeOf = (seconds: number) => (seconds ? new Date(seconds * 1000).toISOString() : 'never');

/** Where a provider keeps the reasons it stated (the gatekeepers ask for them; they never go on chain). */
const statementFile = (dataDir: string, provider: Address, patient: Address) =>
  join(dataDir, 'local', 'break-glass', `${provider.toLowerCase()}-${patient.toLowerCase()}.json`);

/** The dependencies, and the patient a patient command acts for. */
interface Care extends CareCommandDeps {
  acting: (me: LedgerClient, cfg: Config) => Promise<Address>;
}

export function addCareCommands(deps: CareCommandDeps): void {
  const care: Care = { ...deps, acting: (me, cfg) => actingPatient(me, cfg.dataDir, deps.program.opts<{ for?: string }>().for) };
  addDelegateCommands(care);
  addRecoveryCommands(care);
  addPatientBreakGlassCommands(care);
  addProviderBreakGlassCommands(care);
  addGuardianCommands(care);
}

/** patient delegate, delegates. */
function addDelegateCommands({ patient, withLedger, print, acting }: Care): void {
  patient
    .command('delegate <delegate>')
    .description('let someone act for you (a parent, a carer) with some permissions, until an expiry; --can none removes them')
    .requiredOption('--can <permissions>', `comma-separated: ${Object.keys(sdk.DELEGATE_PERMISSIONS).join(', ')}; or none`)
    .option('--expires <when>', 'never, a duration (30d, 12h) or an ISO date', 'never')
    .action((who: string, opts: { can: string; expires: string }) =>
      withLedger(async ({ cfg, me }) => {
        const self = await acting(me, cfg);
        const delegate = resolveAddress(cfg.dataDir, who);
        if (opts.can.trim() === 'none') {
          await sdk.removeDelegate(me, { patient: self, delegate });
          console.log(`removed delegate ${who}`);
          return;
        }
        const permissions = opts.can.split(',').map((p) => p.trim()) as sdk.DelegatePermission[];
        sdk.permissionBits(permissions); // one-line error for an unknown permission before anything is signed
        const expiresAt = parseExpiry(opts.expires, Math.floor(Date.now() / 1000));
        await sdk.setDelegate(me, { patient: self, delegate, permissions, expiresAt });
        console.log(`${who} may ${permissions.join(', ')} for ${self} until ${timeOf(expiresAt)}`);
      }),
    );
  patient
    .command('delegates')
    .description('your delegates and what they may do')
    .action(() => withLedger(async ({ cfg, me }) => print(await sdk.delegatesOf(me, await acting(me, cfg)))));
}

/** patient set-guardians, recovery, cancel-recovery. */
function addRecoveryCommands({ patient, withLedger, print, acting }: Care): void {
  patient
    .command('set-guardians [guardians...]')
    .description('name the guardians who together can move your identity to a new key if you lose yours (none: remove them)')
    .option('--threshold <m>', 'how many guardians must agree (more than half)', '0')
    .option('--delay <duration>', 'waiting period before a recovery takes effect, e.g. 2d (1d to 30d)', '2d')
    .action((names: string[], opts: { threshold: string; delay: string }) =>
      withLedger(async ({ cfg, me }) => {
        const self = await acting(me, cfg);
        const guardians = names.map((n) => resolveAddress(cfg.dataDir, n));
        const threshold = Number(opts.threshold);
        if (!Number.isInteger(threshold) || threshold < 0 || threshold > 255) throw new Error('--threshold must be a whole number');
        const recoveryDelay = guardians.length ? parseDuration(opts.delay) : 0;
        await sdk.setGuardians(me, { patient: self, guardians, threshold, recoveryDelay });
        console.log(guardians.length ? `${threshold} of ${guardians.length} guardians can recover ${self} after ${opts.delay}` : `removed the guardians of ${self}`);
      }),
    );
  patient
    .command('recovery')
    .description('your key, guardians, and any recovery in progress')
    .action(() => withLedger(async ({ cfg, me }) => print(await sdk.recoveryOf(me, await acting(me, cfg)))));
  patient
    .command('cancel-recovery')
    .description('cancel a recovery of your identity the guardians scheduled (your current key only)')
    .action(() =>
      withLedger(async ({ cfg, me }) => {
        const self = await acting(me, cfg);
        await sdk.cancelRecovery(me, { patient: self });
        console.log(`cancelled the recovery of ${self}`);
      }),
    );
}

/** patient break-glass allow|forbid|list|close. */
function addPatientBreakGlassCommands({ patient, withLedger, print, acting }: Care): void {
  const patientGlass = patient.command('break-glass').description('emergency access to your records: allow or forbid it, see and close openings');
  for (const [name, allowed] of [['allow', true], ['forbid', false]] as const) {
    patientGlass
      .command(name)
      .description(allowed ? 'let accredited providers open your emergency data in an emergency (the default)' : 'forbid emergency openings of your records')
      .action(() =>
        withLedger(async ({ cfg, me }) => {
          const self = await acting(me, cfg);
          await sdk.setBreakGlassAllowed(me, { patient: self, allowed });
          console.log(`break-glass ${allowed ? 'allowed' : 'forbidden'} for ${self}`);
        }),
      );
  }
  patientGlass
    .command('list')
    .description('every emergency opening of your records, and whether each is open now')
    .action(() =>
      withLedger(async ({ cfg, me }) => {
        const self = await acting(me, cfg);
        const openings = await sdk.breakGlassOpenings(me, { patient: self });
        const open = await Promise.all(
          openings.map((o) => sdk.checkBreakGlass(me, { patient: self, provider: o.provider }).then(() => true, () => false)),
        );
        // Only the latest opening per provider can be open.
        const latest = new Map(openings.map((o, i) => [o.provider, i]));
        print(openings.map((o, i) => ({ provider: o.provider, expiresAt: timeOf(o.expiresAt), open: open[i] && latest.get(o.provider) === i, reasonHash: o.reasonHash, transactionHash: o.transactionHash })));
      }),
    );
  patientGlass
    .command('close <provider>')
    .description("end a provider's emergency opening of your records now")
    .action((who: string) =>
      withLedger(async ({ cfg, me }) => {
        const self = await acting(me, cfg);
        await sdk.closeBreakGlass(me, { patient: self, provider: resolveAddress(cfg.dataDir, who) });
        console.log(`closed ${who}'s emergency access to ${self}`);
      }),
    );
}

/** provider break-glass open|close|read. */
function addProviderBreakGlassCommands({ provider, withLedger, print }: Care): void {
  const providerGlass = provider.command('break-glass').description("emergency read of a patient's emergency data set without consent (recorded on chain, shown to the patient)");
  providerGlass
    .command('open <patient>')
    .description('open an emergency read for up to 24 h, stating why (only a salted hash goes on chain)')
    .requiredOption('--reason <text>', 'why, e.g. "unconscious on arrival, no next of kin"')
    .option('--duration <duration>', 'how long, e.g. 4h (at most 24h)', '24h')
    .action((who: string, opts: { reason: string; duration: string }) =>
      withLedger(async ({ cfg, me }) => {
        const self = signer(me);
        const target = resolveAddress(cfg.dataDir, who);
        const opened = await sdk.openBreakGlass(me, { patient: target, reason: opts.reason, durationSeconds: parseDuration(opts.duration) });
        mkdirSync(join(cfg.dataDir, 'local', 'break-glass'), { recursive: true, mode: 0o700 });
        writePrivateFile(statementFile(cfg.dataDir, self, target), JSON.stringify(opened.statement));
        print({ patient: target, expiresAt: timeOf(opened.expiresAt), reasonHash: opened.reasonHash, transactionHash: opened.transactionHash });
      }),
    );
  providerGlass
    .command('close <patient>')
    .description('end your emergency read now')
    .action((who: string) =>
      withLedger(async ({ cfg, me }) => {
        await sdk.closeBreakGlass(me, { patient: resolveAddress(cfg.dataDir, who), provider: signer(me) });
        console.log(`closed the emergency read of ${who}`);
      }),
    );
  providerGlass
    .command('read <patient>')
    .description("read the patient's emergency data set from the gatekeeper of the provider holding the records")
    .requiredOption('--at <provider>', 'the provider holding the records (name or address)')
    .requiredOption('--gatekeeper <url>', "that provider's gatekeeper, e.g. http://127.0.0.1:8081")
    .action((who: string, opts: { at: string; gatekeeper: string }) =>
      withLedger(async ({ cfg, me }) => {
        const self = signer(me);
        const target = resolveAddress(cfg.dataDir, who);
        const file = statementFile(cfg.dataDir, self, target);
        if (!existsSync(file)) throw new Error(`no break-glass opened for ${who} from this data directory: run \`provider break-glass open\` first`);
        const breakGlass = JSON.parse(readFileSync(file, 'utf8')) as { reason: string; salt: Hex };
        const gk = gatekeeperClient({ url: opts.gatekeeper.replace(/\/+$/, ''), gatekeeper: resolveAddress(cfg.dataDir, opts.at), chainId: me.chainId, account: me.account!, breakGlass });
        const types = [...new Set(EMERGENCY_DATA_SET.map((r) => r.resourceType))];
        const bundles = await Promise.all(types.map((t) => gk.get<{ entry?: { resource: unknown }[] }>(`/fhir/R4/${t}`)));
        const read = Object.fromEntries(types.map((t, i) => [t, (bundles[i]!.body.entry ?? []).map((e) => e.resource)]));
        print(read, (f) => [`Emergency data set of ${f.nameOf(target)} at ${f.nameOf(resolveAddress(cfg.dataDir, opts.at))} (the read is in their audit trail):`, ...types.map((t) => `  ${t}: ${read[t]!.length}`), 'The resources themselves: --json.'].join('\n'));
      }),
    );
}

/** guardian approve|finalize|status|patients. */
function addGuardianCommands({ program, withLedger, print }: Care): void {
  const guardian = program.command('guardian').description('guardian steps: recover a patient who lost their key (run with --as <guardian>)');
  guardian
    .command('approve <patient>')
    .description("approve moving the patient's identity to their new key (the first approval proposes it)")
    .requiredOption('--new-key <address>', "the patient's new address (name or address)")
    .action((who: string, opts: { newKey: string }) =>
      withLedger(async ({ cfg, me }) => {
        signer(me);
        const target = resolveAddress(cfg.dataDir, who);
        await sdk.approveRecovery(me, { patient: target, newController: resolveAddress(cfg.dataDir, opts.newKey) });
        const state = await sdk.recoveryOf(me, target);
        const mine = state.candidates.find((c) => c.candidate.toLowerCase() === resolveAddress(cfg.dataDir, opts.newKey).toLowerCase());
        console.log(
          state.scheduled
            ? `recovery of ${who} scheduled: ${state.scheduled.candidate} from ${timeOf(state.scheduled.readyAt)}`
            : `approved (${mine?.approvals ?? 0} of ${state.threshold})`,
        );
      }),
    );
  guardian
    .command('finalize <patient>')
    .description('complete a scheduled recovery after its waiting period (anyone may)')
    .action((who: string) =>
      withLedger(async ({ cfg, me }) => {
        signer(me);
        const target = resolveAddress(cfg.dataDir, who);
        await sdk.finalizeRecovery(me, { patient: target });
        console.log(`${who} is now held by ${await sdk.controllerOf(me, target)}`);
      }),
    );
  guardian
    .command('status <patient>')
    .description("the patient's guardians and any recovery in progress")
    .action((who: string) => withLedger(async ({ cfg, me }) => print(await sdk.recoveryOf(me, resolveAddress(cfg.dataDir, who)))));
  guardian
    .command('patients')
    .description('the patients you are a guardian of')
    .action(() => withLedger(async ({ me }) => print(await sdk.patientsGuardedBy(me, signer(me)))));
}
