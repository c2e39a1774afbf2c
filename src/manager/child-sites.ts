/**
 * Gatekeepers in processes of their own (issue 16 §8): the demo providers (provider-sites.ts) and the
 * research sites (research-sites.ts) are each a `medledger` child that prints one ready line with its
 * URL once it listens. This is how the system waits for such a child and how it ends one.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * Resolves with the child's ready line once it prints it on stdout; rejects with its last words if it
 * exits first, or after `withinMs`.
 */
export function childReady(child: ChildProcess, what: string, readyLine: RegExp, withinMs: number): Promise<RegExpExecArray> {
  let out: string | undefined = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not come up within ${withinMs / 1000} s: ${err.trim()}`)), withinMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? 'signal'}): ${err.trim().split('\n').pop() ?? ''}`));
    };
    child.once('exit', onExit);
    child.stdout!.on('data', (d: Buffer) => {
      if (out === undefined) return; // ready already: whatever else it prints is not read
      out += d.toString();
      const m = readyLine.exec(out);
      if (!m) return;
      out = undefined;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(m);
    });
  });
}

/** Stops a child: SIGTERM (it closes its gatekeeper), SIGKILL after 10 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
