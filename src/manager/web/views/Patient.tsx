/** The patient's manager: inbox, records, heart health (computed in the browser), sharing, who read my data, emergency & recovery, backup. */
import { useState } from 'react';
import { readSummary } from '../../../sdk/summary.js';
import type { Notification } from '../lib/notifications.js';
import type { Session } from '../lib/session.js';
import { useLoad } from '../lib/use.js';
import { AuditTrail } from './patient/AuditTrail.js';
import { Backup } from './patient/Backup.js';
import { Emergency } from './patient/Emergency.js';
import { HeartHealth } from './patient/HeartHealth.js';
import { Inbox } from './patient/Inbox.js';
import { Sharing } from './patient/Sharing.js';
import { StudyInvitations } from './patient/Studies.js';
import { Timeline } from './patient/Timeline.js';

const TABS = ['Inbox', 'Records', 'My heart health', 'Sharing', 'Who read my data', 'Emergency & recovery', 'Backup'] as const;

export function PatientView({ s, notes, onForget }: { s: Session; notes: Notification[]; onForget: () => void }) {
  const [tab, setTab] = useState<(typeof TABS)[number]>('Inbox');
  const [version, setVersion] = useState(0);
  const summary = useLoad(() => readSummary(s.ledger, s.account.address), [s.account.address, notes.length, version]);
  const changed = () => setVersion((v) => v + 1);
  const attention = summary.data?.relationships.filter((r) => r.status === 'new' || r.status === 'updated' || r.status === 'awaiting-approval').length ?? 0;
  return (
    <div>
      {/* Buttons in a named nav, the open one aria-current: native buttons keep Tab and Enter working (WAI-ARIA APG, "Disclosure navigation"). */}
      <nav className="tabs" aria-label="Your records">
        {TABS.map((t) => (
          <button key={t} className={t === tab ? 'active' : ''} aria-current={t === tab ? 'page' : undefined} onClick={() => setTab(t)}>
            {t}{t === 'Inbox' && attention > 0 ? ` (${attention})` : ''}
          </button>
        ))}
      </nav>
      {summary.error && <p className="error">{summary.error}</p>}
      {!summary.data ? <p className="muted">Reading your Summary from the chain…</p> : (
        <>
          {tab === 'Inbox' && <Inbox s={s} summary={summary.data} onChange={changed} />}
          {tab === 'Inbox' && s.config.studyRegistry && <StudyInvitations s={s} />}
          {tab === 'Records' && <Timeline s={s} summary={summary.data} version={version} />}
          {tab === 'My heart health' && <HeartHealth s={s} summary={summary.data} version={version} />}
          {tab === 'Sharing' && <Sharing s={s} summary={summary.data} onChange={changed} />}
          {tab === 'Who read my data' && <AuditTrail s={s} summary={summary.data} version={version} />}
          {tab === 'Emergency & recovery' && <Emergency s={s} summary={summary.data} />}
          {tab === 'Backup' && <Backup s={s} onForget={onForget} />}
        </>
      )}
    </div>
  );
}
