/**
 * The gatekeeper's own operations: the session login, the provider's Registrar link, a patient's
 * audit trail, and Patient/$verify (records checked against the hashes on chain).
 */
import type { FastifyRequest } from 'fastify';
import type { Address } from 'viem';
import { auditTrail } from '../audit/audit.js';
import { linkPatient } from '../publish/publish.js';
import { verifyPointers } from '../publish/verify.js';
import type { Answer, Ctx, GatekeeperContext } from './context.js';
import type { JsonBody } from './json-body.js';
import { GatekeeperError } from './outcomes.js';

/** POST /auth/login: a session token for the signer (auth/tokens.ts). */
export async function login(gk: GatekeeperContext, _req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  return { body: gk.tokens.issue(ctx.address) };
}

/**
 * POST /registrar/link `{ "identity": "system|value" }`: the provider's own apps find a patient in the
 * Registrar by identity, link the local Patient to the address, and publish pointers to what the
 * provider holds for them.
 */
export async function linkRegistrarPatient(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  if (ctx.requester.role !== 'provider') throw new GatekeeperError(403, 'only the provider links its patients');
  if (!gk.pepper) throw new GatekeeperError(501, 'this gatekeeper has no identity pepper configured');
  const identity = ((req.body as JsonBody | undefined)?.json as { identity?: unknown } | undefined)?.identity;
  const m = typeof identity === 'string' ? /^([^|\s]{1,200})\|([^|\s]{1,200})$/.exec(identity) : null;
  if (!m) throw new GatekeeperError(400, 'identity must be "system|value", e.g. urn:medledger:demo-mrn|100001');
  const local = await gk.store.findPatientByIdentifier(m[1]!, m[2]!);
  if (!local?.id) throw new GatekeeperError(404, 'no local patient has that identifier');
  let address: Address;
  try {
    address = await linkPatient(gk.store, gk.ledger, local.id, identity as string, gk.pepper);
  } catch (err) {
    throw new GatekeeperError(404, (err as Error).message);
  }
  const published = await gk.publisher.sync(local.id, { chainQueries: false });
  return { body: { address, patientId: local.id, published } };
}

/** GET /audit: the requesting patient's "who read my data" at this provider. */
export async function patientAuditTrail(gk: GatekeeperContext, _req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  if (!ctx.patientId) throw new GatekeeperError(403, 'only a patient of this provider has an audit trail here');
  return { body: { provider: gk.provider, entries: await auditTrail(gk.db, ctx.patientId) } };
}

/** GET /fhir/R4/Patient/{id}/$verify: the patient's records against their pointer hashes on chain, and hashes still being published. */
export async function verify(gk: GatekeeperContext, req: FastifyRequest, ctx: Ctx): Promise<Answer> {
  const { id } = req.params as { id: string };
  if (!(ctx.requester.role === 'provider' || ctx.patientId === id)) throw new GatekeeperError(403, '$verify is for the patient and their provider');
  return { body: await verifyPointers(gk.store, gk.ledger, gk.provider, id, gk.publisher) };
}
