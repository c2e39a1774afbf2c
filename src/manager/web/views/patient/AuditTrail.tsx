/** "Who read my data": every decision each gatekeeper made about the patient, each entry checked against an on-chain Merkle root. */
import type { AuditEvent } from '@medplum/fhirtypes';
import { verifyAuditEntry, type AuditEntry } from '../../../../sdk/audit.js';
import type { Summary } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';
import { useLoad } from '../../lib/use.js';

interface Row {
  provider: string;
  entry: AuditEntry;
  /** Unix seconds of the anchor, or why it is not verified. */
  verified: number | string;
}

const who = (e: AuditEvent) => e.agent?.find((a) => a.requestor)?.who?.identifier?.value ?? 'unknown';
const what = (e: AuditEvent) => {
  const q = e.entity?.find((x) => x.query)?.query;
  try {
    return q ? atob(q) : '';
  } catch {
    return '';
  }
};

/** A break-glass read (purposeOfEvent BTG, src/gatekeeper/audit.ts) says so, with the reason the provider stated. */
function EmergencyMark({ event }: { event: AuditEvent }) {
  const reason = event.purposeOfEvent?.find((p) => p.coding?.some((c) => c.code === 'BTG'))?.text;
  if (reason === undefined) return null;
  return <> <span className="badge error" data-testid="emergency-mark">emergency access</span> <span className="muted">“{reason}”</span></>;
}

async function trail(s: Session, summary: Summary): Promise<Row[]> {
  const rows = await Promise.all(
    summary.relationships.map(async (r) => {
      const { body } = await s.gatekeeper(r.provider).get<{ entries: AuditEntry[] }>('/audit');
      return Promise.all(
        body.entries.map(async (entry): Promise<Row> => ({
          provider: s.nameOf(r.provider),
          entry,
          verified: await verifyAuditEntry(s.ledger, r.provider, entry).catch((err: Error) => (/not anchored yet/.test(err.message) ? 'awaiting anchor' : err.message)),
        })),
      );
    }),
  );
  return rows.flat().sort((a, b) => (b.entry.event.recorded ?? '').localeCompare(a.entry.event.recorded ?? ''));
}

export function AuditTrail({ s, summary, version }: { s: Session; summary: Summary; version: number }) {
  const { data, error, reload, loading } = useLoad(() => trail(s, summary), [summary.blockNumber, version]);
  if (error) return <p className="error">{error}</p>;
  if (!data) return <p className="muted">Reading the audit trails…</p>;
  const me = s.account.address.toLowerCase();
  const others = data.filter((r) => who(r.entry.event) !== me);
  return (
    <div>
      <p>
        Every request about you at each provider, permitted or denied. Entries are anchored on chain in Merkle batches; a verified entry cannot have been
        altered or hidden since. <button className="secondary" onClick={reload} disabled={loading}>Refresh</button>
      </p>
      <table data-testid="audit">
        <thead><tr><th>When</th><th>Who</th><th>At</th><th>Request</th><th>Outcome</th><th>On chain</th></tr></thead>
        <tbody>
          {others.map(({ provider, entry, verified }) => (
            <tr key={`${provider}/${entry.seq}`} className={entry.event.outcome === '0' ? 'permit' : 'deny'} data-testid="audit-row">
              <td>{new Date(entry.event.recorded!).toLocaleString()}</td>
              <td>{s.nameOf(who(entry.event))}</td>
              <td>{provider}</td>
              <td><code>{what(entry.event)}</code><EmergencyMark event={entry.event} /></td>
              <td>{entry.event.outcomeDesc}</td>
              <td>{typeof verified === 'number' ? <span className="badge ok">verified {new Date(verified * 1000).toLocaleTimeString()}</span> : <span className="muted">{verified}</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {others.length === 0 && <p className="muted">No one but you has asked for your data.</p>}
    </div>
  );
}
