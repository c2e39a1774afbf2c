/**
 * `medledger provider add-record` and `provider verify`: a provider's records go into its own store
 * through its own gatekeeper (signed requests), and the gatekeeper — never the CLI — publishes the
 * hash of what it stored (src/gatekeeper/publish/publish.ts), so a pointer's hash on chain is always
 * that of what the gatekeeper returns for its query. `verify` asks the gatekeeper to check exactly
 * that (Patient/$verify). `add-record --hash` stays for records kept outside a MedLedger gatekeeper:
 * it only publishes the hash it is given.
 */
import type { Command } from 'commander';
import type { Bundle, Parameters, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import type { Config } from '../config.js';
import { findUser, resolveAddress } from '../keys/users.js';
import { announcedGatekeepers } from '../manager/gatekeeper-directory.js';
import { ADDRESS_SYSTEM } from '../protocol/identifiers.js';
import { normalizePointerQuery, parsePointerQuery } from '../protocol/pointer-query.js';
import { scopeLabel } from '../protocol/scope-labels.js';
import { hashResultSet, type ResourceLike } from '../records/hash.js';
import * as sdk from '../sdk/index.js';
import { gatekeeperClient, GatekeeperRequestError, type GatekeeperClient } from '../sdk/gatekeeper.js';
import { waiting, table } from './output.js';
import { parseHash } from './parse.js';
import { asPatientRecords, assertWithinQuery, readRecordFile, type FileRecord } from './record-file.js';
import type { PeopleFormat } from './summary-format.js';

type WithLedger = <T>(fn: (ctx: { cfg: Config; me: LedgerClient }) => Promise<T>) => Promise<T>;

export interface RecordCommandDeps {
  provider: Command;
  withLedger: WithLedger;
  print: (value: unknown, forPeople?: (f: PeopleFormat) => string) => void;
}

/** The largest page a search returns (records/search.ts MAX_COUNT): a pointer hashed here must fit in one. */
const PAGE = 1000;

/** The signing provider's own gatekeeper, its requests' failures as one line naming the provider. */
interface OwnGatekeeper {
  name: string;
  ask<T>(method: 'get' | 'post', path: string, body?: unknown): Promise<T>;
}

/** This provider's gatekeeper: --gatekeeper, else where the running system announced it (gatekeepers.json). */
function ownGatekeeper(cfg: Config, me: LedgerClient, url: string | undefined): OwnGatekeeper {
  if (!me.account) throw new Error('this command needs --as <provider>');
  const self = me.account.address;
  const user = findUser(cfg.dataDir, self);
  if (user.role !== 'provider') throw new Error(`${user.name} is not a provider: run with --as <provider>`);
  const base = (url ?? announcedGatekeepers(cfg.dataDir).get(self))?.replace(/\/+$/, '');
  if (!base) throw new Error(`no gatekeeper of ${user.name} runs on this data directory: run \`medledger start\` (npm start) first, or give --gatekeeper <url>`);
  const gk: GatekeeperClient = gatekeeperClient({ url: base, gatekeeper: self, chainId: me.chainId, account: me.account });
  return {
    name: user.name,
    async ask<T>(method: 'get' | 'post', path: string, body?: unknown): Promise<T> {
      try {
        return (method === 'get' ? await gk.get<T>(path) : await gk.post<T>(path, body)).body;
      } catch (err) {
        if (err instanceof GatekeeperRequestError) throw new Error(`${user.name}'s gatekeeper refused: ${err.message.replace(/^gatekeeper answered /, '')}`);
        if (err instanceof TypeError) throw new Error(`cannot reach ${user.name}'s gatekeeper at ${base}: is \`medledger start\` running?`);
        throw err;
      }
    },
  };
}

/** The patient's Patient id in the provider's store: the one linked to their address (ADDRESS_SYSTEM). */
async function localPatientId(gk: OwnGatekeeper, patient: Address, who: string): Promise<string> {
  const found = await gk.ask<Bundle>('get', `/fhir/R4/Patient?identifier=${encodeURIComponent(`${ADDRESS_SYSTEM}|${patient.toLowerCase()}`)}`);
  const id = found.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id;
  if (!id) throw new Error(`${gk.name}'s store has no patient linked to ${who}: find and link them in the EHR Manager first`);
  return id;
}

/** Stores `records` in one transaction Bundle (all or none); returns the new `Type/id`s. */
async function storeRecords(gk: OwnGatekeeper, records: readonly FileRecord[]): Promise<string[]> {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: records.map(({ resource, fullUrl }) => ({ ...(fullUrl ? { fullUrl } : {}), resource, request: { method: 'POST', url: resource.resourceType } })),
  };
  const response = await gk.ask<Bundle>('post', '/fhir/R4', bundle);
  return (response.entry ?? []).map((e) => (e.response?.location ?? '').replace(/\/_history\/.*$/, ''));
}

