/**
 * The EHR Manager's server: the web app's files, its configuration, in demo mode only the demo
 * patients' *encrypted* keystores (to loopback callers; decrypted in the browser; see demo-mode.ts),
 * a JSON-RPC relay to the chain node limited to what a wallet needs, and the user's notifications
 * (live and past, to the holder of the key only: notification-routes.ts).
 * No password or private key is ever sent or received.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import type { Address } from 'viem';
import { DEMO_SIGN_IN_ROLES, isLoopback } from './demo-mode.js';
import type { NotificationHub } from './notifications.js';
import { registerNotificationRoutes } from './notification-routes.js';
import { registerOutbreakRoutes, type OutbreakSource } from './outbreak-routes.js';
import { documentRoutes } from './document-routes.js';
import { registerMlRoutes } from './ml-routes.js';
import { registerStudyRoutes, type StudyRoutesOptions } from './study-routes.js';
import type { ModelRegistry } from '../ml/registry.js';
import type { DocumentService } from '../ml/document-service.js';

export interface ManagerProvider {
  name: string;
  label: string;
  address: Address;
  /** The gatekeeper's base URL, as the browser reaches it. */
  gatekeeperUrl: string;
}

export interface ManagerUser {
  name: string;
  role: string;
  label?: string;
  address: Address;
}

export interface ManagerOptions {
  chainId: number;
  contract: Address;
  deployBlock: bigint;
  /** Where the relay forwards JSON-RPC. */
  rpcUrl: string;
  providers: ManagerProvider[];
  users: ManagerUser[];
  /**
   * The encrypted v3 keystore of a demo user (JSON text). Asked only in demo mode, from loopback,
   * for a listed user whose role is in DEMO_SIGN_IN_ROLES.
   */
  keystoreOf(address: Address): string | undefined;
  hub: NotificationHub;
  /** The built web app (vite build output). */
  webRoot: string;
  /** Demo mode: serve demo patients' keystores to this machine (the listen host must be loopback too). */
  demo: boolean;
  /** The public-health authority's surveillance series (outbreak-routes.ts); none = the routes answer 404. */
  outbreak?: OutbreakSource;
  /** Reads and classifies uploaded files (document-routes.ts); none = no /api/documents routes. */
  documents?: DocumentService;
  /** The served models (src/ml/service.ts) for the /api/ml routes (ml-routes.ts); none = no model is served. */
  models?: ModelRegistry;
  /** The StudyRegistry's address for the browser's chain client, and the study catalogue (study-routes.ts); none = /api/studies answers 404. */
  studies?: StudyRoutesOptions & { studyRegistry: Address };
  /** The research sites (src/manager/research-sites.ts): gatekeepers a study runs over, apart from `providers` so patients' views do not list them. */
  researchSites?: ManagerProvider[];
}

/** What a wallet and the SDK need; no anvil_*, evm_*, debug_* or admin methods pass the relay. */
export const RPC_METHODS = new Set([
  'eth_chainId', 'eth_blockNumber', 'eth_call', 'eth_estimateGas', 'eth_gasPrice', 'eth_maxPriorityFeePerGas', 'eth_feeHistory',
  'eth_getBalance', 'eth_getCode', 'eth_getTransactionCount', 'eth_getTransactionReceipt', 'eth_getTransactionByHash',
  'eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_getLogs', 'eth_sendRawTransaction', 'net_version',
]);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon', '.wasm': 'application/wasm',
};

type RpcCall = { jsonrpc?: string; id?: unknown; method?: unknown; params?: unknown };

export function buildManager(o: ManagerOptions): FastifyInstance {
  // Close open notification streams on close: else Ctrl-C on `npm start` waits for every browser tab to go (issue 18).
  const app = Fastify({ logger: false, bodyLimit: 1_048_576, forceCloseConnections: true });

  app.get('/api/config', async () => ({
    chainId: o.chainId,
    contract: o.contract,
    ...(o.studies ? { studyRegistry: o.studies.studyRegistry } : {}),
    deployBlock: o.deployBlock.toString(),
    rpcPath: '/rpc',
    providers: o.providers,
    researchSites: o.researchSites ?? [],
    demo: o.demo,
    // Listed fields only: whatever else a user record holds never leaves this server.
    users: o.users.map(({ name, role, label, address }) => ({ name, role, label, address, demoSignIn: o.demo && DEMO_SIGN_IN_ROLES.has(role) })),
  }));

  app.get('/api/keystores/:address', async (req, reply) => {
    const { address } = req.params as { address: string };
    if (!o.demo) return reply.code(404).send({ error: 'this manager serves no keystores: sign in with your keystore file' });
    if (!isLoopback(req.socket.remoteAddress)) return reply.code(403).send({ error: 'demo keystores are served to this machine only' });
    const user = o.users.find((u) => u.address.toLowerCase() === address.toLowerCase());
    // Providers, the registrar, the governor: never over HTTP, demo or not.
    const keystore = user && DEMO_SIGN_IN_ROLES.has(user.role) ? o.keystoreOf(user.address) : undefined;
    if (!keystore) return reply.code(404).send({ error: 'no demo keystore for that address: sign in with your keystore file' });
    return reply.type('application/json').send(keystore);
  });

  app.post('/rpc', async (req, reply) => {
    const calls = (Array.isArray(req.body) ? req.body : [req.body]) as RpcCall[];
    const refused = calls.find((c) => typeof c?.method !== 'string' || !RPC_METHODS.has(c.method));
    if (refused) {
      return reply.code(403).send({ jsonrpc: '2.0', id: refused?.id ?? null, error: { code: -32601, message: `method not allowed through the relay: ${String(refused?.method)}` } });
    }
    const res = await fetch(o.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req.body) });
    return reply.code(res.status).type('application/json').send(await res.text());
  });

  // Live and past notifications, to the holder of the address's key only (notification-routes.ts).
  registerNotificationRoutes(app, o.hub, o.rpcUrl);

  registerOutbreakRoutes(app, o.outbreak);
  registerMlRoutes(app, o.models);
  registerStudyRoutes(app, o.studies);
  if (o.documents) app.register(documentRoutes(o.documents));

  // The single-page app: files from webRoot, index.html for every other path.
  app.get('/*', async (req, reply) => {
    const path = normalize(decodeURIComponent(req.url.split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
    const file = join(o.webRoot, path);
    const target = file.startsWith(o.webRoot) && existsSync(file) && statSync(file).isFile() ? file : join(o.webRoot, 'index.html');
    if (!existsSync(target)) return reply.code(503).type('text/plain').send('the web app is not built: run `npm run build`');
    const cache = target.includes(`${join(o.webRoot, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
    return reply.type(TYPES[extname(target)] ?? 'application/octet-stream').header('cache-control', cache).send(readFileSync(target));
  });
  return app;
}
