/**
 * Issue 18: Ctrl-C on `npm start` must not wait for a browser that holds a notification stream open.
 * The manager's close ends open server-sent-event streams instead of waiting for the clients to leave.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { buildManager } from '../src/manager/server.js';
import { notificationProofMessage } from '../src/protocol/notifications.js';

test('closing the manager ends the notification streams browsers hold open', { timeout: 30_000 }, async () => {
  let subscribers = 0;
  const app = buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: 'http://127.0.0.1:9', providers: [], users: [],
    keystoreOf: () => undefined, webRoot: '.', demo: false,
    hub: { subscribe: () => (subscribers++, () => subscribers--) } as never,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  // The stream is served to the holder of the address's key only (notification-routes.ts).
  const me = privateKeyToAccount(generatePrivateKey());
  const time = Math.floor(Date.now() / 1000);
  const proof = `${time}:${await me.signMessage({ message: notificationProofMessage(me.address, time) })}`;
  const res = await fetch(`${url}/api/notifications/${me.address}?proof=${proof}`);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /^: connected/);
  assert.equal(subscribers, 1);
  // Without forceCloseConnections this never resolves (the test's timeout fails it).
  await app.close();
  const end = await reader.read().then((r) => (r.done ? 'ended' : 'more'), () => 'ended');
  assert.equal(end, 'ended');
  assert.equal(subscribers, 0, 'the stream\'s subscription is dropped');
});
