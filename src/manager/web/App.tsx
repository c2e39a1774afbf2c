/** The EHR Manager: sign in as a patient, provider, third party or public-health officer (and guardian of others); the notification centre; switch user. */
import { useState } from 'react';
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
import { ImportantBanner, NotificationBell, NotificationPanel, useNotificationCentre, type NotificationCentre } from './views/notifications/NotificationCentre.js';

export function App({ config }: { config: ManagerConfig }) {
  const [session, setSession] = useState<Session>();
  const centre = useNotificationCentre(session);
  // The views reload on what arrives while they are open (ThirdParty clears revoked data on it).
  const notes = centre.feed.live;
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
    <Shell bar={<AccountBar session={session} centre={centre} onSignOut={signOut} />}>
      <NotificationPanel centre={centre} />
      <ImportantBanner centre={centre} />
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

/** Who is signed in, in words (the address only on request), the notification button, and switching user. */
function AccountBar({ session, centre, onSignOut }: { session: Session; centre: NotificationCentre; onSignOut: () => void }) {
  return (
    <div className="who account-bar">
      <span>
        Signed in as <strong data-testid="signed-in-as">{session.name}</strong>{session.name.includes(session.role) ? '' : ` (${session.role})`}
      </span>
      <details>
        <summary>Show my account address</summary>
        <code data-testid="account-address">{session.account.address}</code>
      </details>
      <NotificationBell centre={centre} />
      <button className="secondary" onClick={onSignOut}>Switch user</button>
    </div>
  );
}

function Shell({ children, bar }: { children: React.ReactNode; bar?: React.ReactNode }) {
  return (
    <>
      <header>
        <h1>MedLedger <span>EHR Manager</span></h1>
        <p>Your records stay with your providers; the chain holds only who may see what.</p>
        {bar}
      </header>
      <main id="main" tabIndex={-1}>{children}</main>
    </>
  );
}
