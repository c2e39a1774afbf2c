/**
 * Issue 18: Ctrl-C on `npm start` must not wait for a browser that holds a notification stream open.
 * The manager's close ends open server-sent-event streams instead of waiting for the clients to leave.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildManager } from '../src/manager/server.js';

test('closing the manager ends the notification streams browsers hold open', { timeout: 30_000 }, async () => {
  let subscribers = 0;
  const app = buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: 'http://127.0.0.1:9', providers: [], users: [],
    keystoreOf: () => undefined, webRoot: '.', demo: false,
    hub: { subscribe: () => (subscribers++, () => subscribers--) } as never,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const res = await fetch(`${url}/api/notifications/0x${'a'.repeat(40)}`);
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
