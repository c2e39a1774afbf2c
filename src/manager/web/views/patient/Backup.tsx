/**
 * Backup and restore. Nothing here is needed to get back in: the chain holds every relationship,
 * pointer and grant (the Summary), so a patient who deletes everything local signs in with their
 * keystore or key on any device and the manager rebuilds the lot from the chain alone.
 */
import { useState } from 'react';
import { readSummary, type Summary } from '../../../../sdk/summary.js';
import type { Session } from '../../lib/session.js';
import { useAction } from '../../lib/use.js';

const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);

export function Backup({ s, onForget }: { s: Session; onForget: () => void }) {
  const [restored, setRestored] = useState<Summary>();
  const action = useAction();
  const download = () =>
    action.run(async () => {
      const summary = await readSummary(s.ledger, s.account.address);
      // The encrypted keystore this page was unlocked from: the manager hands out no keys.
      const blob = new Blob([json({ kind: 'medledger-backup', chainId: s.config.chainId, contract: s.config.contract, summary, keystore: s.keystore })], { type: 'application/json' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `medledger-backup-${s.account.address.slice(2, 10)}.json`;
      a.click();
      return 'Backup downloaded (your keystore stays encrypted inside it).';
    });
  const restore = () =>
    action.run(async () => {
      const summary = await readSummary(s.ledger, s.account.address);
      setRestored(summary);
      return 'Rebuilt from the chain.';
    });
  const count = (x: Summary) => ({
    relationships: x.relationships.length,
    pointers: x.relationships.reduce((n, r) => n + r.pointers.length, 0),
    grants: x.relationships.reduce((n, r) => n + r.grants.length, 0),
  });
  return (
    <div>
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
      <p><button onClick={download} disabled={action.busy}>Download a backup</button> your Summary and encrypted keystore as one file.</p>
      <p><button onClick={restore} disabled={action.busy} data-testid="restore">Restore from chain</button> rebuild every relationship, pointer and grant from the chain alone.</p>
      {restored && (
        <div data-testid="restored">
          <p>The chain holds {count(restored).relationships} relationships with providers, {count(restored).pointers} pointers to your records and {count(restored).grants} shares with others.</p>
          <details><summary>As of which block</summary>block {restored.blockNumber}</details>
        </div>
      )}
      <p><button className="secondary" onClick={onForget}>Forget this device</button> delete everything this browser keeps (imported keys) and sign out.</p>
    </div>
  );
}
