/**
 * Child processes for the fault suite (`node --import tsx <script>`), so they can be `kill -9`ed.
 * Parent and child talk in JSON lines: the parent writes `{"id","op","args"}` to the child's stdin;
 * the child answers `{"id","ok","result"|"error"}`, announces `{"ready":…}` once, and may send
 * `{"event":…}` lines at any time. Configuration travels in FAULT_CONFIG (JSON).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OutboxOptions } from '../../src/chain/outbox.js';

/** The repository root: children run from there. */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** JSON with bigints as decimal strings. */
export const toJson = (value: unknown): string => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

export type ChildEvent = { event: string } & Record<string, unknown>;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** What the child said when it was ready. */
  readonly ready: Record<string, unknown>;
  /** Sends `op` and resolves with the child's result; rejects on its error or when it dies first. */
  call<T = unknown>(op: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** kill -9, resolved once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop), resolved once the process is gone. */
  stop(): Promise<void>;
  readonly alive: boolean;
  /** The last lines the child wrote to stderr. */
  stderr(): string;
}

export class ChildCallError extends Error {
  constructor(
    message: string,
    readonly errorName?: string,
  ) {
    super(message);
    this.name = 'ChildCallError';
  }
}

/**
 * Starts `script` (relative to the repository) and resolves once it is ready (or rejects when it dies
 * first). The limits are generous: on a loaded two-core machine a gatekeeper takes a minute to start,
 * and a run that times out says nothing about crash safety.
 */
export async function spawnChild(name: string, script: string, config: unknown, onEvent: (e: ChildEvent) => void, readyTimeoutMs = 300_000): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO,
    env: { ...process.env, FAULT_CONFIG: toJson(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdin!.on('error', () => undefined); // writing to a child that just died
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ChildCallError(`${name} exited`, 'ChildExited'));
    }
    pending.clear();
  });
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${readyTimeoutMs / 1000} s: ${stderr}`)), readyTimeoutMs);
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready: ${stderr.trim()}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // stray output
      }
      if (msg.ready) {
        clearTimeout(timer);
        resolve(msg.ready as Record<string, unknown>);
      } else if (typeof msg.event === 'string') {
        onEvent(msg as ChildEvent);
      } else if (typeof msg.id === 'number') {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new ChildCallError(String(msg.error), msg.errorName as string | undefined));
      }
    });
  });
  const readyInfo = await ready.catch(async (err) => {
    child.kill('SIGKILL');
    await exit;
    throw err;
  });
  const stopWith = async (signal: NodeJS.Signals) => {
    if (!exited) child.kill(signal);
    await exit;
  };
  return {
    name,
    process: child,
    ready: readyInfo,
    call<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 180_000) {
      if (exited) return Promise.reject(new ChildCallError(`${name} exited`, 'ChildExited'));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new ChildCallError(`${name}: ${op} timed out`, 'Timeout'));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        child.stdin!.write(`${toJson({ id, op, args })}\n`);
      });
    },
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
    get alive() {
      return !exited;
    },
    stderr: () => stderr,
  };
}

/** Child side: answers the parent's calls with `handlers`, and returns `emit` for events. */
export function serveParent(handlers: Record<string, (args: Record<string, unknown>) => Promise<unknown>>): { emit(event: ChildEvent): void; ready(info: Record<string, unknown>): void } {
  const write = (msg: unknown) => process.stdout.write(`${toJson(msg)}\n`);
  createInterface({ input: process.stdin }).on('line', (line) => {
    const { id, op, args } = JSON.parse(line) as { id: number; op: string; args: Record<string, unknown> };
    const handler = handlers[op];
    if (!handler) return write({ id, ok: false, error: `unknown op ${op}` });
    handler(args).then(
      (result) => write({ id, ok: true, result }),
      (err: Error) => write({ id, ok: false, error: err?.message ?? String(err), errorName: (err as { errorName?: string })?.errorName ?? err?.name }),
    );
  });
  process.stdin.on('end', () => process.exit(0)); // the parent went away
  return { emit: write, ready: (info) => write({ ready: info }) };
}

/** The chain deployment and keys a child needs (test keys only). */
export interface ChildChainConfig {
  rpcUrl: string;
  chainId: number;
  contract: `0x${string}`;
  deployBlock: string;
  key: `0x${string}`;
  dataDir: string;
}

/**
 * The outbox of a child: every re-send, re-signing, refusal and drop told to the parent. Entries stay
 * 64 blocks: deeper than any rollback the driver makes (its deepest restores a state saved three
 * operations and up to a second back; the report's `deepestRollback` shows it).
 */
export function outboxOptions(who: string, emit: (event: ChildEvent) => void): OutboxOptions {
  return {
    confirmations: 64,
    onResubmit: (e) => emit({ event: 'resubmitted', who, hash: e.hash, nonce: e.nonce }),
    onResign: (e, next, reason) => emit({ event: 'resigned', who, hash: e.hash, next: next.hash, nonce: e.nonce, reason }),
    onRefused: (e, error) => emit({ event: 'refused', who, hash: e.hash, nonce: e.nonce, error }),
    onDrop: (e, reason, error) => emit({ event: 'dropped', who, hash: e.hash, nonce: e.nonce, reason, error }),
  };
}
