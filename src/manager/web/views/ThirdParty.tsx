/** A third party (researcher, another doctor): the grants received, their expiry, the granted data, and the heart-disease risk computed from exactly that data. */
import { useRef, useState } from 'react';
import type { Resource } from '@medplum/fhirtypes';
import { grantsReceived, type ReceivedGrant } from '../../../sdk/grants.js';
import { resourcesOf, scopeLabel } from '../lib/fhir.js';
import type { Session } from '../lib/session.js';
import { describe, expiryText, unixNow, useAction, useLoad } from '../lib/use.js';
import { BreastCytologyPanel } from './ml/BreastCytologyPanel.js';
import { HeartRiskPanel } from './ml/HeartRiskPanel.js';
import { Records } from './Records.js';

const keyOf = (g: ReceivedGrant) => `${g.relationshipId}/${g.scope}`;

export function ThirdPartyView({ s, version }: { s: Session; version: number }) {
  // Grants seen earlier in this session stay listed after a revoke, marked as such, so the viewer
  // understands why a read that worked a minute ago is now refused.
  const seen = useRef(new Map<string, ReceivedGrant>());
  const grants = useLoad(async () => {
    const live = await grantsReceived(s.ledger, { viewer: s.account.address });
    const liveKeys = new Set(live.map(keyOf));
    const revoked = [...seen.current.values()].filter((g) => !liveKeys.has(keyOf(g))).map((g) => ({ ...g, revoked: true }));
    for (const g of live) seen.current.set(keyOf(g), g);
    return [...live.map((g) => ({ ...g, revoked: false })), ...revoked];
  }, [version]);
  const [open, setOpen] = useState<string>();
  const [data, setData] = useState<{ key: string; resources: Resource[]; hash?: string; refused?: string }>();
  const action = useAction();
  const read = (g: ReceivedGrant) =>
    action.run(async () => {
      setOpen(keyOf(g));
      setData(undefined);
      try {
        const r = await s.gatekeeper(g.provider).get(`/fhir/R4/${g.scope}${g.scope.includes('?') ? '&' : '?'}_count=200`);
        setData({ key: keyOf(g), resources: resourcesOf(r.body).filter((x) => x.resourceType !== 'OperationOutcome'), hash: r.dataHash });
      } catch (err) {
        // The risk panel must say the read was refused, not keep showing what an earlier read returned.
        setData({ key: keyOf(g), resources: [], refused: describe(err) });
        throw err;
      }
    });
  if (grants.error) return <p className="error">{grants.error}</p>;
  if (!grants.data) return <p className="muted">Reading your grants from the chain…</p>;
  // A share the patient revoked (the notification reloads the grants) or that expired: what it showed leaves the screen at once.
  const current = grants.data.find((g) => keyOf(g) === open);
  const withdrawn = !!current && (current.revoked || (!!current.expiresAt && current.expiresAt <= unixNow()));
  const shown = data && data.key === open && !withdrawn ? data : undefined;
  return (
    <div>
      <h3>Data shared with you</h3>
      {grants.data.length === 0 ? <p className="muted" data-testid="no-grants">No one has shared data with you.</p> : (
        <table data-testid="received-grants">
          <thead><tr><th>Patient</th><th>What</th><th>Held by</th><th>Expiry</th><th></th></tr></thead>
          <tbody>
            {grants.data.map((g) => (
              <tr key={keyOf(g)} className={g.revoked || (g.expiresAt && g.expiresAt <= unixNow()) ? 'expired' : ''} data-testid="received-grant">
                <td>{s.nameOf(g.patient)}</td><td>{scopeLabel(g.scope)}</td><td>{s.nameOf(g.provider)}</td><td>{g.revoked ? 'revoked by the patient' : expiryText(g.expiresAt)}</td>
                <td><button onClick={() => read(g)} disabled={action.busy}>Read</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p><button className="secondary" onClick={grants.reload}>Refresh</button></p>
      {action.error && <p className="error" role="alert" data-testid="read-error">{action.error}</p>}
      {withdrawn && !data?.refused && <p className="muted" data-testid="share-withdrawn">{s.nameOf(current.patient)} no longer shares this with you, so it is not shown any more.</p>}
      {shown && !shown.refused && (
        <div data-testid="granted-data">
          <p className="muted">{shown.resources.length} resources · data hash {shown.hash}</p>
          <Records items={shown.resources.map((resource) => ({ resource, source: s.nameOf(current!.provider) }))} />
        </div>
      )}
      {open && data?.key === open && (
        <HeartRiskPanel audience="clinician" from="exactly the records this grant's read returned" resources={shown?.resources ?? []} refused={data.refused ?? (withdrawn ? 'the patient no longer shares this' : undefined)} />
      )}
      {shown && !shown.refused && <BreastCytologyPanel from="exactly the records this grant's read returned" resources={shown.resources} />}
    </div>
  );
}
