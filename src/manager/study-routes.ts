/**
 * Research studies on the EHR Manager (issue 16): the catalogue of study definitions sponsors
 * publish, each checked against the chain, with what the chain says about it (expiry, privacy budget
 * spent, rounds, enrolments, the recorded result), and the results a sponsor publishes after a run.
 * The chain holds only a study's hash; this is where a patient's manager finds the words behind it.
 * Nothing here is trusted blindly: a definition is stored only when the study it hashes to is on chain
 * (registered by the sponsor it names), and results only with the sponsor's signature.
 *
 *   GET  /api/studies[?patient=0x…]        every published study (with that patient's enrolment)
 *   POST /api/studies                      publish a definition (after registerStudy on chain) → 201
 *   GET  /api/studies/{studyId}[?patient=] one study
 *   GET  /api/studies/{studyId}/results    the sponsor's published results; 404 before a run
 *   PUT  /api/studies/{studyId}/results    {results, signature}: the sponsor's EIP-191 signature over
 *                                          studyResultsMessage(studyId, results)
 *
 * Errors are `{ error }`: 400 (not a definition, not an address), 404 (unknown study), 409 (the study
 * is not on chain as this definition), 403 (results not signed by the sponsor).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isAddress, verifyMessage, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { studyHash, validateStudy, type StudyDefinition } from '../protocol/research/study.js';
import { enrollmentsOf, isEnrolled, studyIdOf, studyMismatch, studyOf } from '../sdk/studies.js';
import type { StudyCatalogue } from './study-catalogue.js';
import { studyResultsMessage, type StudyEntry } from './web/lib/studies.js';

export interface StudyRoutesOptions {
  /** A read-only client of the deployment (with its StudyRegistry). */
  reader: LedgerClient;
  catalogue: StudyCatalogue;
}

const STUDY_ID = /^0x[0-9a-fA-F]{64}$/;

export function registerStudyRoutes(app: FastifyInstance, o: StudyRoutesOptions | undefined): void {
  const none = (reply: FastifyReply) => reply.code(404).send({ error: 'this manager has no study registry' });
  if (!o) {
    app.get('/api/studies', async (_req, reply) => none(reply));
    app.get('/api/studies/*', async (_req, reply) => none(reply));
    return;
  }
  const { reader, catalogue } = o;

  /** The published study with this id, or undefined. */
  const find = (studyId: string) =>
    catalogue.list().find(({ hash, definition }) => studyIdOf(definition.sponsor.address, hash).toLowerCase() === studyId.toLowerCase());

  app.get('/api/studies', async (req, reply) => {
    const patient = patientOf(req.query);
    if (patient === null) return reply.code(400).send({ error: 'patient must be an address' });
    const studies = await Promise.all(catalogue.list().map(({ hash, definition }) => entryOf(reader, catalogue, definition, hash, patient)));
    // A definition stored earlier always matched; listed only while it still does (a redeployed chain).
    return { studies: studies.filter((s): s is StudyEntry => !('error' in s)) };
  });

  app.post('/api/studies', async (req, reply) => {
    let definition: StudyDefinition;
    try {
      definition = validateStudy(req.body);
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message });
    }
    const hash = studyHash(definition);
    const entry = await entryOf(reader, catalogue, definition, hash, undefined);
    if ('error' in entry) return reply.code(409).send(entry);
    catalogue.put(hash, definition);
    return reply.code(201).send(entry);
  });

  app.get('/api/studies/:studyId', async (req, reply) => {
    const { studyId } = req.params as { studyId: string };
    const patient = patientOf(req.query);
    if (patient === null) return reply.code(400).send({ error: 'patient must be an address' });
    const found = STUDY_ID.test(studyId) ? find(studyId) : undefined;
    const entry = found && (await entryOf(reader, catalogue, found.definition, found.hash, patient));
    return entry && !('error' in entry) ? entry : reply.code(404).send({ error: `no published study ${studyId}` });
  });

  app.get('/api/studies/:studyId/results', async (req, reply) => {
    const { studyId } = req.params as { studyId: string };
    const results = STUDY_ID.test(studyId) ? catalogue.getResults(studyId as Hex) : undefined;
    return results ?? reply.code(404).send({ error: `no results published for study ${studyId}` });
  });

  app.put('/api/studies/:studyId/results', async (req, reply) => {
    const { studyId } = req.params as { studyId: string };
    const found = STUDY_ID.test(studyId) ? find(studyId) : undefined;
    if (!found) return reply.code(404).send({ error: `no published study ${studyId}` });
    const body = req.body as { results?: unknown; signature?: unknown } | undefined;
    if (!body || body.results === undefined || typeof body.signature !== 'string' || !/^0x[0-9a-fA-F]+$/.test(body.signature)) {
      return reply.code(400).send({ error: 'send {"results": …, "signature": "0x…"} signed by the study sponsor' });
    }
    const message = studyResultsMessage(studyId as Hex, body.results);
    const signed = await verifyMessage({ address: found.definition.sponsor.address, message, signature: body.signature as Hex }).catch(() => false);
    if (!signed) return reply.code(403).send({ error: 'the results are not signed by the study sponsor' });
    catalogue.putResults(studyId as Hex, body.results);
    return reply.code(204).send();
  });
}

/** undefined: no patient asked; null: not an address. */
function patientOf(query: unknown): Address | undefined | null {
  const p = (query as { patient?: string } | undefined)?.patient;
  if (p === undefined) return undefined;
  return isAddress(p, { strict: false }) ? (p as Address) : null;
}

/** The entry for a definition, or why the chain does not hold it as this definition. */
async function entryOf(reader: LedgerClient, catalogue: StudyCatalogue, definition: StudyDefinition, hash: Hex, patient: Address | undefined): Promise<StudyEntry | { error: string }> {
  const studyId = studyIdOf(definition.sponsor.address, hash);
  const onChain = await studyOf(reader, studyId);
  if (!onChain) return { error: `no study with this definition's hash (${hash}) is registered on chain by its sponsor ${definition.sponsor.address}: register it first` };
  const mismatch = studyMismatch(onChain, definition);
  if (mismatch) return { error: mismatch };
  const { result } = onChain;
  return {
    studyId,
    studyHash: hash,
    definition,
    chain: {
      sponsor: onChain.sponsor,
      expiresAt: new Date(onChain.expiresAt * 1000).toISOString(),
      expired: onChain.expiresAt * 1000 <= Date.now(),
      epsilonBudget: onChain.epsilonBudget,
      epsilonSpent: onChain.epsilonSpent,
      rounds: onChain.rounds,
      minSites: onChain.minSites,
      ...(result ? { result: { modelHash: result.modelHash, consentSetHash: result.consentSetHash } } : {}),
    },
    enrolled: (await enrollmentsOf(reader, studyId)).length,
    hasResults: catalogue.getResults(studyId) !== undefined,
    ...(patient ? { patientEnrolled: await isEnrolled(reader, studyId, patient) } : {}),
  };
}
