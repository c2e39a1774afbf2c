/**
 * Notification preferences, kept in this browser for this account (store.ts): which groups to show
 * (routine audit anchoring is off until turned on), and desktop notices for important ones (off
 * until turned on, and then only if the browser allows them).
 */
import { GROUPS } from './kinds.js';
import type { NotificationPrefs } from './store.js';

export function Preferences({ prefs, onChange }: { prefs: NotificationPrefs; onChange: (p: NotificationPrefs) => void }) {
  const desktop = async (on: boolean) => {
    if (on && typeof window.Notification !== 'undefined' && window.Notification.permission === 'default') await window.Notification.requestPermission();
    onChange({ ...prefs, desktop: on });
  };
  const blocked = typeof window.Notification === 'undefined' || window.Notification.permission === 'denied';
  return (
    <details className="note-prefs" data-testid="notification-prefs">
      <summary>Preferences</summary>
      <fieldset>
        <legend>Show these notifications</legend>
        {GROUPS.map((g) => (
          <label key={g.id}>
            <input
              type="checkbox"
              checked={prefs.groups[g.id]}
              onChange={(e) => onChange({ ...prefs, groups: { ...prefs.groups, [g.id]: e.target.checked } })}
              data-testid={`notification-pref-${g.id}`}
            />{' '}
            {g.label}
          </label>
        ))}
      </fieldset>
      <label>
        <input type="checkbox" checked={prefs.desktop} disabled={blocked && !prefs.desktop} onChange={(e) => void desktop(e.target.checked)} data-testid="notification-pref-desktop" />{' '}
        Desktop notice for important ones{blocked ? ' (this browser does not allow them)' : ''}
      </label>
      <p className="muted">Kept in this browser only, for this account.</p>
    </details>
  );
}
