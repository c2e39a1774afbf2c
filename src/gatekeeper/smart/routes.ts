/**
 * The SMART routes: discovery (https://hl7.org/fhir/smart-app-launch/conformance.html), the token
 * endpoint (token.ts) and app registration (apps.ts). Discovery, the token endpoint and reading a
 * registration are public; registering is for the provider's own signed requests.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fhirBaseUrl } from '../http/base-url.js';
import { FHIR_BASE, type GatekeeperContext, type Handler } from '../http/context.js';
import { GatekeeperError } from '../http/outcomes.js';
import { registerRoutes } from '../http/routes.js';
import { tokenUrl } from './authority.js';
import { findApp, listApps, registerApp } from './apps.js';
import { OAuthError, token } from './token.js';

/** The .well-known/smart-configuration document, as the client addressed this server. */
export function smartConfiguration(gk: GatekeeperContext, req: FastifyRequest): Record<string, unknown> {
  const launch = gk.smart?.authorizeUrl;
  return {
    issuer: fhirBaseUrl(req),
    jwks_uri: `${req.protocol}://${req.host}/smart/jwks`,
    ...(launch ? { authorization_endpoint: launch } : {}),
    token_endpoint: tokenUrl(req),
    grant_types_supported: [...(launch ? ['authorization_code', 'refresh_token'] : []), 'client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['ES384', 'RS384'],
    scopes_supported: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs', 'system/*.rs'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      ...(launch ? ['launch-standalone', 'client-public', 'context-standalone-patient', 'permission-offline', 'permission-patient', 'sso-openid-connect'] : []),
      'client-confidential-asymmetric',
      'permission-v2',
    ],
  };
}

/** POST /smart/apps: the provider registers an app. */
const register: Handler = async (gk, req, ctx) => {
  if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'only this provider registers apps');
  return { body: await registerApp(gk.db, (req.body as { json?: unknown } | undefined)?.json), status: 201 };
};

export function registerSmartRoutes(app: FastifyInstance, gk: GatekeeperContext): void {
  app.get(`${FHIR_BASE}/.well-known/smart-configuration`, async (req, reply) => reply.header('cache-control', 'no-store').send(smartConfiguration(gk, req)));
  app.get('/smart/jwks', async () => gk.smart!.jwks());
  app.get('/smart/apps', async () => listApps(gk.db));
  app.get('/smart/apps/:clientId', async (req, reply) => {
    const found = await findApp(gk.db, (req.params as { clientId: string }).clientId);
    if (!found) return reply.code(404).send({ error: 'no app registered under that client id' });
    const { jwks: _keys, ...shown } = found;
    return shown;
  });
  registerRoutes(app, gk, [{ method: 'POST', url: '/smart/apps', interaction: 'create', handler: register }]);
  // The token endpoint takes form bodies (RFC 6749 §4.1.3); only here, in its own plugin.
  void app.register(async (child) => {
    child.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
    child.post('/smart/token', async (req, reply) => {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      try {
        if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) throw new OAuthError('invalid_request', 'send the token request as application/x-www-form-urlencoded');
        return await token(gk, req, (req.body ?? {}) as Record<string, string>);
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        return reply.code(err.status).send({ error: err.error, error_description: err.message });
      }
    });
  });
}
