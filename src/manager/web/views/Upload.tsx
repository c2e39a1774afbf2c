/**
 * Upload a scan or a medical image for the selected patient: the file is read in the page (with
 * progress), sent to this manager to be read and classified (POST /api/documents/classify, OCR and
 * models run on the provider's side, nothing stored), the suggestion is shown for the clinician to
 * confirm or change, and only then is it stored: a DocumentReference written through the
 * provider's own gatekeeper with a signed request, as RecordForm writes an Observation.
 */
import { useState } from 'react';
import type { DocumentReference } from '@medplum/fhirtypes';
import {
  IMAGE_MODELS, MAX_UPLOAD_BYTES, probabilityText, sniffUploadType, uploadDocumentReference,
  type ClassifyResult, type ImageModelName, type UploadType,
} from '../../../ml/uploads.js';
import type { Session } from '../lib/session.js';
import { useAction } from '../lib/use.js';
import { refusalText } from './provider/words.js';

/** What the clinician says the file is; 'auto' lets the manager decide (a small picture is a medical image). */
type What = 'auto' | 'document' | ImageModelName;

/** Bytes over a plain ArrayBuffer: what fetch accepts as a body. */
type Bytes = Uint8Array<ArrayBuffer>;

interface Classified {
  bytes: Bytes;
  type: UploadType;
  name: string;
  answer: ClassifyResult;
  imageModel?: ImageModelName;
}

const percent = (p: number) => `${Math.round(100 * p)} %`;

/** The file's bytes, reporting progress as FileReader reads it. */
function readFile(file: File, onProgress: (share: number) => void): Promise<Bytes> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(new Error(`the file could not be read: ${reader.error?.message ?? 'unknown error'}`));
    reader.readAsArrayBuffer(file);
  });
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

async function classify(bytes: Bytes, type: UploadType, what: What): Promise<ClassifyResult> {
  const query = what === 'auto' ? 'kind=auto' : what === 'document' ? 'kind=document' : `kind=image&model=${what}`;
  const res = await fetch(`/api/documents/classify?${query}`, { method: 'POST', headers: { 'content-type': type }, body: bytes });
  const body = (await res.json().catch(() => ({}))) as ClassifyResult & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `the manager answered ${res.status}`);
  return body;
}

