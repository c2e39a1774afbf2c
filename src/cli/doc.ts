/**
 * Uploaded documents on the command line (issue 15):
 * - `medledger doc classify <file> [--json]`: read a PDF, PNG or JPEG offline (OCR or a PDF's
 *   text layer, or the image model for a small medical picture) and print every suggested label
 *   with its probability;
 * - `medledger --as <provider> provider upload <patient> <file> [--type …]`: store it in the
 *   provider's own store as a DocumentReference, written through its running gatekeeper with a
 *   signed request, as any record is. --type is the clinician's confirmed type; without it the
 *   top suggestion is stored as preliminary (docStatus), for someone to confirm.
 * Registered on the `medledger` program by main.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { Address } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import type { Config } from '../config.js';
import { resolveAddress } from '../keys/users.js';
import { trainServedDocumentModel } from '../ml/document-model.js';
import { createDocumentService, UploadError, type DocumentService } from '../ml/document-service.js';
import { IMAGE_MODELS, MAX_UPLOAD_BYTES, probabilityText, sniffUploadType, uploadDocumentReference, type ClassifyResult, type ImageModelName, type UploadKind, type UploadType } from '../ml/uploads.js';
import { ADDRESS_SYSTEM } from '../protocol/identifiers.js';
import { gatekeeperClient } from '../sdk/gatekeeper.js';
import type { PeopleFormat } from './summary-format.js';

type WithLedger = <T>(fn: (ctx: { cfg: Config; me: LedgerClient }) => Promise<T>) => Promise<T>;

export interface DocCommandDeps {
  program: Command;
  provider: Command;
  withLedger: WithLedger;
  /** JSON with --json; else `forPeople`, or a generic table (main.ts). */
  print: (value: unknown, forPeople?: (f: PeopleFormat) => string) => void;
}

interface ReadOptions {
  kind: string;
  model: string;
}

/** The file's bytes and type, or a one-line error for a missing, empty, oversized or unsupported file. */
function readUpload(file: string): { bytes: Uint8Array; type: UploadType } {
  if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`no such file: ${file}`);
  const size = statSync(file).size;
  if (size > MAX_UPLOAD_BYTES) throw new Error(`${file} has ${size} bytes; at most ${MAX_UPLOAD_BYTES} (${MAX_UPLOAD_BYTES / 1024} KB) are accepted`);
  const bytes = new Uint8Array(readFileSync(file));
  const type = sniffUploadType(bytes);
  if (!type) throw new Error(`${file} is not a PDF, PNG or JPEG file`);
  return { bytes, type };
}

function checkOptions(opts: ReadOptions): { kind: UploadKind | 'auto'; imageModel: ImageModelName } {
  if (!['auto', 'document', 'image'].includes(opts.kind)) throw new Error('--kind must be auto, document or image');
  if (!Object.hasOwn(IMAGE_MODELS, opts.model)) throw new Error(`--model must be one of ${Object.keys(IMAGE_MODELS).join(', ')}`);
  return { kind: opts.kind as UploadKind | 'auto', imageModel: opts.model as ImageModelName };
}

/** Classifies with a service opened for this command (the document model trains in about a second). */
async function classifyFile(bytes: Uint8Array, type: UploadType, opts: ReadOptions): Promise<ClassifyResult> {
  const options = checkOptions(opts);
  let model: ReturnType<typeof trainServedDocumentModel> | undefined;
  const service: DocumentService = createDocumentService({
    documentModel: async () => {
      if (!model && process.stderr.isTTY) process.stderr.write('training the document classifier on the medical abstracts…\n');
      return (model ??= trainServedDocumentModel());
    },
  });
  try {
    return await service.classify({ bytes, contentType: type, ...options });
  } catch (err) {
    throw err instanceof UploadError ? new Error(err.message) : err;
  } finally {
    await service.close();
  }
}

