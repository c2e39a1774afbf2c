/** Sharing: pick a viewer, a slice of one provider's records (in plain words), an expiry; see and revoke grants. */
import { useState } from 'react';
import { isAddress, type Address } from 'viem';
import { grantViewer, revokeViewer } from '../../../../sdk/grants.js';
import type { Summary } from '../../../../sdk/summary.js';
import { scopeLabel } from '../../lib/fhir.js';
import type { Session } from '../../lib/session.js';
import { smartAppNames } from '../../lib/smart-apps.js';
import { expiryText, unixNow, useAction, useLoad } from '../../lib/use.js';

const EXPIRIES = [
  { label: '1 day', seconds: 86_400 },
  { label: '1 week', seconds: 7 * 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
  { label: '1 year', seconds: 365 * 86_400 },
  { label: 'no expiry', seconds: 0 },
];

export function Sharing({ s, summary, onChange }: { s: Session; summary: Summary; onChange: () => void }) {
  const rels = summary.relationships.filter((r) => r.status !== 'rejected' && r.pointers.length > 0);
  const people = s.config.users.filter((u) => u.address.toLowerCase() !== s.account.address.toLowerCase() && u.role !== 'patient');
  const [relId, setRelId] = useState(rels[0]?.id ?? '');
  const rel = rels.find((r) => r.id === relId) ?? rels[0];
  const [scope, setScope] = useState('');
  const [viewer, setViewer] = useState(people.find((p) => p.role === 'third-party')?.address ?? '');
  const [custom, setCustom] = useState('');
  const [expiry, setExpiry] = useState(86_400);
  const action = useAction();
  // SMART apps hold grants like any viewer; their registrations give them a name.
  const apps = useLoad(() => smartAppNames(s), []);
  const nameOf = (a: string) => apps.data?.get(a.toLowerCase()) ?? s.nameOf(a);
  const chosenScope = scope && rel?.pointers.some((p) => p.query === scope) ? scope : rel?.pointers[0]?.query ?? '';
  const viewerAddress = (viewer === 'other' ? custom : viewer) as Address;

  const share = () =>
    action.run(async () => {
      if (!rel) throw new Error('nothing to share yet');
      if (!isAddress(viewerAddress)) throw new Error('choose a viewer or paste a valid address');
      await grantViewer(s.ledger, { relationshipId: BigInt(rel.id), viewer: viewerAddress, scope: chosenScope, expiresAt: expiry ? unixNow() + expiry : 0, pointers: rel.pointers.map((p) => p.query) });
      onChange();
      return `Shared ${scopeLabel(chosenScope)} from ${s.nameOf(rel.provider)} with ${s.nameOf(viewerAddress)}.`;
    });
  const revoke = (relationshipId: string, v: Address, sc: string) =>
    action.run(async () => {
      await revokeViewer(s.ledger, { relationshipId: BigInt(relationshipId), viewer: v, scope: sc });
      onChange();
      return `Revoked ${nameOf(v)}'s access to ${scopeLabel(sc)}.`;
    });

  const grants = summary.relationships.flatMap((r) => r.grants.map((g) => ({ ...g, relationshipId: r.id, provider: r.provider })));
  return (
    <div className="sharing">
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
      <fieldset>
        <legend>Share with someone</legend>
        <label>Records from <select value={rel?.id ?? ''} onChange={(e) => setRelId(e.target.value)} data-testid="share-provider">
          {rels.map((r) => <option key={r.id} value={r.id}>{s.nameOf(r.provider)}</option>)}
        </select></label>
        <label>What <select value={chosenScope} onChange={(e) => setScope(e.target.value)} data-testid="share-scope">
          {rel?.pointers.map((p) => <option key={p.query} value={p.query}>{scopeLabel(p.query)}</option>)}
        </select></label>
        <label>With <select value={viewer} onChange={(e) => setViewer(e.target.value)} data-testid="share-viewer">
          {people.map((p) => <option key={p.address} value={p.address}>{p.label ?? p.name}</option>)}
          <option value="other">someone else (address)…</option>
        </select></label>
        {viewer === 'other' && <input placeholder="0x…" value={custom} onChange={(e) => setCustom(e.target.value.trim())} />}
        <label>For <select value={expiry} onChange={(e) => setExpiry(Number(e.target.value))} data-testid="share-expiry">
          {EXPIRIES.map((x) => <option key={x.label} value={x.seconds}>{x.label}</option>)}
        </select></label>
        <button onClick={share} disabled={action.busy || !rel}>Share</button>
      </fieldset>
      <h3>Who can see what</h3>
      {grants.length === 0 ? <p className="muted">You have not shared anything.</p> : (
        <table data-testid="grants">
          <thead><tr><th>Viewer</th><th>What</th><th>From</th><th>Expiry</th><th></th></tr></thead>
          <tbody>
            {grants.map((g) => (
              <tr key={`${g.relationshipId}/${g.viewer}/${g.scopeHash}`}>
                <td>{nameOf(g.viewer)}</td><td>{scopeLabel(g.scope)}</td><td>{s.nameOf(g.provider)}</td><td>{expiryText(g.expiresAt)}</td>
                <td><button className="secondary" disabled={action.busy} onClick={() => revoke(g.relationshipId, g.viewer, g.scope)}>Revoke</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
