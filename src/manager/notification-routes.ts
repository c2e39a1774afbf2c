/**
 * A user's notifications over HTTP, live and past. Both are personal data (who read my records,
 * that I am in an emergency), so neither is served to whoever names an address: the request carries
 * a proof that its sender holds the address's key, an EIP-191 signature of
 * `notificationProofMessage(address, time)` (src/protocol/notifications.ts) made a few minutes ago
 * at most, as `<time>:<signature>` — in the `x-notification-proof` header, or in the `proof` query
 * parameter for the live stream (a browser's EventSource cannot set headers).
 *
 *   GET /api/notifications/{address}?proof=…          server-sent events, from now on
 *   GET /api/notifications/{address}/history[?routine=1&limit=200]   the past ones, newest first
 *
 * 400: not an address; 401: no proof, or one too old or malformed; 403: signed by another key.
 * A proof can be replayed within its few minutes by someone who saw it; it is sent to this manager
 * only, and never logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { verifyMessage, type Address, type Hex } from 'viem';
import { NOTIFICATION_PROOF_MAX_AGE_S, notificationProofMessage, type Notification } from '../protocol/notifications.js';
import { blockClock } from './notification-history.js';
import type { NotificationHub } from './notifications.js';

export const NOTIFICATION_PROOF_HEADER = 'x-notification-proof';

/** Undefined when `proof` shows the sender holds `address`'s key now; else the status and the words to answer. */
export async function checkNotificationProof(address: string, proof: unknown, now = Date.now() / 1000): Promise<{ code: 401 | 403; error: string } | undefined> {
  const m = typeof proof === 'string' ? /^(\d{1,12}):(0x[0-9a-fA-F]{130})$/.exec(proof) : null;
  if (!m) return { code: 401, error: 'sign in again: showing notifications needs proof that you hold this account\'s key' };
  const time = Number(m[1]);
  if (Math.abs(now - time) > NOTIFICATION_PROOF_MAX_AGE_S) return { code: 401, error: 'that proof has expired (or this computer\'s clock is wrong): reload the page to sign a new one' };
  const ok = await verifyMessage({ address: address as Address, message: notificationProofMessage(address, time), signature: m[2] as Hex }).catch(() => false);
  return ok ? undefined : { code: 403, error: 'that proof was signed by another account: you can see only your own notifications' };
}

/** The address of the request, or undefined after answering it (bad address, no valid proof). */
async function provenAddress(req: FastifyRequest, reply: FastifyReply, proof: unknown): Promise<Address | undefined> {
  const { address } = req.params as { address: string };
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
    await reply.code(400).send({ error: 'not an address' });
    return undefined;
  }
  const refused = await checkNotificationProof(address, proof);
  if (refused) {
    await reply.code(refused.code).send({ error: refused.error });
    return undefined;
  }
  return address as Address;
}

export function registerNotificationRoutes(app: FastifyInstance, hub: NotificationHub, rpcUrl: string): void {
  const blockTimes = blockClock(rpcUrl);
  /** Gives an event's notification its block's time (off-chain ones come with theirs). */
  const timed = async (n: Notification): Promise<Notification> => {
    if (n.at || n.blockNumber === '0') return n;
    const t = (await blockTimes([n.blockNumber]).catch(() => undefined))?.get(n.blockNumber);
    return t === undefined ? n : { ...n, at: new Date(t * 1000).toISOString() };
  };

  app.get('/api/notifications/:address', async (req, reply) => {
    const address = await provenAddress(req, reply, (req.query as { proof?: unknown }).proof);
    if (!address) return reply;
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(': connected\n\n');
    // One after the other, so timing one (a call to the chain) never reorders them.
    let queue = Promise.resolve();
    const unsubscribe = hub.subscribe(address, (n) => {
      queue = queue.then(async () => void reply.raw.write(`event: notification\ndata: ${JSON.stringify(await timed(n))}\n\n`)).catch(() => undefined);
    });
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(ping);
      unsubscribe();
    });
  });

  app.get('/api/notifications/:address/history', async (req, reply) => {
    const address = await provenAddress(req, reply, req.headers[NOTIFICATION_PROOF_HEADER]);
    if (!address) return reply;
    const q = req.query as { routine?: string; limit?: string };
    const notifications = await hub.history(address, { routine: q.routine === '1', limit: q.limit ? Number(q.limit) || undefined : undefined, blockTimes });
    return reply.header('cache-control', 'no-store').send({ notifications });
  });
}
