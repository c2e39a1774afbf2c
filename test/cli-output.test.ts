/**
 * The CLI's output for people (src/cli/output.ts): aligned tables, any JSON value as a table or
 * lines, colour only on a terminal without NO_COLOR, and a spinner that shows only on a terminal and
 * only once a wait passes its delay (timers injected: no real waiting).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colourFor, human, paint, startSpinner, table } from '../src/cli/output.js';

test('table: columns padded to the widest cell, colour codes not counted as width', () => {
  const out = table([['name', 'status'], ['alice', paint('accepted', 'green', true)], ['bob-the-longer', 'new']]);
  const lines = out.split('\n');
  assert.equal(lines[0], 'name            status');
  assert.equal(lines[1], '--------------  --------');
  assert.equal(lines[2], `alice           ${paint('accepted', 'green', true)}`);
  assert.equal(lines[3], 'bob-the-longer  new');
});

test('human: arrays of records as tables, records as aligned lines, addresses by name', () => {
  const carol = `0x${'c'.repeat(40)}`;
  const nameOf = (a: string) => (a === carol ? 'Carol' : a);
  assert.equal(human([{ who: carol, n: 2n }, { who: 'x', n: 3, extra: true }], nameOf), ['who    n  extra', '-----  -  -----', 'Carol  2  —', 'x      3  true'].join('\n'));
  assert.equal(human({ address: carol, blocks: [1, 2], account: { accredited: false } }, nameOf), ['address  Carol', 'blocks   1, 2', 'account:', '  accredited  false'].join('\n'));
  assert.equal(human([], nameOf), '(none)');
});

test('colour only on a terminal, and never with NO_COLOR', () => {
  assert.equal(colourFor({ isTTY: true }, {}), true);
  assert.equal(colourFor({ isTTY: false }, {}), false);
  assert.equal(colourFor({}, {}), false);
  assert.equal(colourFor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(paint('x', 'red', false), 'x');
  assert.equal(paint('x', 'red', true), '\x1b[31mx\x1b[39m');
});

/** Timers driven by hand: each scheduled callback runs only when the test says so. */
function manualTimers() {
  const pending = new Map<number, { fn: () => void; repeat: boolean }>();
  let next = 1;
  const timers = {
    setTimeout: (fn: () => void) => (pending.set(next, { fn, repeat: false }), next++),
    setInterval: (fn: () => void) => (pending.set(next, { fn, repeat: true }), next++),
    clearTimeout: (id: number) => pending.delete(id),
    clearInterval: (id: number) => pending.delete(id),
  } as unknown as Pick<typeof globalThis, 'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval'>;
  const fire = () => {
    for (const [id, t] of [...pending]) {
      if (!t.repeat) pending.delete(id);
      t.fn();
    }
  };
  return { timers, fire, pending };
}

test('spinner: nothing on a pipe; on a terminal only after the delay, and its line cleared at the end', () => {
  const writes: string[] = [];
  const pipe = startSpinner('waiting', { stream: { isTTY: false, write: (s: string) => writes.push(s) } });
  pipe.stop();
  assert.equal(writes.length, 0);

  const quick = manualTimers();
  const fast = startSpinner('waiting', { stream: { isTTY: true, write: (s: string) => writes.push(s) }, timers: quick.timers });
  fast.stop(); // done before the delay: never drawn
  assert.equal(writes.length, 0);
  assert.equal(quick.pending.size, 0);

  const slow = manualTimers();
  const spinner = startSpinner('granting on chain…', { stream: { isTTY: true, write: (s: string) => writes.push(s) }, timers: slow.timers });
  slow.fire(); // the delay passes: first frame, and the ticker starts
  slow.fire(); // one tick
  assert.equal(writes.length, 2);
  assert.match(writes[0]!, /^\r\S granting on chain…\x1b\[K$/);
  assert.notEqual(writes[0], writes[1], 'the frame turns');
  spinner.stop();
  assert.equal(writes.at(-1), '\r\x1b[K');
  assert.equal(slow.pending.size, 0);
});
