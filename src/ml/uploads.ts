/**
 * Uploaded files, the part every surface shares (manager route, web app, CLI): which files are
 * accepted, how big, what the classification answer looks like, and the FHIR DocumentReference an
 * upload is stored as once a clinician confirmed (or, from the CLI without --type, left) its type.
 * Browser-safe: no Node built-ins.
 *
 * Stored as DocumentReference (https://hl7.org/fhir/R4/documentreference.html) with the file inline
 * in content.attachment.data (base64), for scans and medical images alike: Media and Binary are not
 * types a provider store holds (src/records/fhir.ts SUPPORTED_TYPES).
 */
import type { DocumentReference } from '@medplum/fhirtypes';

/** The content types an upload may have, by what the bytes start with. */
export const UPLOAD_TYPES = ['application/pdf', 'image/png', 'image/jpeg'] as const;
export type UploadType = (typeof UPLOAD_TYPES)[number];

/**
 * Largest file accepted: the stored DocumentReference carries it base64-encoded (4/3 larger) and
 * must fit the gatekeeper's 1 MiB request body (src/gatekeeper/http/limits.ts).
 */
export const MAX_UPLOAD_BYTES = 700 * 1024;

/** What an upload is taken for: a page to read (OCR, then the text classifier) or a picture for an image model. */
export type UploadKind = 'document' | 'image';

/** The image models an upload can be read by (the MedMNIST sets the CNNs are trained on). */
export const IMAGE_MODELS = {
  pneumoniamnist: 'chest X-ray',
  breastmnist: 'breast ultrasound',
} as const;
export type ImageModelName = keyof typeof IMAGE_MODELS;

export interface Suggestion {
  label: string;
  /** In [0, 1]; a response lists every label of the model, most likely first. */
  probability: number;
}

/** What POST /api/documents/classify and `medledger doc classify --json` return. */
export interface ClassifyResult {
  kind: UploadKind;
  contentType: UploadType;
  /** The text that was classified (OCR output or a PDF's text layer), cut to TEXT_LIMIT characters; '' for an image. */
  text: string;
  /** Words in the whole text (before the cut). */
  words: number;
  /** Tesseract's mean word confidence 0–100; null when nothing went through OCR. */
  ocrConfidence: number | null;
  /** Where the text came from: OCR of the picture, a PDF's own text layer, or none (an image model read the pixels). */
  source: 'ocr' | 'pdf-text' | 'pixels';
  /** Pages read (PDFs: at most MAX_PDF_PAGES). */
  pages: number;
  suggestions: Suggestion[];
  /** The model that made the suggestions: its id and keccak256 of its parameters. */
  model: { id: string; hash: string };
}

export const TEXT_LIMIT = 2000;
export const MAX_PDF_PAGES = 3;

/** The content type the bytes themselves say (magic numbers), or undefined for anything else. */
export function sniffUploadType(bytes: Uint8Array): UploadType | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x25, 0x50, 0x44, 0x46, 0x2d)) return 'application/pdf'; // %PDF-
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  return undefined;
}

/** A Content-Type header without parameters, lower case; 'image/jpg' (common, not registered) read as image/jpeg. */
export function normaliseContentType(header: string | undefined): string {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'image/jpg' ? 'image/jpeg' : type;
}

export interface UploadRecordInput {
  patientId: string;
  contentType: UploadType;
  /** The file, base64-encoded. */
  data: string;
  /** Bytes of the file before encoding. */
  size: number;
  title: string;
  kind: UploadKind;
  /** The type the clinician chose (a specialty, or an image class). */
  label: string;
  /** False when nobody confirmed the label (the CLI without --type): stored as a preliminary document. */
  confirmed: boolean;
  /** The model's suggestion, kept in the description so a reader sees what was suggested and what was chosen. */
  suggestion?: Suggestion & { model: string };
  /** An image's model (what kind of picture it is). */
  imageModel?: ImageModelName;
  when: string;
}

const DOCUMENT_CLASS_SYSTEM = 'urn:medledger:document-class';
const CLINICAL_NOTE = { coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category', code: 'clinical-note', display: 'Clinical Note' }] };

/** A probability for people: whole percent, and "> 99 %" / "< 1 %" at the ends rather than a rounded certainty. */
export function probabilityText(p: number): string {
  if (p >= 0.995) return '> 99 %';
  if (p < 0.005) return '< 1 %';
  return `${Math.round(100 * p)} %`;
}

/** The DocumentReference an upload is stored as. */
export function uploadDocumentReference(input: UploadRecordInput): DocumentReference {
  const what = input.kind === 'image' ? `${input.imageModel ? IMAGE_MODELS[input.imageModel] : 'medical image'}: ${input.label}` : input.label;
  const suggested = input.suggestion ? `; the model (${input.suggestion.model}) suggested ${input.suggestion.label}, ${probabilityText(input.suggestion.probability)}` : '';
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    docStatus: input.confirmed ? 'final' : 'preliminary',
    type: { coding: [{ system: DOCUMENT_CLASS_SYSTEM, code: slug(input.label), display: input.label }], text: what },
    ...(input.kind === 'document' ? { category: [CLINICAL_NOTE] } : {}),
    subject: { reference: `Patient/${input.patientId}` },
    date: input.when,
    description: `${input.title} — ${what} (${input.confirmed ? 'confirmed by the clinician' : 'not confirmed'}${suggested})`,
    content: [{ attachment: { contentType: input.contentType, data: input.data, size: input.size, title: input.title, creation: input.when } }],
  };
}

function slug(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'unknown';
}
