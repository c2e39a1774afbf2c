/**
 * Issue 14 §1: no process outlives the one that started it. Every embedded chain node (anvil) has a
 * watchdog that stops it when its starter is gone, whether that starter exits without stopping it or
 * is killed outright (SIGKILL leaves it no chance to clean up). Checked by pid.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../bench/harness/chain.js';
import { alive, until } from './helpers/processes.js';

const ANVIL = pathToFileURL(join(import.meta.dirname, '..', 'src', 'chain', 'anvil.ts')).href;

/** Starts a process that starts anvil and then `then` ('exit' without stopping it, or 'wait'); resolves with both pids. */
async function starter(then: 'exit' | 'wait'): Promise<{ starter: number; node: number; exited: Promise<unknown> }> {
  const dir = tempDir('medledger-lifeline-');
  const script = `
    const { startAnvil } = await import(${JSON.stringify(ANVIL)});
    const node = await startAnvil({ stateFile: ${JSON.stringify(join(dir, 'state.json'))} });
    console.log('node ' + node.process.pid);
    if (${JSON.stringify(then)} === 'exit') process.exit(0); else setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').finally(() => rmSync(dir, { recursive: true, force: true }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  assert.equal(await until(() => /node \d+/.test(out), 60_000), true, out);
  return { starter: child.pid!, node: Number(/node (\d+)/.exec(out)![1]), exited };
}

test('an embedded node stops when its starter exits without stopping it', { timeout: 120_000 }, async () => {
  const { node, exited } = await starter('exit');
  await exited;
  try {
    assert.equal(await until(() => !alive(node)), true, `anvil ${node} outlived its starter`);
  } finally {
    if (alive(node)) process.kill(node, 'SIGKILL');
  }
});

test('an embedded node stops when its starter is SIGKILLed', { timeout: 120_000 }, async () => {
  const { starter: pid, node, exited } = await starter('wait');
  assert.ok(alive(node));
  process.kill(pid, 'SIGKILL');
  await exited;
  try {
    assert.equal(await until(() => !alive(node)), true, `anvil ${node} outlived its SIGKILLed starter`);
  } finally {
    if (alive(node)) process.kill(node, 'SIGKILL');
  }
});
