/**
 * Where each input of the estimate came from: the record it was read from (resource type/id, its
 * LOINC, SNOMED CT or local code, and date), or why it was missing and what stood in for it.
 */
import type { HeartInput } from '../../../../ml/heart/types.js';
import { signed, systemName, unitText } from '../../lib/ml.js';

const STATUS: Record<HeartInput['status'], string> = {
  observed: 'read from your records',
  imputed: 'stand-in value',
  missing: 'missing',
};

function valueText(i: HeartInput): string {
  if (i.value === null || (typeof i.value === 'number' && Number.isNaN(i.value))) return '—';
  const unit = typeof i.value === 'number' ? unitText(i.unit) : '';
  return `${typeof i.value === 'number' ? Number(i.value.toFixed(2)) : i.value}${unit ? ` ${unit}` : ''}`;
}

function SourceText({ input }: { input: HeartInput }) {
  const s = input.source;
  if (!s) return <span className="muted">—</span>;
  return (
    <span>
      <code>{s.resourceType}{s.id ? `/${s.id}` : ''}</code>
      {s.code && <> · {systemName(s.code.system)} <code>{s.code.code}</code>{s.code.display ? ` (${s.code.display})` : ''}</>}
      {s.date && <> · {s.date.slice(0, 10)}</>}
    </span>
  );
}

/** `audience` words the status: "read from your records" for a patient, "read" for a clinician. */
export function InputsTable({ inputs, audience }: { inputs: HeartInput[]; audience: 'patient' | 'clinician' }) {
  const missing = inputs.filter((i) => i.status !== 'observed');
  return (
    <section aria-label="Inputs of the estimate">
      <h4>What the estimate used</h4>
      {missing.length > 0 && (
        <p data-testid="heart-missing-summary">
          {missing.length} of {inputs.length} inputs could not be read{audience === 'clinician' ? ' from the records you may see (nothing outside them was requested)' : ' from your records'}:{' '}
          {missing.map((i) => i.label).join(', ')}. The model filled each in (a typical value, or "unknown"), as the note on each says.
        </p>
      )}
      <table data-testid="heart-inputs">
        <thead>
          <tr><th scope="col">Input</th><th scope="col">Value used</th><th scope="col">Status</th><th scope="col">Source record</th><th scope="col">Adds (log-odds)</th></tr>
        </thead>
        <tbody>
          {inputs.map((i) => (
            <tr key={i.feature} data-testid="heart-input" data-feature={i.feature} data-status={i.status} className={i.status === 'observed' ? '' : 'not-observed'}>
              <th scope="row">{i.label}</th>
              <td>{valueText(i)}</td>
              <td>
                <span className={`badge ${i.status === 'observed' ? 'ok' : 'warn'}`}>{audience === 'clinician' && i.status === 'observed' ? 'read' : STATUS[i.status]}</span>
                {i.note && <div className="muted note" data-testid="heart-input-note">{i.note}</div>}
              </td>
              <td><SourceText input={i} /></td>
              <td>{signed(i.contribution)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
