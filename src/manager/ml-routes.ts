/**
 * The model service's JSON API on the EHR Manager (README "API"): the served models' cards and
 * documents, and stateless assessment of one patient's records for clients that cannot run the
 * models themselves. The manager holds no patient data: an assessment request carries the records the
 * caller already read through a gatekeeper, the answer is computed and returned, and nothing of it is
 * stored or logged (the server's logger is off; responses are marked no-store).
 *
 *   GET  /api/ml/models                   the cards of every served model
 *   GET  /api/ml/models/{id}              the model document (card + parameters) a reader runs
 *   GET  /api/ml/models/{id}/card         one card
 *   POST /api/ml/heart-risk/assess        FHIR Bundle or {resources: […]} of one patient → {assessment, similar, advice}
 *   POST /api/ml/breast-cytology/assess   the same for a cytology report → {assessment, similar, advice: []}
 */
import type { FastifyInstance } from 'fastify';
import type { Identifier, Patient, Resource } from '@medplum/fhirtypes';
import { assessBreastCytology, findSimilarCytology } from '../ml/breast/assess.js';
import type { BreastCytologyModelDocument } from '../ml/breast/types.js';
import { adviseHeart, assessHeartRisk, findSimilarCases } from '../ml/heart/assess.js';
import type { HeartRiskModelDocument } from '../ml/heart/types.js';
import type { ModelRegistry } from '../ml/registry.js';

/** Each assessable model: what a POST to /api/ml/{id}/assess answers. */
const ASSESSORS: Record<string, (doc: unknown, resources: Resource[]) => unknown> = {
  'heart-risk': (doc, resources) => {
    const d = doc as HeartRiskModelDocument;
    const assessment = assessHeartRisk(d, resources);
    return { assessment, similar: findSimilarCases(d, resources), advice: adviseHeart(d, resources, assessment) };
  },
  'breast-cytology': (doc, resources) => {
    const d = doc as BreastCytologyModelDocument;
    return { assessment: assessBreastCytology(d, resources), similar: findSimilarCytology(d, resources), advice: [] };
  },
};

/** The resources of a request body, or why it is not one patient's FHIR records. */
export function resourcesOfBody(body: unknown): { resources: Resource[] } | { error: string } {
  if (!body || typeof body !== 'object') return { error: 'send a FHIR Bundle or {"resources": [...]} of one patient as JSON' };
  const b = body as { resourceType?: unknown; entry?: unknown; resources?: unknown };
  let list: unknown;
  if (b.resourceType === 'Bundle') {
    if (b.entry !== undefined && !Array.isArray(b.entry)) return { error: 'Bundle.entry must be an array' };
    list = ((b.entry as { resource?: unknown }[] | undefined) ?? []).map((e) => e?.resource);
  } else if (Array.isArray(b.resources)) list = b.resources;
  else return { error: 'send a FHIR Bundle or {"resources": [...]} of one patient as JSON' };
  const resources = list as unknown[];
  const bad = resources.findIndex((r) => !r || typeof r !== 'object' || typeof (r as Resource).resourceType !== 'string');
  if (bad >= 0) return { error: `resource ${bad} is not a FHIR resource (no resourceType)` };
  const patients = (resources as Resource[]).filter((r): r is Patient => r.resourceType === 'Patient');
  if (!samePerson(patients)) return { error: `the records hold ${patients.length} Patient resources with no identifier in common: send one patient's records` };
  return { resources: resources as Resource[] };
}

/** Patient copies (one per provider) are one person when every pair shares an identifier (system and value). */
function samePerson(patients: readonly Patient[]): boolean {
  const key = (i: Identifier) => `${i.system ?? ''}|${i.value ?? ''}`;
  const [first, ...rest] = patients;
  if (!first) return true;
  const ids = new Set((first.identifier ?? []).map(key));
  return rest.every((p) => (p.id !== undefined && p.id === first.id) || (p.identifier ?? []).some((i) => ids.has(key(i))));
}

export function registerMlRoutes(app: FastifyInstance, models: ModelRegistry | undefined): void {
  void app.register(async (scope) => {
    // FHIR's own media type (https://hl7.org/fhir/R4/http.html#mime-type), parsed as JSON here only.
    scope.addContentTypeParser('application/fhir+json', { parseAs: 'string' }, scope.getDefaultJsonParser('error', 'error'));
    const served = (id: string) => models?.get(id);
    const unknown = (id: string) => ({ error: `no model "${id}": the served models are ${(models?.list() ?? []).map((c) => c.id).join(', ') || 'none'}` });

    scope.get('/api/ml/models', async () => models?.list() ?? []);
    scope.get('/api/ml/models/:id', async (req, reply) => {
      const { id } = req.params as { id: string };
      const model = served(id);
      if (!model?.document) return reply.code(404).send(unknown(id));
      return model.document;
    });
    scope.get('/api/ml/models/:id/card', async (req, reply) => {
      const { id } = req.params as { id: string };
      const model = served(id);
      return model ? model.card : reply.code(404).send(unknown(id));
    });
    scope.post('/api/ml/:id/assess', async (req, reply) => {
      const { id } = req.params as { id: string };
      const model = served(id);
      const assess = ASSESSORS[id];
      if (!model?.document || !assess) return reply.code(404).send(unknown(id));
      const body = resourcesOfBody(req.body);
      if ('error' in body) return reply.code(400).send(body);
      return reply.header('cache-control', 'no-store').send(assess(model.document, body.resources));
    });
  });
}
