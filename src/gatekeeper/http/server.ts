/**
 * The Database Gatekeeper: a FHIR R4 REST façade (https://hl7.org/fhir/R4/http.html) over one
 * provider's store. Every request is signed (or carries a session token from a signed login); the
 * requester's access is read from the chain, compiled into a SQL filter, and ANDed into the query —
 * nothing outside the grant is ever read. Every decision, permit or deny, is audited.
 *
 * This file assembles the server: bodies (json-body.ts), browser origins (cors.ts), the route table
 * (routes.ts, each route behind the audit wrapper in audited.ts), and one error shape for the rest.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { allowBrowserOrigins } from './cors.js';
import { createGatekeeperContext, FHIR_BASE, type GatekeeperDeps } from './context.js';
import { acceptJsonBodies } from './json-body.js';
import { capabilityStatement } from './metadata.js';
import { GatekeeperError, toOutcome } from './outcomes.js';
import { registerRoutes } from './routes.js';
import { registerSmartRoutes } from '../smart/routes.js';

export type { GatekeeperDeps } from './context.js';

export function buildGatekeeper(deps: GatekeeperDeps): FastifyInstance {
  const app = Fastify({ bodyLimit: deps.bodyLimit ?? 1_048_576, logger: false });
  if (deps.corsOrigins?.length) allowBrowserOrigins(app, deps.corsOrigins);
  acceptJsonBodies(app);

  // The one public route: what this server is (https://hl7.org/fhir/R4/http.html#capabilities).
  app.get(`${FHIR_BASE}/metadata`, async (req, reply) => reply.type('application/fhir+json').send(capabilityStatement(app, gk, req)));
  const gk = createGatekeeperContext(deps);
  registerRoutes(app, gk);
  registerSmartRoutes(app, gk);

  app.setNotFoundHandler((req, reply) => {
    const { status, body } = toOutcome(new GatekeeperError(404, `no route ${req.method} ${req.url.split('?')[0]}`));
    return reply.code(status).type('application/fhir+json').send(body);
  });
  // Refusals before a handler runs (a body: 400, 413, 415) and anything a handler did not catch.
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = toOutcome(err);
    return reply.code(status).type('application/fhir+json').send(body);
  });
  return app;
}
