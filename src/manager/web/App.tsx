/** The EHR Manager: sign in as a patient, provider, third party or public-health officer (and guardian of others); live notifications; switch user. */
import { useState } from 'react';
import { notificationLines, useNotifications } from './lib/notifications.js';
import type { ManagerConfig, Session } from './lib/session.js';
import { GuardianView } from './views/Guardian.js';
import { ModelsList } from './views/ml/ModelsList.js';
import { PatientView } from './views/Patient.js';
import { ProviderView } from './views/Provider.js';
import { PublicHealthView } from './views/PublicHealth.js';
import { ResearchView } from './views/research/ResearchView.js';
import { SignIn } from './views/SignIn.js';
import { AuthorizeApp } from './views/smart/Authorize.js';
import { ThirdPartyView } from './views/ThirdParty.js';

export function App({ config }: { config: ManagerConfig }) {
  const [session, setSession] = useState<Session>();
  const notes = useNotifications(session?.account.address);
  const signOut = () => setSession(undefined);
  const forget = () => {
    localStorage.clear();
    sessionStorage.clear();
    signOut();
  };
  // SMART App Launch: an app sent the patient here to approve it (views/smart/Authorize.tsx).
  if (location.pathname === '/smart/authorize') return <Shell><AuthorizeApp config={config} /></Shell>;
  if (!session) {
    return (
      <Shell>
        <SignIn config={config} onSession={setSession} />
      </Shell>
    );
  }
  return (
    <Shell>
      <div className="who">
        Signed in as <strong data-testid="signed-in-as">{session.name}</strong>{session.name.includes(session.role) ? '' : ` (${session.role})`} <code>{session.account.address}</code>{' '}
        <button className="secondary" onClick={signOut}>Switch user</button>
      </div>
      {notes.length > 0 && (
        <ul className="notifications" data-testid="notifications" aria-live="polite">
          {notificationLines(notes, session.nameOf).slice(0, 5).map(({ note, text, count }, i) => (
            <li key={`${note.blockNumber}/${i}`} data-kind={note.kind}>{text}{count > 1 ? ` (${count} times)` : ''} <span className="muted">block {note.blockNumber}</span></li>
          ))}
        </ul>
      )}
      {session.role === 'patient' && <PatientView s={session} notes={notes} onForget={forget} />}
      {session.role === 'provider' && <ProviderView s={session} version={notes.length} />}
      {session.role === 'public-health' && <PublicHealthView />}
      {session.role !== 'patient' && session.role !== 'provider' && session.role !== 'public-health' && <ThirdPartyView s={session} version={notes.length} />}
      {/* A third party (a researcher) may sponsor consented studies. */}
      {session.role === 'third-party' && session.config.studyRegistry && <ResearchView s={session} />}
      {/* Anyone can be a patient's guardian, whatever their role. */}
      <GuardianView s={session} version={notes.length} />
      {/* Every served model's card, for anyone signed in (the cards carry no patient data). */}
      <ModelsList />
    </Shell>
  );
}

function Shell({ children }: { children: React.ReactNode }) {
  return (
    <>
      <header>
        <h1>MedLedger <span>EHR Manager</span></h1>
        <p>Your records stay with your providers; the chain holds only who may see what.</p>
      </header>
      <main>{children}</main>
    </>
  );
}
