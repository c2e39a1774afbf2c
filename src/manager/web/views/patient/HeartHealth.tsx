/**
 * "My heart health": the patient's own heart-disease risk in plain words, with the same explanation a
 * clinician sees, computed in this browser from the records the patient's providers' gatekeepers
 * return to the patient (read as for the Records tab). The result stays in the page: it is not sent
 * to the manager, a provider or anyone else unless the patient shares it themselves.
 */
import type { Summary } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';
import { useLoad } from '../../lib/use.js';
import { HeartRiskPanel } from '../ml/HeartRiskPanel.js';
import { recordsAt } from './Timeline.js';

export function HeartHealth({ s, summary, version }: { s: Session; summary: Summary; version: number }) {
  // A rejection stops sharing, not the patient's own view (README, "The flow" step 4): her own records all count.
  const rels = summary.relationships;
  const records = useLoad(() => Promise.all(rels.map((r) => recordsAt(s, r))), [summary.blockNumber, version]);
  const failed = records.data?.filter((d) => d.error) ?? [];
  return (
    <div data-testid="my-heart-health">
      <p>
        This estimate is worked out <strong>here, in your browser</strong>, from your own records at {rels.map((r) => s.nameOf(r.provider)).join(' and ') || 'your providers'}.{' '}
        <span data-testid="heart-stays-here">Nothing computed here is sent to this manager, your providers or anyone else.</span>
      </p>
      {records.error && <p className="error" role="alert">{records.error}</p>}
      {failed.map((d) => <p key={d.provider} className="error">{d.provider}: {d.error}</p>)}
      <HeartRiskPanel
        audience="patient"
        from="your own records, as your providers' gatekeepers returned them to you"
        resources={records.data?.flatMap((d) => d.resources)}
      />
      <p className="muted">This is a statistical estimate from a research model, not a diagnosis. Talk to your doctor before changing any treatment.</p>
    </div>
  );
}
