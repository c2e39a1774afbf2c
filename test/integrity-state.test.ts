/**
 * Issue 19, "Freshness you can see": the chart's decision between current, publishing and mismatch
 * from the gatekeeper's pointer-state headers (src/manager/web/views/chart/freshness.ts), and the
 * since-when words. The browser side is test/manager-chart-browser.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak256, toHex, type Hex } from 'viem';
import { pendingOf, pointerStatus, POINTER_HEADERS, recheckDelayMs, sinceWords } from '../src/manager/web/views/chart/freshness.js';

const OLD = keccak256(toHex('records before the write'));
const NEW = keccak256(toHex('records after the write'));
const OTHER = keccak256(toHex('records changed again, not published'));

const pendingHeaders = (hash: string, since = '2026-12-07T12:00:00.000Z') =>
  new Headers({ 'X-MedLedger-Pointer-State': 'pending', 'X-MedLedger-Pointer-Pending-Since': since, 'X-MedLedger-Pointer-Pending-Hash': hash });

test('a pending hash is read from the headers whatever their case, and only when it parses', () => {
  assert.deepEqual(pendingOf(pendingHeaders(NEW.toUpperCase().replace('0X', '0x'))), { hash: NEW, since: '2026-12-07T12:00:00.000Z' });
  const lower = new Headers({ [POINTER_HEADERS.state]: 'PENDING', [POINTER_HEADERS.pendingHash]: NEW });
  assert.deepEqual(pendingOf(lower), { hash: NEW, since: undefined }, 'no since: still pending, without a time');
  assert.deepEqual(pendingOf(new Headers({ [POINTER_HEADERS.state]: 'pending' })), { hash: undefined, since: undefined }, 'queued, no hash sent yet');
  assert.equal(pendingOf(new Headers({ [POINTER_HEADERS.state]: 'current' })), undefined);
  assert.equal(pendingOf(new Headers()), undefined, 'a gatekeeper from before issue 19 sends nothing');
  assert.equal(pendingOf(undefined), undefined);
  assert.equal(pendingOf(pendingHeaders('0x1234')), undefined, 'a hash that is not 32 bytes is not trusted');
  assert.equal(pendingOf(pendingHeaders(NEW, 'yesterday'))?.since, undefined, 'a time that does not parse is left out');
});

test('records that differ from the chain are "publishing" only when they are exactly what is pending', () => {
  assert.equal(pointerStatus(NEW, NEW, undefined), 'current');
  assert.equal(pointerStatus(NEW, NEW.toUpperCase().replace('0X', '0x') as Hex, { hash: OTHER }), 'current', 'the records match the chain whatever is pending');
  assert.equal(pointerStatus(OLD, NEW, pendingOf(pendingHeaders(NEW))), 'publishing');
  assert.equal(pointerStatus(OLD, OTHER, pendingOf(pendingHeaders(NEW))), 'mismatch', 'the provider changed more than it is publishing');
  assert.equal(pointerStatus(OLD, NEW, { since: '2026-12-07T12:00:00.000Z' }), 'publishing', 'queued in the coalescing window: no hash sent yet');
  assert.equal(pointerStatus(OLD, NEW, undefined), 'mismatch', 'not pending (an old gatekeeper, or a change behind the gatekeeper): as before');
  assert.equal(pointerStatus(OLD, NEW, pendingOf(new Headers({ [POINTER_HEADERS.state]: 'current', [POINTER_HEADERS.pendingHash]: NEW }))), 'mismatch');
});

test('since when, in plain words', () => {
  const at = Date.parse('2026-12-07T12:00:00.000Z');
  const iso = (offsetS: number) => new Date(at - offsetS * 1000).toISOString();
  assert.equal(sinceWords(iso(2), at), 'just now');
  assert.equal(sinceWords(iso(-3), at), 'just now', 'a gatekeeper clock a little ahead');
  assert.equal(sinceWords(iso(12), at), '12 seconds ago');
  assert.equal(sinceWords(iso(70), at), 'a minute ago');
  assert.equal(sinceWords(iso(25 * 60), at), '25 minutes ago');
  assert.equal(sinceWords(iso(3 * 3600), at), 'on 2026-12-07 at 09:00 UTC');
});

test('publishing is checked again about once a block for 30 seconds, then every 10 seconds for about two minutes, then no more', () => {
  const delays: number[] = [];
  for (let tries = 0, d = recheckDelayMs(0); d !== undefined; d = recheckDelayMs(++tries)) delays.push(d);
  assert.deepEqual(delays.slice(0, 15), Array(15).fill(2_000));
  assert.deepEqual(delays.slice(15), Array(9).fill(10_000));
  assert.equal(delays.reduce((a, b) => a + b, 0), 120_000);
});
