/**
 * The notification centre (issue 18): a button in the header with the unread count, a panel with
 * the whole history (filters, read marks, preferences), and a banner that keeps important unread
 * ones at the top of the page until they are read — so "Carol read your data" is never pushed out
 * by routine ones. The panel is a disclosure (a native button with aria-expanded): Enter or Space
 * opens it and moves focus to its heading; Escape closes it and returns focus to the button.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useNotificationFeed, type Notification } from '../../lib/notifications.js';
import type { Session } from '../../lib/session.js';
import { GROUPS, groupOf, type GroupId } from './kinds.js';
import { linesOf, whenText, type Line } from './lines.js';
import { Preferences } from './Preferences.js';
import { usePrefs, useReadMarks } from './store.js';
import './notifications.css';

export function useNotificationCentre(session: Session | undefined) {
  const address = session?.account.address ?? '';
  const [prefs, setPrefs] = usePrefs(address);
  const [read, markRead] = useReadMarks(address);
  const feed = useNotificationFeed(session?.account, prefs.groups.routine);
  const [open, setOpen] = useState(false);
  const bellRef = useRef<HTMLButtonElement>(null);
  const nameOf = session?.nameOf ?? ((a: string) => a);
  const shown = useMemo(() => feed.all.filter((n) => prefs.groups[groupOf(n)]), [feed.all, prefs]);
  const lines = useMemo(() => linesOf(shown, address, nameOf, read), [shown, address, nameOf, read]);
  const routineHidden = prefs.groups.routine ? 0 : feed.all.filter((n) => groupOf(n) === 'routine').length;
  const hidden = { routine: routineHidden, other: feed.all.length - shown.length - routineHidden };
  useDesktopNotices(feed.live, prefs.desktop, address, nameOf);
  const close = () => {
    setOpen(false);
    bellRef.current?.focus();
  };
  return { feed, prefs, setPrefs, markRead, open, setOpen, close, bellRef, lines, hidden, unread: lines.filter((l) => l.unread).length };
}

export type NotificationCentre = ReturnType<typeof useNotificationCentre>;

/** A desktop notice for each new important one, when the person turned that on and the browser allows it. */
function useDesktopNotices(live: Notification[], on: boolean, me: string, nameOf: (a: string) => string) {
  const newest = live[0];
  useEffect(() => {
    if (!on || !newest || typeof window.Notification === 'undefined' || window.Notification.permission !== 'granted') return;
    const [line] = linesOf([newest], me, nameOf, new Set());
    if (line?.important) new window.Notification('MedLedger', { body: line.text });
  }, [newest, on, me, nameOf]);
}

/** A bell drawn inline: an emoji needs a colour-emoji font, which many systems (and headless Chromium) lack. */
function BellIcon() {
  return (
    <svg className="note-bell-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
      <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
    </svg>
  );
}

export function NotificationBell({ centre }: { centre: NotificationCentre }) {
  const { unread, open, setOpen, bellRef } = centre;
  return (
    <button
      ref={bellRef}
      className="note-bell"
      aria-expanded={open}
      aria-controls="notification-panel"
      aria-label={`Notifications, ${unread} unread`}
      data-testid="notification-bell"
      data-unread={unread}
      onClick={() => setOpen(!open)}
    >
      {/* The visible words are in the name (WCAG 2.5.3): "Notifications", "3 unread". */}
      <BellIcon /> Notifications <span className={`note-count${unread ? ' some' : ''}`}>{unread} unread</span>
    </button>
  );
}

/**
 * "Mark as read", described by the line's words. Not named by them: a button named after a sentence
 * would match other buttons' names (e.g. "Records") on the same page.
 */
function MarkRead({ line, onRead, where }: { line: Line; onRead: () => void; where: string }) {
  return <button className="link" onClick={onRead} aria-describedby={domId(where, line)} data-testid="notification-mark-read">Mark as read</button>;
}

const domId = (where: string, line: Line) => `${where}-${line.ids[0]}`.replace(/[^\w-]/g, '-');

