/**
 * Runs the real `medledger` binary as a child process: bin/medledger.js on the compiled dist/src,
 * as users run it. dist/src is brought up to date with src/ first (a hash check when nothing
 * changed), so a test run directly with `node --test` never exercises a stale build.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist } from '../../scripts/build-dist.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'medledger.js');

let built = false;
function binary(): string {
  if (!built) buildDist();
  built = true;
  return BIN;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI run on `dataDir`, on the embedded node unless the suite runs against an external one. */
export function cliEnv(dataDir: string): NodeJS.ProcessEnv {
  return { ...process.env, MEDLEDGER_DATA_DIR: dataDir, MEDLEDGER_CHAIN_PORT: '0', MEDLEDGER_PORT: '0', MEDLEDGER_GATEKEEPER_PORT: '0' };
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [binary(), ...args], { env, cwd: REPO, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `medledger start` and resolves once it prints that it is running. */
export async function startCli(env: NodeJS.ProcessEnv, args: string[] = ['--chain-only']): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [binary(), 'start', ...args], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`medledger start did not come up:\n${out}`)), 240_000);
    const check = () => {
      if (out.includes('Stop with Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`medledger start exited with ${code}:\n${out}`));
    });
  });
  return { child, output: () => out };
}
