/**
 * The patient's Records tab: everything their providers hold for them, read through each gatekeeper,
 * checked against the chain (chart/integrity.ts), shown as a chart with sections (Records with
 * `patientChart`), downloadable and printable. Records of a provider the patient declined are still
 * shown to the patient: declining stops sharing them (the contract's respond(false) stops every grant),
 * not the patient's own view, and the gatekeeper lets the patient read their own records whatever the
 * relationship's status (src/gatekeeper/auth/requester.ts).
 */
import type { Summary } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';
import { useLoad } from '../../lib/use.js';
import { DownloadRecords } from '../chart/Download.js';
import { LedgerCheck } from '../chart/Integrity.js';
import { recordsAt, type ProviderRecords } from '../chart/read.js';
import { Records, type SourcedResource } from '../Records.js';

export { recordsAt, type ProviderRecords };

function Source({ d, onRecheck, busy }: { d: ProviderRecords; onRecheck: () => void; busy: boolean }) {
  const declined = d.relationship?.status === 'rejected';
  return (
    <li data-testid="source" className={declined ? 'declined' : ''}>
      <strong>{d.provider}</strong>: {d.error ? <span className="error">Could not read your records here: {d.error}</span> : `${d.resources.length} records`}
      {declined && (
        <p className="declined-note" data-testid="declined-note">
          You declined {d.provider}’s records: they are not shared with anyone. You can still see them here.
        </p>
      )}
      <LedgerCheck d={d} onRecheck={onRecheck} busy={busy} />
    </li>
  );
}

export function Timeline({ s, summary, version }: { s: Session; summary: Summary; version: number }) {
  const rels = summary.relationships;
  const { data, loading, error, reload } = useLoad(() => Promise.all(rels.map((r) => recordsAt(s, r))), [summary.blockNumber, version]);
  if (error) return <p className="error" role="alert">Could not gather your records: {error}. Try again in a moment.</p>;
  if (!data) return <p className="muted">Gathering your records from {rels.length} providers…</p>;
  const items: SourcedResource[] = data.flatMap((d) => d.resources.map((resource) => ({ resource, source: d.provider })));
  return (
    <div className="patient-records" data-testid="patient-records">
      <h2 className="print-only">Health record summary for {s.name}</h2>
      <DownloadRecords resources={items.map((i) => i.resource)} who={s.name.replace(/\s*\(.*\)$/, '')} />
      <ul className="sources" aria-label="Where your records are">
        {data.map((d) => <Source key={d.provider} d={d} onRecheck={reload} busy={loading} />)}
      </ul>
      {loading && <p className="muted" role="status">Checking again…</p>}
      <Records items={items} empty="No records yet." patientChart />
    </div>
  );
}
