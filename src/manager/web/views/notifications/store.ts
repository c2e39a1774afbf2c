/**
 * A person's notification preferences and read marks, kept in this browser (localStorage), per
 * address: which groups to show (routine audit anchoring off by default), desktop notices (off by
 * default), and which notifications they marked as read (by id, so marks survive a reload).
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { GroupId } from './kinds.js';

export interface NotificationPrefs {
  groups: Record<GroupId, boolean>;
  /** A desktop notice for each new important one (needs the browser's permission). */
  desktop: boolean;
}

export const DEFAULT_PREFS: NotificationPrefs = {
  groups: { access: true, sharing: true, records: true, emergency: true, routine: false },
  desktop: false,
};

const prefsKey = (address: string) => `medledger:notification-prefs:${address.toLowerCase()}`;
const readKey = (address: string) => `medledger:notifications-read:${address.toLowerCase()}`;
/** Enough for years of notifications; the oldest marks go first. */
const MAX_READ_MARKS = 5_000;

function load<T>(key: string, fallback: T): T {
  try {
    const text = localStorage.getItem(key);
    return text ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback;
  }
}

export function usePrefs(address: string): [NotificationPrefs, (p: NotificationPrefs) => void] {
  const [prefs, setPrefs] = useState<NotificationPrefs>(() => loadPrefs(address));
  useEffect(() => setPrefs(loadPrefs(address)), [address]);
  const save = useCallback(
    (p: NotificationPrefs) => {
      localStorage.setItem(prefsKey(address), JSON.stringify(p));
      setPrefs(p);
    },
    [address],
  );
  return [prefs, save];
}

function loadPrefs(address: string): NotificationPrefs {
  const saved = load<Partial<NotificationPrefs>>(prefsKey(address), {});
  return { ...DEFAULT_PREFS, ...saved, groups: { ...DEFAULT_PREFS.groups, ...saved.groups } };
}

/** The ids marked as read, and a function to mark more. */
export function useReadMarks(address: string): [ReadonlySet<string>, (ids: readonly string[]) => void] {
  const [marks, setMarks] = useState<string[]>(() => load<string[]>(readKey(address), []));
  useEffect(() => setMarks(load<string[]>(readKey(address), [])), [address]);
  const mark = useCallback(
    (ids: readonly string[]) => {
      setMarks((prev) => {
        const next = [...new Set([...prev, ...ids])].slice(-MAX_READ_MARKS);
        localStorage.setItem(readKey(address), JSON.stringify(next));
        return next;
      });
    },
    [address],
  );
  return [useMemo(() => new Set(marks), [marks]), mark];
}