function table(result: ClassifyResult): string {
  const read = result.source === 'pixels' ? 'read by the image model' : result.source === 'pdf-text' ? "read from the PDF's text" : `read by OCR, confidence ${Math.round(result.ocrConfidence ?? 0)}`;
  const width = Math.max(10, ...result.suggestions.map((s) => s.label.length));
  return [
    `${result.kind} (${result.contentType}), ${read}${result.kind === 'document' ? `: ${result.words} words on ${result.pages} page${result.pages === 1 ? '' : 's'}` : ''}`,
    `model ${result.model.id} ${result.model.hash}`,
    '',
    `${'suggestion'.padEnd(width)}  probability`,
    ...result.suggestions.map((s) => `${s.label.padEnd(width)}  ${probabilityText(s.probability).padStart(11)}`),
  ].join('\n');
}

export function addDocCommands({ program, provider, withLedger, print }: DocCommandDeps): void {
  const readOptions = (cmd: Command) =>
    cmd
      .option('--kind <kind>', 'auto (a small picture is a medical image), document or image', 'auto')
      .option('--model <set>', `image model for a medical image: ${Object.keys(IMAGE_MODELS).join(' or ')}`, 'pneumoniamnist');

  const doc = program.command('doc').description('uploaded documents and images: read and classify them offline');
  readOptions(doc.command('classify <file>').description('suggest a specialty for a scanned document (PDF, PNG, JPEG) or a class for a medical image, with probabilities'))
    .option('--json', 'print the whole answer as JSON')
    .action(async (file: string, opts: ReadOptions & { json?: boolean }) => {
      const { bytes, type } = readUpload(file);
      const result = await classifyFile(bytes, type, opts);
      if (opts.json) print(result);
      else console.log(table(result));
    });

  readOptions(provider.command('upload <patient> <file>').description("store a scan or medical image in this provider's store as a DocumentReference, through its gatekeeper"))
    .option('--type <label>', 'the confirmed type (a specialty, or an image class); without it the top suggestion is stored as preliminary')
    .option('--gatekeeper <url>', "this provider's gatekeeper", 'http://127.0.0.1:8081')
    .action((who: string, file: string, opts: ReadOptions & { type?: string; gatekeeper: string }) =>
      withLedger(async ({ cfg, me }) => {
        if (!me.account) throw new Error('this command needs --as <provider>');
        const { bytes, type } = readUpload(file);
        const { imageModel } = checkOptions(opts);
        const gk = gatekeeperClient({ url: opts.gatekeeper.replace(/\/+$/, ''), gatekeeper: me.account.address, chainId: me.chainId, account: me.account });
        const patientId = await localPatientId(gk, resolveAddress(cfg.dataDir, who), who);
        const result = opts.type ? undefined : await classifyFile(bytes, type, opts);
        const kind = result?.kind ?? (opts.kind === 'image' ? 'image' : 'document');
        const top = result?.suggestions[0];
        const when = new Date().toISOString();
        const record = uploadDocumentReference({
          patientId, contentType: type, data: Buffer.from(bytes).toString('base64'), size: bytes.length, title: basename(file), kind,
          label: opts.type ?? top!.label, confirmed: !!opts.type, when,
          ...(top ? { suggestion: { ...top, model: result!.model.id } } : {}),
          ...(kind === 'image' ? { imageModel } : {}),
        });
        const saved = await gk.post<{ id: string }>('/fhir/R4/DocumentReference', record);
        const out = { id: `DocumentReference/${saved.body.id}`, patient: `Patient/${patientId}`, type: record.type?.text, docStatus: record.docStatus, suggestions: result?.suggestions };
        print(out, (f) => `stored ${basename(file)} for ${f.nameOf(resolveAddress(cfg.dataDir, who))} as ${out.id}: ${out.type} (${opts.type ? 'type confirmed by you' : 'type suggested by the model, not confirmed'})`);
      }),
    );
}

/** The patient's id in this provider's store, found by their chain address (as the web app does). */
async function localPatientId(gk: ReturnType<typeof gatekeeperClient>, address: Address, who: string): Promise<string> {
  const found = await gk.get<{ entry?: { resource?: { id?: string } }[] }>(`/fhir/R4/Patient?identifier=${encodeURIComponent(`${ADDRESS_SYSTEM}|${address.toLowerCase()}`)}`);
  const id = found.body.entry?.[0]?.resource?.id;
  if (!id) throw new Error(`${who} is not linked to a patient in this provider's store: link them first (the EHR Manager's "Find and link")`);
  return id;
}