function Item({ line, onRead }: { line: Line; onRead: () => void }) {
  return (
    <li data-kind={line.note.kind} data-testid="notification" data-unread={line.unread} className={`${line.important ? 'important' : ''}${line.unread ? ' unread' : ''}`}>
      {line.important && <strong className="note-mark">Important</strong>}
      {line.unread && <span className="note-new">New</span>}
      <span className="note-text" id={domId('note', line)}>{line.text}{line.count > 1 ? ` (${line.count} times)` : ''}</span>{' '}
      <time dateTime={line.note.at} className="note-time">{whenText(line.note.at)}</time>
      <div className="note-actions">
        {line.unread && <MarkRead line={line} onRead={onRead} where="note" />}
        <details>
          <summary>Details</summary>
          {line.details.map((d) => <p key={d} className="note-detail">{d}</p>)}
        </details>
      </div>
    </li>
  );
}

export function NotificationPanel({ centre }: { centre: NotificationCentre }) {
  const { open, close, lines, markRead, feed, hidden, prefs, setPrefs } = centre;
  const [group, setGroup] = useState<GroupId | 'all'>('all');
  const [unreadOnly, setUnreadOnly] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (open) heading.current?.focus();
  }, [open]);
  if (!open) return null;
  const listed = lines.filter((l) => (group === 'all' || l.group === group) && (!unreadOnly || l.unread));
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  };
  return (
    <section id="notification-panel" className="note-panel" aria-labelledby="notification-panel-title" data-testid="notification-panel" onKeyDown={onKeyDown}>
      <div className="note-head">
        <h2 id="notification-panel-title" ref={heading} tabIndex={-1}>Notifications</h2>
        <button className="secondary" onClick={close}>Close</button>
      </div>
      <div className="note-filters">
        <label>
          Show{' '}
          <select value={group} onChange={(e) => setGroup(e.target.value as GroupId | 'all')} data-testid="notification-filter">
            <option value="all">Everything</option>
            {GROUPS.filter((g) => prefs.groups[g.id]).map((g) => <option key={g.id} value={g.id}>{g.label}</option>)}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} data-testid="notification-unread-only" /> Unread only
        </label>
        <button className="secondary" onClick={() => markRead(lines.flatMap((l) => l.ids))} data-testid="notification-mark-all">Mark all as read</button>
      </div>
      {feed.error && <p className="error" role="alert">{feed.error}</p>}
      {listed.length === 0 ? (
        <p className="muted">{lines.length === 0 ? 'No notifications yet.' : 'Nothing matches this filter.'}</p>
      ) : (
        <ul className="note-list" data-testid="notifications">
          {listed.map((l) => <Item key={l.ids[0]} line={l} onRead={() => markRead(l.ids)} />)}
        </ul>
      )}
      {hidden.routine > 0 && (
        <p className="muted" data-testid="notification-routine-hidden">
          Routine: {hidden.routine} hidden (a provider recorded its audit log on the chain). Turn on “Routine” in the preferences below to see them.
        </p>
      )}
      {hidden.other > 0 && <p className="muted">{hidden.other} more hidden by your preferences.</p>}
      <Preferences prefs={prefs} onChange={setPrefs} />
    </section>
  );
}

/** Important unread ones, at the top of the page until read. */
export function ImportantBanner({ centre }: { centre: NotificationCentre }) {
  const important = centre.lines.filter((l) => l.important && l.unread);
  return (
    <div aria-live="polite">
      {important.length > 0 && (
        <section className="note-banner" aria-label="Important notifications" data-testid="notification-banner">
          <ul>
            {important.slice(0, 3).map((l) => (
              <li key={l.ids[0]} data-kind={l.note.kind}>
                <strong>Important:</strong> <span id={domId('banner', l)}>{l.text}{l.count > 1 ? ` (${l.count} times)` : ''}</span>{' '}
                <time dateTime={l.note.at} className="note-time">{whenText(l.note.at)}</time>{' '}
                <MarkRead line={l} onRead={() => centre.markRead(l.ids)} where="banner" />
              </li>
            ))}
          </ul>
          {important.length > 3 && <p>and {important.length - 3} more in Notifications.</p>}
        </section>
      )}
    </div>
  );
}
