/** Live notifications for the signed-in address, pushed by the manager over server-sent events. */
import { useEffect, useState } from 'react';
import { scopeLabel } from './fhir.js';

export interface Notification {
  kind: string;
  relationshipId?: string;
  blockNumber: string;
  payload: Record<string, unknown>;
  /** When this page received it. */
  at?: string;
}

const TEXT: Record<string, string> = {
  'new-record': 'New record from',
  'updated-record': 'Updated record from',
  'awaiting-approval': 'Awaiting your approval:',
  'status-changed': 'Status changed:',
  'grant-received': 'Access granted:',
  'grant-revoked': 'Access revoked:',
  'audit-anchored': 'Audit log anchored by',
  'grant-used': 'Your data was read:',
  'grant-expired': 'A grant expired:',
};

export const notificationText = (n: Notification, nameOf: (a: string) => string): string => {
  const p = n.payload;
  const who = typeof p.provider === 'string' ? nameOf(p.provider) : undefined;
  const detail = [who, typeof p.query === 'string' ? scopeLabel(p.query) : undefined, typeof p.scope === 'string' ? scopeLabel(p.scope) : undefined, typeof p.viewer === 'string' ? `viewer ${nameOf(p.viewer)}` : undefined, typeof p.status === 'string' ? p.status : undefined]
    .filter(Boolean)
    .join(' · ');
  return `${TEXT[n.kind] ?? n.kind} ${detail}`.trim();
};

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