export function Upload({ s, patientId, onSaved }: { s: Session; patientId: string; onSaved: () => void }) {
  const [file, setFile] = useState<File>();
  const [what, setWhat] = useState<What>('auto');
  const [step, setStep] = useState<{ text: string; share?: number }>();
  const [classified, setClassified] = useState<Classified>();
  const [chosen, setChosen] = useState('');
  const read = useAction();
  const save = useAction();

  const readAndClassify = () =>
    read.run(async () => {
      setClassified(undefined);
      if (!file) throw new Error('choose a file first');
      if (file.size > MAX_UPLOAD_BYTES) throw new Error(`${file.name} is ${Math.ceil(file.size / 1024)} KB; files up to ${MAX_UPLOAD_BYTES / 1024} KB can be uploaded`);
      try {
        setStep({ text: 'Reading the file', share: 0 });
        const bytes = await readFile(file, (share) => setStep({ text: 'Reading the file', share }));
        const type = sniffUploadType(bytes);
        if (!type) throw new Error(`${file.name} is not a PDF, PNG or JPEG file`);
        setStep({ text: 'Reading the text and classifying (a few seconds per page)' });
        const answer = await classify(bytes, type, what);
        const imageModel = answer.kind === 'image' ? (what === 'auto' || what === 'document' ? 'pneumoniamnist' : what) : undefined;
        setClassified({ bytes, type, name: file.name, answer, imageModel });
        setChosen(answer.suggestions[0]?.label ?? '');
      } finally {
        setStep(undefined);
      }
    });

  const confirm = () =>
    save.run(async () => {
      if (!classified || !chosen) throw new Error('choose a type first');
      const top = classified.answer.suggestions[0]!;
      const record = uploadDocumentReference({
        patientId, contentType: classified.type, data: toBase64(classified.bytes), size: classified.bytes.length, title: classified.name,
        kind: classified.answer.kind, label: chosen, confirmed: true, when: new Date().toISOString(),
        suggestion: { ...top, model: classified.answer.model.id }, imageModel: classified.imageModel,
      });
      const r = await s.gatekeeper(s.account.address).post<DocumentReference>('/fhir/R4/DocumentReference', record).catch((err: unknown) => {
        throw new Error(refusalText('the document', err));
      });
      setClassified(undefined);
      onSaved();
      return `Saved ${classified.name} as DocumentReference/${r.body.id}, filed under "${chosen}".`;
    });

  return (
    <fieldset data-testid="upload">
      <legend>Upload a scan or a medical image</legend>
      <label>File (PDF, PNG or JPEG, up to {MAX_UPLOAD_BYTES / 1024} KB){' '}
        <input type="file" accept="application/pdf,image/png,image/jpeg" data-testid="upload-file" onChange={(e) => { setFile(e.target.files?.[0]); setClassified(undefined); }} />
      </label>
      <label>It is{' '}
        <select value={what} onChange={(e) => setWhat(e.target.value as What)} data-testid="upload-what">
          <option value="auto">let MedLedger tell (small pictures are medical images)</option>
          <option value="document">a scanned document or letter</option>
          {Object.entries(IMAGE_MODELS).map(([k, name]) => <option key={k} value={k}>a {name}</option>)}
        </select>
      </label>
      <button onClick={readAndClassify} disabled={!file || read.busy} data-testid="upload-classify">Read and classify</button>
      {step && (
        <p role="status" data-testid="upload-progress">
          {step.text}…{' '}
          {step.share !== undefined ? <progress max={1} value={step.share} aria-label="reading the file">{percent(step.share)}</progress> : <progress aria-label="classifying" />}
        </p>
      )}
      {read.error && <p className="error" role="alert">{read.error}</p>}
      {classified && <Suggestion classified={classified} chosen={chosen} onChoose={setChosen} />}
      {classified && <button onClick={confirm} disabled={save.busy || !chosen} data-testid="upload-save">{save.busy ? 'Saving…' : `Confirm and save as "${chosen}"`}</button>}
      {save.error && <p className="error" role="alert">{save.error}</p>}
      {save.message && <p className="ok" role="status" data-testid="upload-saved">{save.message}</p>}
    </fieldset>
  );
}

function Suggestion({ classified, chosen, onChoose }: { classified: Classified; chosen: string; onChoose: (label: string) => void }) {
  const { answer, imageModel } = classified;
  const top = answer.suggestions[0];
  const read = answer.source === 'pixels' ? `the ${IMAGE_MODELS[imageModel ?? 'pneumoniamnist']} model looked at the picture`
    : answer.source === 'pdf-text' ? `read ${answer.words} words from the PDF's text`
    : `read ${answer.words} words by OCR (confidence ${Math.round(answer.ocrConfidence ?? 0)} of 100)`;
  return (
    <div data-testid="upload-suggestion" aria-live="polite">
      <p>
        Suggestion: <strong data-testid="upload-top-label">{top?.label}</strong>, probability <strong data-testid="upload-top-probability">{top ? probabilityText(top.probability) : '—'}</strong>{' '}
        <span className="muted">({read}; model {answer.model.id})</span>
      </p>
      {answer.kind === 'document' && answer.words < 5 && <p className="error">Hardly any text could be read: check the scan before you trust the suggestion.</p>}
      <fieldset>
        <legend>Confirm the type or choose another</legend>
        {answer.suggestions.map((sug) => (
          <label key={sug.label} style={{ display: 'block' }}>
            <input type="radio" name="upload-type" value={sug.label} checked={chosen === sug.label} onChange={() => onChoose(sug.label)} /> {sug.label} <span className="muted">{probabilityText(sug.probability)}</span>
          </label>
        ))}
      </fieldset>
      {answer.text && (
        <details>
          <summary>Text that was read</summary>
          <pre style={{ whiteSpace: 'pre-wrap' }} data-testid="upload-text">{answer.text}</pre>
        </details>
      )}
    </div>
  );
}
