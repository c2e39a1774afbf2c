/**
 * Runs the real `medledger` binary as a child process: bin/medledger.js on the compiled dist/src,
 * as users run it. dist/src is brought up to date with src/ first (a hash check when nothing
 * changed), so a test run directly with `node --test` never exercises a stale build; type errors do
 * not stop it (`npm test` typechecks on its own), as they did not when tsx ran the CLI.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDist } from '../../scripts/build-dist.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'medledger.js');

let built = false;
/** bin/medledger.js, with dist/src brought up to date first. */
export function binary(): string {
  if (!built) buildDist({ lenient: true });
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

/** `medledger start` children still running, killed with their whole process group if this test process exits first. */
const groups = new Set<number>();
process.once('exit', () => {
  for (const pgid of groups) killGroup(pgid);
});

/** SIGKILLs every process left in the group `pgid` (a `medledger start` and whatever it started). */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left.
  }
}

/** Whether any process of group `pgid` is still alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface StartedCli {
  child: ChildProcess;
  output: () => string;
  /** Stops it with `signal` (Ctrl-C by default), waits for it to exit, and kills whatever it left behind. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `medledger start` (in demo mode unless `demo: false`) in its own process group and resolves
 * once it prints that it is running. Whatever it starts is killed with the group when the test ends.
 * Without the research sites (--no-research-sites) unless `researchSites: true` (the study tests).
 */
export async function startCli(env: NodeJS.ProcessEnv, args: string[] = ['--chain-only'], { demo = true, researchSites = false } = {}): Promise<StartedCli> {
  const argv = [...(demo && !args.includes('--demo') ? ['--demo', ...args] : args), ...(researchSites ? [] : ['--no-research-sites'])];
  const child = spawn(process.execPath, [binary(), 'start', ...argv], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pgid = child.pid!;
  groups.add(pgid);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
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
  } catch (err) {
    killGroup(pgid);
    groups.delete(pgid);
    throw err;
  }
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      killGroup(pgid);
      groups.delete(pgid);
      return code;
    },
  };
}

/** Runs the CLI and asserts it exited 0; the result for further checks. */
export async function cliSucceeds(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const r = await runCli(args, env);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Runs the CLI and asserts the house rule for errors: exit 1 and one line on stderr matching `message` (and, with `quiet`, nothing on stdout). */
export async function cliFailsInOneLine(args: string[], env: NodeJS.ProcessEnv, message: RegExp, options: { quiet?: boolean } = {}): Promise<void> {
  const r = await runCli(args, env);
  assert.equal(r.code, 1, `${args.join(' ')} exited ${r.code}: ${r.stdout}`);
  assert.match(r.stderr, message, args.join(' '));
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  if (options.quiet) assert.equal(r.stdout, '');
}
