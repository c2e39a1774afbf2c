/**
 * Which notifications matter (issue 18): the groups a person filters by and turns on or off, and
 * which ones are important — someone else reading the record, emergency access, a move of the
 * patient's identity to a new key, a provider waiting for approval. Important ones sort first, carry
 * a marker in words (not colour only) and stay in a banner until read.
 */
import type { Notification } from '../../lib/notifications.js';

export const GROUPS = [
  { id: 'access', label: 'Access to your data' },
  { id: 'sharing', label: 'Sharing' },
  { id: 'records', label: 'Records' },
  { id: 'emergency', label: 'Emergency & recovery' },
  { id: 'routine', label: 'Routine (audit log anchoring)' },
] as const;

export type GroupId = (typeof GROUPS)[number]['id'];

export function groupOf(n: Notification): GroupId {
  switch (n.kind) {
    case 'grant-used':
      return n.payload.emergency ? 'emergency' : 'access';
    case 'grant-received':
    case 'grant-revoked':
    case 'grant-expired':
    case 'delegate-set':
      return 'sharing';
    case 'new-record':
    case 'updated-record':
    case 'awaiting-approval':
    case 'status-changed':
      return 'records';
    case 'audit-anchored':
      return 'routine';
    default:
      return 'emergency';
  }
}

const IMPORTANT = new Set<Notification['kind']>(['grant-used', 'break-glass', 'recovery-approved', 'recovery-scheduled', 'key-moved', 'awaiting-approval']);

export const isImportant = (n: Notification): boolean => IMPORTANT.has(n.kind);
