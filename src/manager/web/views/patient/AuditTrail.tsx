/**
 * "Who read my data": every decision each gatekeeper made about the patient, in words (who, which
 * records, allowed or refused), each entry checked against an on-chain Merkle root. The raw request,
 * addresses and the gatekeeper's own outcome text are in a details toggle on each row.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { requesterOf, requestOf, verifyAuditEntry, type AuditEntry } from '../../../../sdk/audit.js';
import type { Summary } from '../../../../sdk/summary.js';
import { scopeLabel } from '../../lib/fhir.js';
import type { Session } from '../../lib/session.js';
import { useLoad } from '../../lib/use.js';
import '../chart/chart.css';
import { TableScroll } from '../chart/TableScroll.js';

interface Row {
  provider: string;
  entry: AuditEntry;
  /** Unix seconds of the anchor, or why it is not verified. */
  verified: number | string;
}

const who = (e: AuditEvent) => requesterOf(e) || 'unknown';

/** "GET /fhir/R4/Observation?category=laboratory&_count=1000" → "Lab results" (scope-labels.ts), and so on. */
export function requestInWords(request: string): string {
  const path = request.replace(/^[A-Z]+\s+/, '');
  if (path === '/audit' || path.startsWith('/audit?')) return 'The list of who read your data';
  const fhir = /^\/fhir\/R4\/([^?]*)(?:\?(.*))?$/.exec(path);
  if (!fhir) return 'Another request to the provider';
  const [type = '', id, operation] = fhir[1]!.split('/');
  const category = new URLSearchParams(fhir[2] ?? '').get('category');
  if (type === 'Patient' && (operation === '$everything' || id === '$everything')) return 'All your records';
  if (type === 'Patient') return 'Your details (name, date of birth)';
  if (type === 'metadata' || type === '') return 'What the provider’s server offers (no patient data)';
  const label = scopeLabel(category ? `${type}?category=${category.split(',')[0]!.split('|').pop()}` : type);
  const words = label.includes('?') || label === type ? `${type} records` : label;
  return id && !id.startsWith('$') ? `One record of ${words.toLowerCase()}` : words;
}

/** "Allowed", or "Refused" with the gatekeeper's reason when that reason has no addresses or hashes in it. */
function outcomeInWords(e: AuditEvent): string {
  if (e.outcome === '0') return 'Allowed';
  const reason = /^denied \(\d+\):\s*(.*)$/.exec(e.outcomeDesc ?? '')?.[1];
  return reason && !/0x[0-9a-f]{6,}/i.test(reason) ? `Refused: ${reason}` : 'Refused';
}

/** A break-glass read (purposeOfEvent BTG, src/gatekeeper/audit.ts) says so, with the reason the provider stated. */
function EmergencyMark({ event }: { event: AuditEvent }) {
  const reason = event.purposeOfEvent?.find((p) => p.coding?.some((c) => c.code === 'BTG'))?.text;
  if (reason === undefined) return null;
  return <> <span className="badge error" data-testid="emergency-mark">emergency access</span> <span className="muted">“{reason}”</span></>;
}

/** A known person's or provider's name; someone this app does not know is said to be so (their address is in the row's details). */
function nameOrUnknown(s: Session, address: string): string {
  const name = s.nameOf(address);
  return name.startsWith('0x') ? 'Someone this app does not know' : name;
}

/** The entry as the gatekeeper wrote it: the request, the requester's address, the outcome text. */
function RawDetails({ entry, verified }: { entry: AuditEntry; verified: number | string }) {
  return (
    <details className="audit-raw">
      <summary>Details</summary>
      <p>Request: <code>{requestOf(entry.event)}</code></p>
      <p>By: <code className="hash">{who(entry.event)}</code></p>
      <p>Answer: {entry.event.outcomeDesc}</p>
      <p>Entry number {entry.seq}{typeof verified === 'string' && verified !== 'awaiting anchor' ? `; ledger check: ${verified}` : ''}</p>
    </details>
  );
}

async function trail(s: Session, summary: Summary): Promise<Row[]> {
  const rows = await Promise.all(
    summary.relationships.map(async (r) => {
      const { body } = await s.gatekeeper(r.provider).get<{ entries: AuditEntry[] }>('/audit');
      // The patient's own reads are not shown, so they are not verified either (one chain read each).
      const me = s.account.address.toLowerCase();
      return Promise.all(
        body.entries.filter((entry) => who(entry.event) !== me).map(async (entry): Promise<Row> => ({
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
    <div data-testid="who-read">
      <p>
        Every time someone asked one of your providers for your records, and whether it was allowed or refused. Each entry is also recorded on the
        ledger, so once checked it cannot have been changed or hidden since. <button className="secondary" onClick={reload} disabled={loading}>Refresh</button>
      </p>
      <TableScroll label="Requests for your data">
        <table data-testid="audit">
          <thead><tr><th>When</th><th>Who</th><th>At</th><th>Asked for</th><th>Outcome</th><th>On the ledger</th></tr></thead>
          <tbody>
            {others.map(({ provider, entry, verified }) => (
              <tr key={`${provider}/${entry.seq}`} className={entry.event.outcome === '0' ? 'permit' : 'deny'} data-testid="audit-row">
                <td>{new Date(entry.event.recorded!).toLocaleString()}</td>
                <td>{nameOrUnknown(s, who(entry.event))}</td>
                <td>{provider}</td>
                <td>{requestInWords(requestOf(entry.event))}<EmergencyMark event={entry.event} /></td>
                <td>{outcomeInWords(entry.event)}</td>
                <td>
                  {typeof verified === 'number' ? <span className="badge ok">checked ✓ {new Date(verified * 1000).toLocaleTimeString()}</span> : verified === 'awaiting anchor' ? <span className="muted">not recorded yet (within minutes)</span> : <span className="error">⚠ does not match the ledger</span>}
                  <RawDetails entry={entry} verified={verified} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {others.length === 0 && <p className="muted">No one but you has asked for your data.</p>}
    </div>
  );
}
