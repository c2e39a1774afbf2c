/**
 * `medledger ml risk|similar|advice <patient>`, `ml card <model>` and `ml train`: the served models on
 * the command line. The model is the artefact the system serves (data/models, hash-checked; see
 * ml-models.ts; `ml train` rebuilds it from the vendored data with a progress bar), the patient's records are read through the gatekeepers as
 * the --as user may read them (ml-records.ts), and the estimate is computed in this process: nothing
 * about the patient is sent anywhere. A table by default, `--json` for scripts. Registered by main.ts.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { getAddress, isAddress, type Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import type { Config } from '../config.js';
import { loadUsers, resolveAddress } from '../keys/users.js';
import { announcedGatekeepers } from '../manager/gatekeeper-directory.js';
import { assessBreastCytology, findSimilarCytology } from '../ml/breast/assess.js';
import type { ModelCard } from '../ml/card.js';
import { adviseHeart, assessHeartRisk, findSimilarCases } from '../ml/heart/assess.js';
import { isServedModelId, SERVED_MODEL_IDS, servedArtefactPath, writeServedArtefact } from '../ml/served-artefacts.js';
import { onChainRecordOf } from '../ml/served-chain.js';
import { readPatientRecords, type PatientRecords } from './ml-records.js';
import { formatAdvice, formatAssessment, formatCard, formatSimilar } from './ml-format.js';
import { CARD_MODEL_IDS, modelCard, servedDocument, servedIds as modelIds, trainWithProgress } from './ml-models.js';
import { parseGatekeeperSpec } from './parse.js';
import type { PeopleFormat } from './summary-format.js';

type WithLedger = <T>(fn: (ctx: { cfg: Config; me: LedgerClient }) => Promise<T>) => Promise<T>;

export interface MlCommandDeps {
  program: Command;
  withLedger: WithLedger;
  /** JSON with --json; else `forPeople`, or a generic table (main.ts). */
  print: (value: unknown, forPeople?: (f: PeopleFormat) => string) => void;
}

interface PatientOptions {
  json?: boolean;
  gatekeeper?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The gatekeepers to read from: those the running system announced, and any named with --gatekeeper provider=url. */
function gatekeepersOf(cfg: Config, named: readonly string[] = []): Map<Address, string> {
  const map = announcedGatekeepers(cfg.dataDir);
  for (const spec of named) {
    const { provider, url } = parseGatekeeperSpec(spec);
    map.set(getAddress(resolveAddress(cfg.dataDir, provider)), url);
  }
  return map;
}

/** A patient named by user name or address; for a provider also its local Patient id (e.g. smh-100003). */
function patientRef(cfg: Config, name: string): Address | { localId: string } {
  if (isAddress(name, { strict: false })) return getAddress(name);
  const user = loadUsers(cfg.dataDir).find((u) => u.name.toLowerCase() === name.toLowerCase());
  if (user && user.role !== 'patient') throw new Error(`"${name}" is a ${user.role}, not a patient`);
  if (user) return user.address;
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(name) && /\d/.test(name)) return { localId: name };
  throw new Error(`unknown patient "${name}" (see \`medledger users\`; a provider may also give its local Patient id)`);
}

async function recordsOf(cfg: Config, me: LedgerClient, name: string, opts: PatientOptions): Promise<PatientRecords> {
  const records = await readPatientRecords({ me, patient: patientRef(cfg, name), gatekeepers: gatekeepersOf(cfg, opts.gatekeeper) });
  if (records.resources.length === 0) throw new Error(`no records of ${name} that you may read${records.skipped.length ? ` (${records.skipped.join('; ')})` : ''}`);
  for (const s of records.skipped) process.stderr.write(`note: ${s}\n`);
  return records;
}

