/**
 * The signed-in user's notifications: the past ones from the manager's history and the live ones
 * pushed over server-sent events (src/manager/notification-routes.ts). Both are personal data, so
 * every request carries a fresh proof that this page holds the address's key: an EIP-191 signature
 * made here with the session's key, silently (it never leaves this page).
 */
import { useEffect, useMemo, useState } from 'react';
import type { LocalAccount } from 'viem';
import { notificationProofMessage, type Notification } from '../../../protocol/notifications.js';

export type { Notification } from '../../../protocol/notifications.js';

/** `<time>:<signature>`, good for a few minutes. */
export async function notificationProof(account: LocalAccount): Promise<string> {
  const time = Math.floor(Date.now() / 1000);
  return `${time}:${await account.signMessage({ message: notificationProofMessage(account.address, time) })}`;
}

/** The past notifications of `account` (routine ones only if asked), newest first. */
export async function fetchHistory(account: LocalAccount, routine: boolean): Promise<Notification[]> {
  const res = await fetch(`/api/notifications/${account.address}/history${routine ? '?routine=1' : ''}`, {
    headers: { 'x-notification-proof': await notificationProof(account) },
  });
  const body = (await res.json().catch(() => ({}))) as { notifications?: Notification[]; error?: string };
  if (!res.ok || !body.notifications) throw new Error(body.error ?? `the manager answered ${res.status}`);
  return body.notifications;
}

const time = (n: Notification) => (n.at ? Date.parse(n.at) : 0);

export interface NotificationFeed {
  /** Everything known, past and live, each once (by id), newest first. */
  all: Notification[];
  /** Those received since the page signed in, newest first (views reload on them). */
  live: Notification[];
  /** Why the past ones could not be shown, in words. */
  error?: string;
}

/**
 * Subscribes while mounted, with the history loaded each time the stream (re)connects so nothing sent
 * in between is missed. A stream refused (an old proof after a long disconnection) is opened again
 * with a new one.
 */
export function useNotificationFeed(account: LocalAccount | undefined, routine: boolean): NotificationFeed {
  const [live, setLive] = useState<Notification[]>([]);
  const [past, setPast] = useState<Notification[]>([]);
  const [connected, setConnected] = useState(0);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!account) return;
    setLive([]);
    setPast([]);
    let closed = false;
    let source: EventSource | undefined;
    let retry: number | undefined;
    const connect = async () => {
      const proof = await notificationProof(account);
      if (closed) return;
      source = new EventSource(`/api/notifications/${account.address}?proof=${encodeURIComponent(proof)}`);
      source.addEventListener('open', () => setConnected((c) => c + 1));
      source.addEventListener('notification', (e) => {
        const n = JSON.parse((e as MessageEvent<string>).data) as Notification;
        setLive((prev) => [{ ...n, at: n.at ?? new Date().toISOString(), id: n.id ?? `live:${prev.length}` }, ...prev]);
      });
      source.addEventListener('error', () => {
        if (source?.readyState === EventSource.CLOSED && !closed) retry = window.setTimeout(() => void connect(), 2_000);
      });
    };
    void connect();
    return () => {
      closed = true;
      window.clearTimeout(retry);
      source?.close();
    };
  }, [account]);
  useEffect(() => {
    if (!account || connected === 0) return;
    let current = true;
    fetchHistory(account, routine).then(
      (notes) => current && (setPast(notes), setError(undefined)),
      (e: Error) => current && setError(`Your earlier notifications could not be loaded (${e.message}). Reload the page to try again.`),
    );
    return () => void (current = false);
  }, [account, routine, connected]);
  const all = useMemo(() => {
    const byId = new Map<string, Notification>();
    for (const n of [...past, ...live]) byId.set(n.id ?? `${n.kind}:${n.at}`, n);
    return [...byId.values()].sort((a, b) => time(b) - time(a));
  }, [past, live]);
  return { all, live, error };
}
