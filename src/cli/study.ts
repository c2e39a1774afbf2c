/**
 * `medledger study create|status|run|results`: a consented research study from the sponsor's side
 * (issue 16). `create` registers a definition (a JSON file) on chain and keeps it in the data
 * directory; `status` shows the chain's record and, with --as the sponsor, each site's consent count;
 * `run` runs the study over HTTP with the sites' gatekeepers (src/ml/research/coordinator.ts, secure
 * aggregation, signed with the sponsor's key) and keeps the results; `results` shows them, checked
 * against the chain. Sites are those named with `--gatekeeper provider=url`, else the gatekeepers a
 * `medledger start` on this data directory announced. A table by default, `--json` for scripts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import type { Config } from '../config.js';
import { loadUsers, resolveAddress } from '../keys/users.js';
import { announcedGatekeepers } from '../manager/gatekeeper-directory.js';
import { runStudy, type StudyRun } from '../ml/research/coordinator.js';
import { studyPath, type StudySiteStatus } from '../protocol/research/messages.js';
import { validateStudy, type StudyDefinition } from '../protocol/research/study.js';
import { gatekeeperClient } from '../sdk/gatekeeper.js';
import { enrollmentsOf, registerStudy, studyOf } from '../sdk/studies.js';
import { formatRun, formatStatus, progressLine, type SiteCount } from './study-format.js';
import { parseGatekeeperSpec } from './parse.js';
import type { PeopleFormat } from './summary-format.js';

type WithLedger = <T>(fn: (ctx: { cfg: Config; me: LedgerClient }) => Promise<T>) => Promise<T>;

export interface StudyCommandDeps {
  program: Command;
  withLedger: WithLedger;
  /** JSON with --json; else `forPeople`, or a generic table (main.ts). */
  print: (value: unknown, forPeople?: (f: PeopleFormat) => string) => void;
}

interface SiteOptions {
  gatekeeper?: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const STUDY_ID = /^0x[0-9a-fA-F]{64}$/;

function studyIdArg(text: string): Hex {
  if (!STUDY_ID.test(text)) throw new Error(`"${text}" is not a study id: 0x and 64 hex digits (from \`medledger study create\`)`);
  return text.toLowerCase() as Hex;
}

const studiesDir = (dataDir: string) => join(dataDir, 'studies');
const definitionFile = (dataDir: string, id: Hex) => join(studiesDir(dataDir), `${id}.json`);
const resultsFile = (dataDir: string, id: Hex) => join(studiesDir(dataDir), `${id}.results.json`);

function save(file: string, value: unknown): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(value, null, 2));
}

/** A study definition from a JSON file, validated (one plain message when it is not one). */
function readDefinition(file: string): StudyDefinition {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file} as JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateStudy(json);
}

/** The definition of `id`: the file given, else the one `study create` kept. */
function definitionOf(dataDir: string, id: Hex, file?: string): StudyDefinition | undefined {
  if (file) return readDefinition(file);
  const kept = definitionFile(dataDir, id);
  return existsSync(kept) ? readDefinition(kept) : undefined;
}

/** The sites: --gatekeeper provider=url (name or address), else the running system's gatekeepers. */
function sitesOf(dataDir: string, opts: SiteOptions): { provider: Address; url: string; name: string }[] {
  const users = loadUsers(dataDir);
  const nameOf = (a: Address) => users.find((u) => u.address.toLowerCase() === a.toLowerCase())?.name ?? a;
  if (opts.gatekeeper?.length) {
    return opts.gatekeeper.map((spec) => {
      const { provider: named, url } = parseGatekeeperSpec(spec);
      const provider = resolveAddress(dataDir, named);
      return { provider, url, name: nameOf(provider) };
    });
  }
  return [...announcedGatekeepers(dataDir)].map(([provider, url]) => ({ provider, url, name: nameOf(provider) }));
}

function requireSponsor(me: LedgerClient): void {
  if (!me.account) throw new Error('this command needs --as <sponsor>');
}

/** Each site's consent count, asked with the sponsor's signature; a site that refuses says why. */
async function siteCounts(me: LedgerClient, id: Hex, sites: ReturnType<typeof sitesOf>): Promise<SiteCount[]> {
  return Promise.all(
    sites.map(async ({ provider, url, name }) => {
      try {
        const client = gatekeeperClient({ url, gatekeeper: provider, chainId: me.chainId, account: me.account! });
        return { site: name, display: (await client.get<StudySiteStatus>(studyPath(id))).body.display };
      } catch (err) {
        return { site: name, error: (err as Error).message.split('\n')[0]! };
      }
    }),
  );
}