/** The hash of what the gatekeeper returns for pointer `query` of the patient now (as a patient's app checks it). */
async function hashOfQuery(gk: OwnGatekeeper, query: string, patientId: string): Promise<Hex> {
  const q = parsePointerQuery(query);
  const search = new URLSearchParams({ patient: patientId, ...(q.categories.length ? { category: q.categories.join(',') } : {}), _count: String(PAGE) });
  const found = await gk.ask<Bundle>('get', `/fhir/R4/${q.resourceType}?${search}`);
  const resources = (found.entry ?? []).flatMap((e) => (e.resource?.resourceType === q.resourceType ? [e.resource] : []));
  if ((found.total ?? resources.length) > resources.length) throw new Error(`${query} returns over ${PAGE} records for this patient: too many to hash here`);
  return hashResultSet(resources as Resource[] as ResourceLike[]);
}

type Change = 'added' | 'updated' | 'unchanged';

interface AddedRecords {
  patient: Address;
  provider: Address;
  relationshipId: string;
  stored: string[];
  /** Every pointer of the relationship after the write, and what the write did to it. */
  pointers: { query: string; dataHash: Hex; change: Change }[];
}

/** --data: validate, store through the gatekeeper, make sure the named pointer exists; what is on chain afterwards. */
async function addFromFile(cfg: Config, me: LedgerClient, opts: { patient: string; query: string; data: string; gatekeeper?: string }): Promise<AddedRecords> {
  const query = normalizePointerQuery(opts.query);
  const fromFile = readRecordFile(opts.data);
  assertWithinQuery(fromFile, query, opts.data);
  const gk = ownGatekeeper(cfg, me, opts.gatekeeper);
  const provider = me.account!.address;
  const patient = resolveAddress(cfg.dataDir, opts.patient);
  const patientId = await localPatientId(gk, patient, opts.patient);
  const records = asPatientRecords(fromFile, patientId, opts.data);
  const pointersNow = async () => (await sdk.readSummary(me, patient)).relationships.find((r) => r.provider.toLowerCase() === provider.toLowerCase());
  const before = new Map((await pointersNow())?.pointers.map((p) => [p.query, p.dataHash]));
  // The gatekeeper publishes every pointer the new records change, after its commit and before it answers.
  const stored = await waiting('storing and publishing…', storeRecords(gk, records));
  let after = await pointersNow();
  if (!after?.pointers.some((p) => p.query === query)) {
    // It points at the narrowest query a record falls under (or one already covering it); the query named here gets its pointer too, with the hash of what is stored.
    await waiting('publishing on chain…', sdk.addRecordPointer(me, { patient, query, dataHash: await hashOfQuery(gk, query, patientId) }));
    after = await pointersNow();
  }
  const pointers = after!.pointers.map((p) => ({ query: p.query, dataHash: p.dataHash, change: (!before.has(p.query) ? 'added' : before.get(p.query) === p.dataHash ? 'unchanged' : 'updated') as Change }));
  return { patient, provider, relationshipId: after!.id, stored, pointers };
}

function formatAdded(r: AddedRecords, f: PeopleFormat): string {
  const changed = r.pointers.filter((p) => p.change !== 'unchanged');
  return [
    `Stored ${r.stored.length} record${r.stored.length === 1 ? '' : 's'} for ${f.nameOf(r.patient)} at ${f.nameOf(r.provider)}; the gatekeeper published the hash of what it now holds.`,
    '',
    table([['records', 'query', 'on chain', 'data hash'], ...changed.map((p) => [scopeLabel(p.query), p.query, p.change, `${p.dataHash.slice(0, 10)}…`])]),
  ].join('\n');
}

interface Verified {
  patient: Address;
  provider: Address;
  verified: boolean;
  pointers: { query: string; chainHash: Hex; dataHash: Hex; match: boolean }[];
}

