/**
 * Follows a node's chain head with an `eth_subscribe("newHeads")` subscription over WebSocket
 * (https://geth.ethereum.org/docs/interacting-with-geth/rpc/pubsub): the node pushes every new block
 * as soon as it has it, so the follower knows the head without asking the node per request.
 *
 * The subscription can be lost (node restart, network); `onLost` then says announcements may have
 * gaps until `onSubscribed` is called again. Reconnection backs off from `retryMs` to `maxRetryMs`.
 */
import { getWebSocketRpcClient } from 'viem/utils';

export interface HeadListener {
  /** The subscription is active: from now on every new block is announced (the caller reads the current one itself). */
  onSubscribed(): void;
  /** A new block; on a reorganisation the same or a lower number can come again. */
  onHead(blockNumber: bigint): void;
  /** The subscription ended or could not be made: blocks may go unannounced until the next onSubscribed. */
  onLost(error: unknown): void;
}

export interface HeadFollower {
  /** Stops following (unsubscribes; the socket is closed when no other follower in the process shares it). */
  close(): void;
}

type RpcClient = Awaited<ReturnType<typeof getWebSocketRpcClient>>;

/** The WebSocket URL of a node's HTTP JSON-RPC URL (nodes such as anvil and geth serve both on one port). */
export const webSocketUrlOf = (httpUrl: string): string => httpUrl.replace(/^http(s?):/, 'ws$1:');

export function followHeads(url: string, listener: HeadListener, options: { retryMs?: number; maxRetryMs?: number } = {}): HeadFollower {
  const retryMs = options.retryMs ?? 250;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  let delay = retryMs;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The current connection; `over` once it has been given up (so its late callbacks are ignored). */
  let current: { rpc?: RpcClient; id?: string; over: boolean } | undefined;

  function release(conn: NonNullable<typeof current>, socketFailed: boolean) {
    if (conn.over) return;
    conn.over = true;
    const { rpc, id } = conn;
    if (!rpc) return;
    if (id && !socketFailed) rpc.request({ body: { method: 'eth_unsubscribe', params: [id] }, onResponse: () => undefined, onError: () => undefined });
    // viem shares one socket per URL in a process: close it only when nobody else listens on it (a
    // failed socket is closed regardless, so the next connect opens a fresh one).
    if (socketFailed || rpc.subscriptions.size === 0) rpc.close();
  }

  function lost(conn: NonNullable<typeof current>, error: unknown, socketFailed: boolean) {
    if (conn.over) return;
    release(conn, socketFailed);
    if (closed) return;
    listener.onLost(error);
    timer = setTimeout(connect, delay);
    timer.unref(); // a follower never keeps the process alive
    delay = Math.min(delay * 2, maxRetryMs);
  }

  async function connect() {
    timer = undefined;
    const conn: NonNullable<typeof current> = { over: false };
    current = conn;
    try {
      conn.rpc = await getWebSocketRpcClient(url, { keepAlive: false, reconnect: false });
    } catch (err) {
      return lost(conn, err, false);
    }
    if (closed) return release(conn, false);
    // Best effort (the `ws` package on Node 20): an idle subscription must not keep the process alive.
    (conn.rpc.socket as unknown as { _socket?: { unref?: () => void } })._socket?.unref?.();
    conn.rpc.request({
      body: { method: 'eth_subscribe', params: ['newHeads'] },
      onResponse(message) {
        if (conn.over) return;
        const m = message as { method?: string; params?: { result?: { number?: string } }; result?: unknown; error?: { message?: string } };
        if (m.method === 'eth_subscription') {
          const number = m.params?.result?.number;
          if (number) listener.onHead(BigInt(number));
        } else if (typeof m.result === 'string') {
          conn.id = m.result;
          delay = retryMs;
          listener.onSubscribed();
        } else {
          lost(conn, new Error(`eth_subscribe failed: ${m.error?.message ?? 'no subscription id'}`), false);
        }
      },
      onError: (err) => lost(conn, err, true),
    });
  }

  void connect();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (current) release(current, false);
    },
  };
}
