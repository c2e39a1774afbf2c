/**
 * What the ledger check found, in words. Matching data: a quiet "Checked against the ledger ✓", with
 * hashes and blocks only in a details toggle. A mismatch: which records (the pointer in words, how
 * many, their names and dates), whether the provider changed any of them after recording them on the
 * ledger, and what to do: check again, or ask the provider (a prefilled message to copy and send
 * the usual way; this app has no channel to the provider's staff). Records the provider has just
 * written and whose new hash is on its way to the chain: "Publishing", checked again by itself
 * (recheck.ts) until the ledger confirms them, never the mismatch warning (freshness.ts). The state in
 * words sits in a polite live region, so a screen reader hears "Publishing" turn into the tick.
 */
import { useState } from 'react';
import { day } from '../../lib/fhir.js';
import { sinceWords } from './freshness.js';
import type { PointerCheck } from './integrity.js';
import type { ProviderRecords } from './read.js';
import { useLatestCheck } from './recheck.js';
import { recordTitle } from './titles.js';

const when = (iso: string) => `${iso.slice(0, 10)} at ${iso.slice(11, 16)} UTC`;

/** The message the patient can send: what differs, and what they ask for. */
function messageFor(provider: string, bad: PointerCheck[]): string {
  const lines = bad.map((c) => `- ${c.label}: ${c.resources.length} records${c.published ? `, recorded on the ledger ${when(c.published.at)}` : ''}${c.changedAfter.length ? `; changed since: ${c.changedAfter.map(recordTitle).join('; ')}` : ''}`);
  return [
    `Dear ${provider},`,
    '',
    'My health records app checked my records with you against the MedLedger ledger, and these do not match what you recorded there:',
    ...lines,
    '',
    'Could you tell me what changed, and record the corrected version on the ledger so that it can be checked again?',
    '',
    'Thank you.',
  ].join('\n');
}

function AskProvider({ provider, bad }: { provider: string; bad: PointerCheck[] }) {
  const [copied, setCopied] = useState<string>();
  const text = messageFor(provider, bad);
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setCopied('Copied. Paste it into a message to them.'),
      () => setCopied('Could not copy here: select the text and copy it yourself.'),
    );
  return (
    <details className="ask-provider" data-testid="ask-provider">
      <summary>Ask {provider}</summary>
      <p>Send this message to {provider} the way you usually contact them (patient portal, e-mail or letter). This app does not send it for you.</p>
      <label>
        Message to {provider}
        <textarea readOnly value={text} rows={8} data-testid="ask-provider-text" />
      </label>
      <p><button type="button" className="secondary" onClick={copy}>Copy message</button> {copied && <span role="status">{copied}</span>}</p>
    </details>
  );
}

function Mismatch({ provider, check }: { provider: string; check: PointerCheck }) {
  const changed = check.changedAfter;
  return (
    <div className="mismatch-item">
      <p>
        <strong>{check.label} from {provider}</strong> do not match what {provider} recorded on the ledger
        {check.published ? ` on ${when(check.published.at)}` : ''}.
      </p>
      {changed.length > 0 ? (
        <p data-testid="changed-after">
          {provider} changed {changed.length === 1 ? 'one of these records' : `${changed.length} of these records`} after recording them:{' '}
          {changed.map((r) => `${recordTitle(r)} (changed ${when(r.meta!.lastUpdated!)})`).join('; ')}.
        </p>
      ) : (
        <p>None of these records was changed after {provider} recorded them, so a record may have been added or removed since.</p>
      )}
      <details>
        <summary>The {check.resources.length} records this covers</summary>
        <ul>{check.resources.map((r) => <li key={`${r.resourceType}/${r.id}`}>{recordTitle(r)}</li>)}</ul>
      </details>
    </div>
  );
}

const STATUS_WORDS: Record<PointerCheck['status'], string> = { current: 'match', publishing: 'publishing', mismatch: 'do not match' };

