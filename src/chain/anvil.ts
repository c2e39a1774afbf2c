/**
 * The embedded chain: an anvil child process whose state is persisted to a file once a second.
 * We spawn the platform binary directly: killing the npm wrapper would orphan the node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { guardChildren } from './lifeline.js';

const require = createRequire(import.meta.url);

export interface AnvilNode {
  rpcUrl: string;
  port: number;
  process: ChildProcess;
  /** Graceful stop: anvil writes its state file on SIGTERM. */
  stop(): Promise<void>;
}

export interface StartAnvilOptions {
  stateFile: string;
  /** 0 = pick a free port. */
  port?: number;
  /** Seconds between blocks; 0/undefined = automine. */
  blockTime?: number;
  chainId?: number;
  /** Base fee of every block in wei (0 = free gas, as a Besu network with zeroBaseFee); anvil's default when unset. */
  baseFee?: number;
}

/** Path of the anvil binary for this platform, from the @foundry-rs/anvil-<os>-<arch> package. */
export function anvilBinary(): string {
  const os = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform as string];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  if (!os || !arch) throw new Error(`anvil is not published for ${process.platform}-${process.arch}`);
  const pkg = require.resolve(`@foundry-rs/anvil-${os}-${arch}/package.json`);
  return join(dirname(pkg), 'bin', os === 'win32' ? 'anvil.exe' : 'anvil');
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function rpcReady(rpcUrl: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts anvil with persisted state and resolves once it answers JSON-RPC. */
export async function startAnvil(options: StartAnvilOptions): Promise<AnvilNode> {
  const port = options.port || (await freePort());
  const args = [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--state', options.stateFile,
    // Without an interval a crash loses everything since start; with it, at most the last second.
    '--state-interval', '1',
    '--chain-id', String(options.chainId ?? 31337),
    '--silent',
  ];
  if (options.blockTime) args.push('--block-time', String(options.blockTime));
  if (options.baseFee !== undefined) args.push('--base-fee', String(options.baseFee));
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Whoever started the node (medledger start, a test, a benchmark) may die without stopping it.
  const lifeline = child.pid ? guardChildren([child.pid]) : undefined;
  child.once('exit', () => lifeline?.release());
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (!(await rpcReady(rpcUrl))) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`anvil did not answer on ${rpcUrl} within 15 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    rpcUrl,
    port,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
