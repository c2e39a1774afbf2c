/**
 * The external-node mode of `npm run test:external` and the scale bench: an anvil with a block time
 * (2 s, the block period of the Besu QBFT network in deploy/besu) and free gas, reached only through a
 * proxy that answers the eth_, net_ and web3_ namespaces — what a provider's Besu RPC node serves
 * (deploy/besu/config-rpc-*.toml). An anvil_*, evm_* or debug_* call fails as it would there.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { toHex, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { startAnvil } from '../../src/chain/anvil.js';

/** anvil's default dev mnemonic: ten accounts, each prefunded with 10,000 ether (public test keys). */
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEV_ACCOUNTS = 10;

/** The private key of the node's `index`-th prefunded account (on Besu, a genesis `alloc` entry). */
export function devAccountKey(index: number): Hex {
  return toHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey!);
}

/** The JSON-RPC namespaces a production RPC node serves (Besu with --rpc-http-api=ETH,NET,WEB3). */
const STANDARD_METHOD = /^(eth|net|web3)_/;

interface JsonRpcCall {
  id?: unknown;
  method?: unknown;
}

export interface StandardRpc {
  url: string;
  /** Calls answered "method not found", by method. */
  refused: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A JSON-RPC endpoint in front of `target` that forwards standard methods and answers any other
 * (anvil_*, evm_*, debug_*, …) with "method not found", as Besu does for an API it does not enable.
 */
export async function startStandardRpc(target: string): Promise<StandardRpc> {
  const refused = new Map<string, number>();
  const notFound = (call: JsonRpcCall) => {
    refused.set(String(call.method), (refused.get(String(call.method)) ?? 0) + 1);
    return { jsonrpc: '2.0', id: call.id ?? null, error: { code: -32601, message: `Method not found: ${String(call.method)} (not served by a production RPC node)` } };
  };
  const forward = async (calls: JsonRpcCall[]): Promise<unknown[]> => {
    const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(calls) });
    return (await res.json()) as unknown[];
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonRpcCall | JsonRpcCall[];
        const calls = Array.isArray(body) ? body : [body];
        const allowed = calls.filter((c) => STANDARD_METHOD.test(String(c.method)));
        const answers = allowed.length ? await forward(allowed) : [];
        const byCall = new Map(allowed.map((c, i) => [c, answers[i]]));
        const replies = calls.map((c) => (byCall.has(c) ? byCall.get(c) : notFound(c)));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Array.isArray(body) ? replies : replies[0]));
      } catch (err) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: (err as Error).message } }));
      }
    });
  });
  // WebSocket (eth_subscribe newHeads, which the gatekeeper's chain view follows) is passed through
  // unfiltered: an RPC node with rpc-ws-enabled serves it, and subscriptions carry no dev methods.
  const upstream = new URL(target);
  server.on('upgrade', (req, socket, head) => {
    const up = connect(Number(upstream.port), upstream.hostname, () => {
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    refused,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface ExternalNode {
  /** The eth_-only endpoint: all that the code under test may reach. */
  rpcUrl: string;
  blockTime: number;
  refused: Map<string, number>;
  /** Environment for startFixture (test/helpers, bench/harness/chain.ts): deploy a fresh contract on this node as dev account `deployer`. */
  env(deployer?: number): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** anvil with `blockTime`-second blocks and base fee 0 (free gas, as the Besu genesis' zeroBaseFee) behind startStandardRpc. */
export async function startExternalNode({ blockTime = 2 }: { blockTime?: number } = {}): Promise<ExternalNode> {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-external-'));
  const node = await startAnvil({ stateFile: join(dir, 'state.json'), blockTime, baseFee: 0 });
  const rpc = await startStandardRpc(node.rpcUrl).catch(async (err: unknown) => {
    await node.stop();
    throw err;
  });
  // The PostgreSQL and embedded-node settings of the caller's environment do not apply here.
  const { MEDLEDGER_TEST_DATABASE_URL: _pg, MEDLEDGER_BLOCK_TIME: _bt, MEDLEDGER_CONTRACT_ADDRESS: _ca, ...base } = process.env;
  return {
    rpcUrl: rpc.url,
    blockTime,
    refused: rpc.refused,
    env: (deployer = 0) => ({ ...base, MEDLEDGER_RPC_URL: rpc.url, MEDLEDGER_DEPLOYER_KEY: devAccountKey(deployer) }),
    async close() {
      await rpc.close();
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * startExternalNode in a child process of its own, so that the node's RPC endpoint does not share an
 * event loop with what is measured against it (a real external node is another machine). The child
 * (external-node-process.ts) says its URL on stdout, and at the end the methods it refused.
 */
export async function startExternalNodeProcess({ blockTime = 2 }: { blockTime?: number } = {}): Promise<ExternalNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./external-node-process.ts', import.meta.url).pathname, String(blockTime)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const messages: { rpcUrl?: string; refused?: Record<string, number> }[] = [];
  let notify: () => void = () => undefined;
  lines.on('line', (line) => {
    messages.push(JSON.parse(line) as (typeof messages)[number]);
    notify();
  });
  const next = () => new Promise<void>((resolve, reject) => {
    notify = resolve;
    child.once('exit', (code) => reject(new Error(`the external node process exited (${code})`)));
  });
  while (!messages.some((m) => m.rpcUrl)) await next();
  const rpcUrl = messages.find((m) => m.rpcUrl)!.rpcUrl!;
  const refused = new Map<string, number>();
  const { MEDLEDGER_TEST_DATABASE_URL: _pg, MEDLEDGER_BLOCK_TIME: _bt, MEDLEDGER_CONTRACT_ADDRESS: _ca, ...base } = process.env;
  return {
    rpcUrl,
    blockTime,
    refused,
    env: (deployer = 0) => ({ ...base, MEDLEDGER_RPC_URL: rpcUrl, MEDLEDGER_DEPLOYER_KEY: devAccountKey(deployer) }),
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin!.end(); // the child closes the node and says what it refused
      await exited;
      for (const [method, n] of Object.entries(messages.find((m) => m.refused)?.refused ?? {})) refused.set(method, n);
    },
  };
}