function Details({ d }: { d: ProviderRecords }) {
  return (
    <details className="ledger-details">
      <summary>Details</summary>
      <p className="muted">Each kind of record was read again and its keccak256 hash compared, in this browser, with the hash {d.provider} put on the ledger{d.checkedAt ? ` (checked at block ${d.checkedAt})` : ''}.</p>
      <ul>
        {d.checks?.map((c) => (
          <li key={c.query}>
            {c.label}: {c.resources.length} records, {STATUS_WORDS[c.status]}; on the ledger <code className="hash">{c.onChain}</code>
            {c.published ? `, recorded in block ${c.published.block} (${day(c.published.at)})` : ''}; read now <code className="hash">{c.computed}</code>
            {c.pending?.hash ? <>; sent to the ledger, not yet confirmed <code className="hash">{c.pending.hash}</code></> : c.pending ? '; about to be sent to the ledger' : null}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** Records the provider has sent to the ledger that are not confirmed yet: what it is, since when, and that the page looks again. */
function Publishing({ provider, checks, slow, gaveUp }: { provider: string; checks: PointerCheck[]; slow: boolean; gaveUp: boolean }) {
  const since = checks.map((c) => c.pending?.since).filter((t) => t !== undefined).sort()[0];
  return (
    <div className="ledger-publishing" data-testid="ledger-publishing">
      <p>
        <strong>Publishing</strong> — {provider} has just added or changed records ({checks.map((c) => c.label).join(', ')}); the ledger will confirm them within a few seconds.
      </p>
      <p>
        {since ? `${provider} started sending them to the ledger ${sinceWords(since, Date.now())}. ` : ''}
        {gaveUp ? 'This is taking longer than usual: check again in a minute.' : slow ? 'This is taking longer than usual; this page keeps checking.' : 'This page checks again by itself.'}
      </p>
    </div>
  );
}

/** The state in words, one line: what a screen reader announces when it changes. */
function StateLine({ bad, publishing }: { bad: number; publishing: number }) {
  if (bad > 0) return <span className="badge error">⚠ Does not match the ledger</span>;
  if (publishing > 0) return <span className="badge publishing" data-testid="ledger-publishing-badge">Publishing to the ledger…</span>;
  return <span className="badge ok" data-testid="ledger-ok">Checked against the ledger ✓</span>;
}

/** The check of one provider's records, with the "Check again" action. */
export function LedgerCheck({ d, onRecheck, busy }: { d: ProviderRecords; onRecheck: () => void; busy: boolean }) {
  const latest = useLatestCheck(d);
  if (!latest.checks) return null;
  const shown: ProviderRecords = { ...d, checks: latest.checks, checkedAt: latest.checkedAt };
  const bad = latest.checks.filter((c) => c.status === 'mismatch');
  const publishing = latest.checks.filter((c) => c.status === 'publishing');
  const again = <button type="button" onClick={onRecheck} disabled={busy}>{busy ? 'Checking…' : 'Check again'}</button>;
  return (
    <div className="ledger-check">
      <span className="ledger-state" aria-live="polite" data-testid="ledger-state"><StateLine bad={bad.length} publishing={publishing.length} /></span>{' '}
      {publishing.length > 0 && <Publishing provider={d.provider} checks={publishing} slow={latest.slow} gaveUp={latest.gaveUp} />}
      {publishing.length > 0 && bad.length === 0 && <p className="mismatch-actions">{again}</p>}
      {bad.length > 0 && (
        <div className="ledger-mismatch" data-testid="ledger-mismatch">
          <p className="mismatch-title"><strong>⚠ Some of your records at {d.provider} have changed since they were recorded on the ledger.</strong></p>
          {bad.map((c) => <Mismatch key={c.query} provider={d.provider} check={c} />)}
          <p className="mismatch-actions">{again}</p>
          <AskProvider provider={d.provider} bad={bad} />
        </div>
      )}
      <Details d={shown} />
    </div>
  );
}
