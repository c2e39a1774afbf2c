/**
 * Child processes die with the process that started them (issue 14 §1: an anvil was found orphaned
 * after a test run). Two guards:
 * - a watchdog: a tiny node process holding a pipe from us; when the pipe closes without a goodbye —
 *   we were SIGKILLed or crashed — it stops the children (SIGTERM, so anvil saves its state; SIGKILL
 *   after 5 s). Node cannot ask the kernel for a parent-death signal, so a pipe is the portable way.
 * - a parent watch: when whoever started us dies (a test runner killed, a closed terminal) we are
 *   re-parented; `onOrphaned` then stops us gracefully.
 */
import { spawn } from 'node:child_process';

const WATCHDOG = `
process.on('SIGINT', () => {}); // Ctrl-C reaches the whole group: our parent handles it and says goodbye.
let bye = false;
process.stdin.on('data', (d) => { if (String(d).includes('bye')) bye = true; });
process.stdin.on('end', () => {
  if (bye) process.exit(0);
  const pids = JSON.parse(process.argv[1]);
  const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  const check = setInterval(() => {
    const left = pids.filter(alive);
    if (left.length && Date.now() < deadline) return;
    for (const pid of left) process.kill(pid, 'SIGKILL');
    clearInterval(check);
    process.exit(0);
  }, 50);
});
process.stdin.resume();
`;

export interface Lifeline {
  /** The watchdog's pid (tests check that it is gone too). */
  pid: number | undefined;
  /** We are stopping the children ourselves: the watchdog leaves without touching them. */
  release(): void;
}

/** Starts a watchdog that stops `pids` if this process dies without calling `release`. */
export function guardChildren(pids: number[]): Lifeline {
  const dog = spawn(process.execPath, ['-e', WATCHDOG, JSON.stringify(pids)], { stdio: ['pipe', 'ignore', 'ignore'] });
  // The watchdog must not keep us alive, and its early death must not crash us (EPIPE).
  dog.unref();
  dog.stdin!.on('error', () => undefined);
  (dog.stdin as unknown as { unref?: () => void }).unref?.();
  let released = false;
  return {
    pid: dog.pid,
    release() {
      if (released) return;
      released = true;
      dog.stdin!.end('bye\n');
    },
  };
}

/** Calls `onOrphaned` once when this process's parent is gone (we were re-parented). */
export function watchParent(onOrphaned: () => void, everyMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
