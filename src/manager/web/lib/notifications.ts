/** Live notifications for the signed-in address, pushed by the manager over server-sent events. */
import { useEffect, useState } from 'react';
import type { Notification, NotificationKind } from '../../../protocol/notifications.js';
import { scopeLabel } from './fhir.js';

export type { Notification } from '../../../protocol/notifications.js';

/** Every kind's words, and those of two variants (a closed break-glass, a read during one). */
const TEXT: Record<NotificationKind | 'break-glass-closed' | 'emergency-read', string> = {
  'new-record': 'New record from',
  'updated-record': 'Updated record from',
  'awaiting-approval': 'Awaiting your approval:',
  'status-changed': 'Status changed:',
  'grant-received': 'Access granted:',
  'grant-revoked': 'Access revoked:',
  'audit-anchored': 'Audit log anchored by',
  'grant-used': 'Your data was read:',
  'emergency-read': 'Your data was read in an emergency (break-glass):',
  'grant-expired': 'A grant expired:',
  'break-glass': 'Emergency access (break-glass) opened:',
  'break-glass-closed': 'Emergency access closed:',
  'recovery-approved': 'A guardian approved moving your identity to a new key (cancel it if you did not ask):',
  'guardian-named': 'You were named a guardian of',
  'recovery-scheduled': 'Your guardians scheduled moving your identity to a new key:',
  'key-moved': 'Your identity moved to a new key:',
  'delegate-set': 'Delegate changed:',
};

export const notificationText = (n: Notification, nameOf: (a: string) => string): string => {
  const p = n.payload;
  const who = typeof p.provider === 'string' ? nameOf(p.provider) : undefined;
  const detail = [
    who,
    typeof p.query === 'string' ? scopeLabel(p.query) : undefined,
    typeof p.scope === 'string' ? scopeLabel(p.scope) : undefined,
    typeof p.viewer === 'string' ? `viewer ${nameOf(p.viewer)}` : undefined,
    typeof p.status === 'string' ? p.status : undefined,
    typeof p.candidate === 'string' ? p.candidate : typeof p.controller === 'string' ? p.controller : undefined,
    typeof p.delegate === 'string' ? nameOf(p.delegate) : undefined,
    typeof p.guardian === 'string' ? `by ${nameOf(p.guardian)}` : undefined,
    n.kind === 'guardian-named' && typeof p.patient === 'string' ? nameOf(p.patient) : undefined,
    n.kind === 'break-glass' && typeof p.expiresAt === 'number' ? `until ${new Date(p.expiresAt * 1000).toLocaleString()}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const kind: keyof typeof TEXT = n.kind === 'break-glass' && p.closed ? 'break-glass-closed' : n.kind === 'grant-used' && p.emergency ? 'emergency-read' : n.kind;
  return `${TEXT[kind] ?? kind} ${detail}`.trim();
};

/**
 * Notifications as lines, newest first, with a run of identical ones as one line and a count: an
 * emergency read is several searches, and they must not push the opening itself out of sight.
 */
export function notificationLines(notes: Notification[], nameOf: (a: string) => string): { note: Notification; text: string; count: number }[] {
  const lines: { note: Notification; text: string; count: number }[] = [];
  for (const note of notes) {
    const text = notificationText(note, nameOf);
    const last = lines.at(-1);
    if (last?.text === text) last.count += 1;
    else lines.push({ note, text, count: 1 });
  }
  return lines;
}

/** Subscribes while mounted; returns the notifications received so far, newest first. */
export function useNotifications(address: string | undefined): Notification[] {
  const [notes, setNotes] = useState<Notification[]>([]);
  useEffect(() => {
    if (!address) return;
    setNotes([]);
    const source = new EventSource(`/api/notifications/${address}`);
    source.addEventListener('notification', (e) => {
      const n = JSON.parse((e as MessageEvent<string>).data) as Notification;
      setNotes((prev) => [{ ...n, at: new Date().toISOString() }, ...prev].slice(0, 50));
    });
    return () => source.close();
  }, [address]);
  return notes;
}
