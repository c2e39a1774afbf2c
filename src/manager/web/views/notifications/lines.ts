/**
 * The notification centre's list: notifications as lines, important unread ones first, then the
 * newest; a run of identical ones is one line with a count (an emergency read is several searches,
 * and they must not push everything else out of sight).
 */
import type { Notification } from '../../lib/notifications.js';
import { groupOf, isImportant, type GroupId } from './kinds.js';
import { describe } from './words.js';

export interface Line {
  /** Every notification the line stands for (marking it read marks them all). */
  ids: string[];
  note: Notification;
  text: string;
  details: string[];
  count: number;
  unread: boolean;
  important: boolean;
  group: GroupId;
}

export const idOf = (n: Notification): string => n.id ?? `${n.kind}:${n.at}`;

export function linesOf(notes: readonly Notification[], me: string, nameOf: (a: string) => string, read: ReadonlySet<string>): Line[] {
  const time = (n: Notification) => (n.at ? Date.parse(n.at) : 0);
  const pinned = (n: Notification) => isImportant(n) && !read.has(idOf(n));
  const sorted = [...notes].sort((a, b) => Number(pinned(b)) - Number(pinned(a)) || time(b) - time(a));
  const lines: Line[] = [];
  for (const note of sorted) {
    const { text, details } = describe(note, me, nameOf);
    const unread = !read.has(idOf(note));
    const last = lines.at(-1);
    if (last && last.text === text && last.unread === unread) {
      last.count += 1;
      last.ids.push(idOf(note));
    } else {
      lines.push({ ids: [idOf(note)], note, text, details, count: 1, unread, important: isImportant(note), group: groupOf(note) });
    }
  }
  return lines;
}

/** "7 Dec 2026, 09:41" in the reader's own way of writing dates. */
export const whenText = (iso: string | undefined): string => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'time unknown');