export function addStudyCommands({ program, withLedger, print }: StudyCommandDeps): void {
  const study = program.command('study').description('consented research studies: register, see consent, run with secure aggregation over the sites, results');
  const sites = (c: Command) =>
    c.option('--gatekeeper <provider=url>', "a site's gatekeeper (default: the running system's gatekeepers); repeatable", collect).option('--json', 'JSON for scripts');

  study
    .command('create')
    .description('register a study definition on chain, with --as its sponsor (the definition is kept in the data directory)')
    .requiredOption('--definition <file>', 'the study definition (JSON: title, sponsor, purpose, data, inclusion, model, privacy, expiresAt)')
    .option('--json', 'JSON for scripts')
    .action((opts: { definition: string; json?: boolean }) =>
      withLedger(async ({ cfg, me }) => {
        const def = readDefinition(opts.definition);
        requireSponsor(me);
        const r = await registerStudy(me, def);
        save(definitionFile(cfg.dataDir, r.studyId), def);
        if (opts.json) return print({ studyId: r.studyId, studyHash: r.studyHash, transactionHash: r.transactionHash });
        console.log(`registered study ${r.studyId} (${def.title}); patients consent to hash ${r.studyHash}`);
      }),
    );

  sites(study.command('status <studyId>').description("the study on chain, and with --as its sponsor each site's consent count (1–4 shown as <5)")).action((text: string, opts: SiteOptions) =>
    withLedger(async ({ cfg, me }) => {
      const id = studyIdArg(text);
      const chain = await studyOf(me, id);
      if (!chain) throw new Error(`no study ${id} is registered on chain`);
      const enrolled = (await enrollmentsOf(me, id)).length;
      const counts = me.account ? await siteCounts(me, id, sitesOf(cfg.dataDir, opts)) : [];
      if (opts.json) return print({ studyId: id, chain, definition: definitionOf(cfg.dataDir, id) ?? null, enrolled, sites: counts });
      console.log(formatStatus(id, chain, definitionOf(cfg.dataDir, id), enrolled, counts));
    }),
  );

  sites(
    study
      .command('run <studyId>')
      .description('run the study over the sites (secure aggregation over HTTP, each round opened on chain) and record its result; --as its sponsor')
      .option('--definition <file>', 'the definition (default: the one `study create` kept)'),
  ).action((text: string, opts: SiteOptions & { definition?: string }) =>
    withLedger(async ({ cfg, me }) => {
      const id = studyIdArg(text);
      requireSponsor(me);
      const definition = definitionOf(cfg.dataDir, id, opts.definition);
      if (!definition) throw new Error(`no definition of study ${id} in this data directory: give --definition <file>`);
      const bar = !opts.json && process.stderr.isTTY;
      const run = await runStudy({ sponsor: me, definition, sites: sitesOf(cfg.dataDir, opts), onProgress: (p) => void (bar && process.stderr.write(`\r${progressLine(p)}`)) });
      if (bar) process.stderr.write('\n');
      save(resultsFile(cfg.dataDir, id), run);
      if (opts.json) return print(run);
      console.log(formatRun(run));
    }),
  );

  study
    .command('results <studyId>')
    .description('the results `study run` kept, checked against the model and consent-set hashes recorded on chain')
    .option('--json', 'JSON for scripts')
    .action((text: string, opts: { json?: boolean }) =>
      withLedger(async ({ cfg, me }) => {
        const id = studyIdArg(text);
        const chain = await studyOf(me, id);
        if (!chain) throw new Error(`no study ${id} is registered on chain`);
        if (!chain.result) throw new Error(`study ${id} has no result on chain yet: run it with \`medledger study run ${id}\``);
        const file = resultsFile(cfg.dataDir, id);
        if (!existsSync(file)) throw new Error(`the results of study ${id} are not in this data directory (only its hashes are on chain: model ${chain.result.modelHash})`);
        const run = JSON.parse(readFileSync(file, 'utf8')) as StudyRun;
        if (run.modelHash !== chain.result.modelHash || run.consentSetHash !== chain.result.consentSetHash) {
          throw new Error(`the kept results of study ${id} do not match the result recorded on chain`);
        }
        if (opts.json) return print(run);
        console.log(formatRun(run));
      }),
    );
}