export function addMlCommands({ program, withLedger, print }: MlCommandDeps): void {
  const ml = program.command('ml').description('the served models: heart-disease risk, similar cases, lifestyle advice, breast cytology; model cards');
  const patientCommand = (name: string, description: string) =>
    ml
      .command(`${name} <patient>`)
      .description(description)
      .option('--json', 'JSON for scripts')
      .option('--gatekeeper <provider=url>', "a provider's gatekeeper (default: those of the running system)", collect);

  patientCommand('risk', "a patient's estimated risk with each input's contribution and source, read as --as may read the records")
    .option('--model <id>', `the model: ${modelIds()}`, 'heart-risk')
    .action((patient: string, opts: PatientOptions & { model: string }) =>
      withLedger(async ({ cfg, me }) => {
        if (!isServedModelId(opts.model)) throw new Error(`unknown model "${opts.model}": the models are ${modelIds()}`);
        const records = await recordsOf(cfg, me, patient, opts);
        const doc = servedDocument(opts.model);
        const assessment = opts.model === 'heart-risk' ? assessHeartRisk(doc, records.resources) : assessBreastCytology(doc, records.resources);
        if (opts.json) print({ patient, model: { id: doc.card.id, modelHash: doc.card.modelHash }, read: records.read, assessment });
        else console.log(formatAssessment(patient, records, assessment));
      }),
    );
  patientCommand('similar', 'the nearest de-identified training cases, with their outcomes and why they are close')
    .option('--model <id>', `the model: ${modelIds()}`, 'heart-risk')
    .option('-k <n>', 'how many', '5')
    .action((patient: string, opts: PatientOptions & { model: string; k: string }) =>
      withLedger(async ({ cfg, me }) => {
        const k = Number(opts.k);
        if (!Number.isInteger(k) || k < 1 || k > 50) throw new Error('-k must be a whole number from 1 to 50');
        if (!isServedModelId(opts.model)) throw new Error(`unknown model "${opts.model}": the models are ${modelIds()}`);
        const records = await recordsOf(cfg, me, patient, opts);
        const doc = servedDocument(opts.model);
        const similar = opts.model === 'heart-risk' ? findSimilarCases(doc, records.resources, k) : findSimilarCytology(doc, records.resources, k);
        if (opts.json) print({ patient, model: { id: doc.card.id, modelHash: doc.card.modelHash }, similar });
        else console.log(formatSimilar(patient, similar));
      }),
    );
  patientCommand('advice', 'lifestyle suggestions, those on the largest modifiable contributions to the heart risk first, each with its guideline rule').action(
    (patient: string, opts: PatientOptions) =>
      withLedger(async ({ cfg, me }) => {
        const records = await recordsOf(cfg, me, patient, opts);
        const doc = servedDocument('heart-risk');
        const advice = adviseHeart(doc, records.resources, assessHeartRisk(doc, records.resources));
        if (opts.json) print({ patient, model: { id: doc.card.id, modelHash: doc.card.modelHash }, advice });
        else console.log(formatAdvice(patient, advice));
      }),
  );
  ml.command('card <model>')
    .description(`a model's card: intended use, training data and licence, metrics with 95 % intervals, calibration, subgroups, limitations (${CARD_MODEL_IDS.join(', ')})`)
    .option('--json', 'JSON for scripts')
    .action((id: string, opts: { json?: boolean }) =>
      withLedger(async ({ me }) => {
        const card: ModelCard = { ...(await modelCard(id)) };
        card.onChain = await onChainRecordOf(me, card).catch(() => null);
        if (opts.json) print(card);
        else console.log(formatCard(card));
      }),
    );
  ml.command('train [models...]')
    .description(`trains the served tabular models from the vendored data and writes their artefacts, data/models/<model>/model.json (${modelIds()}; default all)`)
    .option('--out <folder>', 'write <folder>/<model>/model.json instead')
    .action((ids: string[], opts: { out?: string }) => {
      for (const id of ids) if (!isServedModelId(id)) throw new Error(`unknown model "${id}": the models are ${modelIds()}`);
      for (const id of ids.length ? ids.filter(isServedModelId) : SERVED_MODEL_IDS) {
        const path = writeServedArtefact(trainWithProgress(id), opts.out ? join(opts.out, id, 'model.json') : servedArtefactPath(id));
        console.log(`wrote ${path}`);
      }
    });
}