/** Patient/$verify at the provider's own gatekeeper: each pointer's hash on chain against its store. */
async function verifyAt(cfg: Config, me: LedgerClient, opts: { patient: string; gatekeeper?: string }): Promise<Verified> {
  const gk = ownGatekeeper(cfg, me, opts.gatekeeper);
  const patient = resolveAddress(cfg.dataDir, opts.patient);
  const result = await gk.ask<Parameters>('get', `/fhir/R4/Patient/${await localPatientId(gk, patient, opts.patient)}/$verify`);
  const parts = (result.parameter ?? []).filter((p) => p.name === 'pointer').map((p) => Object.fromEntries((p.part ?? []).map((x) => [x.name, x.valueString ?? x.valueBoolean])));
  const pointers = parts.map((p) => ({ query: p.query as string, chainHash: p.chainHash as Hex, dataHash: p.dataHash as Hex, match: p.match === true }));
  return { patient, provider: me.account!.address, verified: result.parameter?.find((p) => p.name === 'verified')?.valueBoolean === true, pointers };
}

function formatVerified(v: Verified, f: PeopleFormat): string {
  const whose = `${f.nameOf(v.patient)} at ${f.nameOf(v.provider)}`;
  if (v.pointers.length === 0) return `No pointers to the records of ${whose}.`;
  const head = v.verified ? `Every pointer to the records of ${whose} matches what its gatekeeper returns.` : `Some pointers to the records of ${whose} do NOT match the chain.`;
  return [head, '', table([['records', 'query', 'matches the chain'], ...v.pointers.map((p) => [scopeLabel(p.query), p.query, p.match ? 'yes' : 'NO'])])].join('\n');
}

export function addRecordCommands({ provider, withLedger, print }: RecordCommandDeps): void {
  provider
    .command('add-record')
    .description("store a patient's records through this provider's gatekeeper, which publishes the hash of what it stored to the patient's Summary (opening the relationship, adding or updating the pointer)")
    .requiredOption('--patient <patient>', 'patient name or address')
    .requiredOption('--query <query>', 'the pointer the records go under, an on-chain-safe FHIR search, e.g. Observation?category=laboratory')
    .option('--data <file>', "a FHIR Bundle, resource or array of resources within --query, without a subject (the command sets the patient's); validated, stored as new records")
    .option('--hash <hash>', 'publish only this data hash, for records kept outside a MedLedger gatekeeper (nothing is stored)')
    .option('--gatekeeper <url>', "this provider's gatekeeper (default: the running system's)")
    .action((opts: { patient: string; query: string; data?: string; hash?: string; gatekeeper?: string }) =>
      withLedger(async ({ cfg, me }) => {
        if (!me.account) throw new Error('this command needs --as <provider>');
        if (opts.data && opts.hash) throw new Error('give --data <file> (stored, hashed by the gatekeeper) or --hash <0x…> (records kept elsewhere), not both');
        if (opts.data) {
          const added = await addFromFile(cfg, me, { ...opts, data: opts.data });
          return print(added, (f) => formatAdded(added, f));
        }
        if (!opts.hash) throw new Error('give --data <file.json>, or --hash <0x…> for records kept outside a MedLedger gatekeeper');
        const dataHash = parseHash(opts.hash);
        const r = await waiting('publishing on chain…', sdk.addRecordPointer(me, { patient: resolveAddress(cfg.dataDir, opts.patient), query: opts.query, dataHash }));
        print({ action: r.action, relationshipId: r.relationshipId, dataHash, transactionHash: r.transactionHash });
      }),
    );
  provider
    .command('verify')
    .description("check that each pointer to a patient's records here carries the hash of what this provider's gatekeeper returns for it (exit 1 if not)")
    .requiredOption('--patient <patient>', 'patient name or address')
    .option('--gatekeeper <url>', "this provider's gatekeeper (default: the running system's)")
    .action((opts: { patient: string; gatekeeper?: string }) =>
      withLedger(async ({ cfg, me }) => {
        const verified = await waiting('verifying…', verifyAt(cfg, me, opts));
        print(verified, (f) => formatVerified(verified, f));
        const wrong = verified.pointers.filter((p) => !p.match);
        if (!verified.verified) throw new Error(`${wrong.length} of ${verified.pointers.length} pointers do not match the chain: ${wrong.map((p) => p.query).join(', ')}`);
      }),
    );
}
