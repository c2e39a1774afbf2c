/**
 * CLI start-up: wall time of `medledger --help` as users run it (bin/medledger.js on the compiled
 * dist/src), beside the way it ran before dist/ existed (tsx compiling src/ on load), measured
 * alternately in the same run so machine load weighs on both alike. `--help` loads the whole CLI
 * (every command module and what they import) and exits before touching a chain, so it measures
 * start-up alone.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist } from '../scripts/build-dist.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function wallMs(args: string[]): number {
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, args, { cwd: root, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export async function benchCli(log: (line: string) => void, runs = 10): Promise<{ startMs: number; startMsTsx: number; runs: number }> {
  buildDist();
  const compiled = [join(root, 'bin', 'medledger.js'), '--help'];
  const tsx = ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), '--help'];
  // One untimed run each fills the OS file cache (and tsx's transform cache, as on any second use).
  wallMs(compiled);
  wallMs(tsx);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(wallMs(compiled));
    b.push(wallMs(tsx));
  }
  const startMs = median(a);
  const startMsTsx = median(b);
  log(`cli: medledger --help median ${startMs.toFixed(0)} ms compiled, ${startMsTsx.toFixed(0)} ms with tsx (${runs} runs each)`);
  return { startMs, startMsTsx, runs };
}
