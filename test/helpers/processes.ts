/**
 * Checks on other processes for the tests that stop them (start.test.ts, lifeline.test.ts).
 */

/** Whether process `pid` still exists (signal 0 tests, sends nothing). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `done()` or `ms` pass: a condition on other processes, not a timing. */
export async function until(done: () => boolean, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return done();
}
