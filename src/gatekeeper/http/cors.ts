/**
 * Cross-origin access for browser apps such as the EHR Manager (https://fetch.spec.whatwg.org/#http-cors-protocol).
 * Requests are authenticated by their signature, not by cookies, so no credentials are allowed and
 * origin checks add nothing to security; the list only limits which web apps may call from a browser.
 */
import type { FastifyInstance } from 'fastify';
import { HEADERS } from '../../protocol/headers.js';
import { BREAK_GLASS_HEADER } from '../../protocol/headers.js';
import { POINTER_HEADERS } from '../publish/freshness.js';

export function allowBrowserOrigins(app: FastifyInstance, origins: readonly string[]): void {
  const allowed = (origin: string | undefined) => origin !== undefined && (origins.includes('*') || origins.includes(origin));
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (!allowed(origin)) return;
    reply.header('access-control-allow-origin', origins.includes('*') ? '*' : origin!);
    reply.header('vary', 'origin');
    reply.header('access-control-expose-headers', [HEADERS.dataHash, ...Object.values(POINTER_HEADERS)].join(', '));
    if (req.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'GET, POST, PUT, DELETE');
      reply.header('access-control-allow-headers', ['content-type', 'authorization', ...Object.values(HEADERS), BREAK_GLASS_HEADER].join(', '));
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
}
