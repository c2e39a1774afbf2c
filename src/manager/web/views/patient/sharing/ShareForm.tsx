/**
 * "Share with someone": one provider's records, one slice of them, one viewer, an expiry. Viewers are
 * only those for whom sharing makes sense: third parties and other providers (never the provider whose
 * records these are — it has them — and never a patient), SMART apps by their registered name; any
 * address only under "Advanced".
 */
import { useState } from 'react';
import { isAddress, type Address } from 'viem';
import { grantViewer } from '../../../../../sdk/grants.js';
import type { Summary } from '../../../../../sdk/summary.js';
import type { Session } from '../../../lib/session.js';
import type { SmartApp } from '../../../lib/smart-apps.js';
import { unixNow } from '../../../lib/use.js';
import { expiresAtOf, ExpiryChoice, FIRST_EXPIRY, type Expiry } from './ExpiryChoice.js';
import { recordsText, scopeWords, untilText, type NameOf } from './words.js';

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

interface Props {
  s: Session;
  summary: Summary;
  apps: SmartApp[];
  nameOf: NameOf;
  busy: boolean;
  run: (what: () => Promise<string>) => Promise<void>;
  onChange: () => void;
}

export function ShareForm({ s, summary, apps, nameOf, busy, run, onChange }: Props) {
  // A rejected relationship cannot be shared from (the contract refuses): accept it first in the inbox.
  const rels = summary.relationships.filter((r) => r.status !== 'rejected' && r.pointers.length > 0);
  const [relId, setRelId] = useState(rels[0]?.id ?? '');
  const rel = rels.find((r) => r.id === relId) ?? rels[0];
  const [scope, setScope] = useState('');
  const viewers = [
    ...s.config.users
      .filter((u) => u.role !== 'patient' && !same(u.address, s.account.address) && !(rel && same(u.address, rel.provider)))
      .map((u) => ({ address: u.address, label: u.label ?? u.name, role: u.role })),
    ...apps.map((a) => ({ address: a.address, label: `${a.name} (app)`, role: 'app' })),
  ];
  const [viewer, setViewer] = useState('');
  const [advanced, setAdvanced] = useState(false);
  const [address, setAddress] = useState('');
  const [expiry, setExpiry] = useState<Expiry>(FIRST_EXPIRY);
  const chosenScope = scope && rel?.pointers.some((p) => p.query === scope) ? scope : rel?.pointers[0]?.query ?? '';
  const listed = viewers.find((v) => v.address === viewer) ?? viewers.find((v) => v.role === 'third-party') ?? viewers[0];
  const byAddress = advanced && address !== '';

  const share = () =>
    run(async () => {
      if (!rel) throw new Error('nothing to share yet: a provider has to add records for you first');
      const to = (byAddress ? address : listed?.address ?? '') as Address;
      if (!isAddress(to)) throw new Error(byAddress ? `"${address}" is not an address: check it with the person, or choose someone from the list` : 'choose who to share with');
      if (same(to, rel.provider) || same(to, s.account.address)) throw new Error(`${nameOf(to)} already has these records: choose someone else`);
      const expiresAt = expiresAtOf(expiry, unixNow());
      await grantViewer(s.ledger, { relationshipId: BigInt(rel.id), viewer: to, scope: chosenScope, expiresAt, pointers: rel.pointers.map((p) => p.query) });
      onChange();
      return `Shared ${recordsText(s, chosenScope, rel.provider)} with ${nameOf(to)} ${untilText(expiresAt, unixNow())}.`;
    });

  return (
    <fieldset>
      <legend>Share with someone</legend>
      <label>Records from <select value={rel?.id ?? ''} onChange={(e) => setRelId(e.target.value)} data-testid="share-provider">
        {rels.map((r) => <option key={r.id} value={r.id}>{s.nameOf(r.provider)}</option>)}
      </select></label>
      <label>What <select value={chosenScope} onChange={(e) => setScope(e.target.value)} data-testid="share-scope">
        {rel?.pointers.map((p) => <option key={p.query} value={p.query}>{scopeWords(p.query)}</option>)}
      </select></label>
      <label>With <select value={listed?.address ?? ''} onChange={(e) => setViewer(e.target.value)} disabled={byAddress} data-testid="share-viewer">
        {viewers.map((v) => <option key={v.address} value={v.address}>{v.label}</option>)}
      </select></label>
      <ExpiryChoice value={expiry} onChange={setExpiry} />
      <details open={advanced} onToggle={(e) => setAdvanced(e.currentTarget.open)} data-testid="share-advanced">
        <summary>Advanced: someone else, by address</summary>
        <label>Their address <input value={address} onChange={(e) => setAddress(e.target.value.trim())} placeholder="0x…" size={44} data-testid="share-address" /></label>
        <p className="meaning">Only for someone not in the list. Check the address with them: whoever holds it can read what you share.</p>
      </details>
      <button onClick={share} disabled={busy || !rel}>Share</button>
      {rels.length < summary.relationships.filter((r) => r.pointers.length > 0).length && (
        <p className="meaning">Records you rejected cannot be shared; accept them again in the Inbox first.</p>
      )}
    </fieldset>
  );
}
