/**
 * JSON Patch (RFC 6902, https://hl7.org/fhir/R4/http.html#patch) applied to a stored resource, with
 * fast-json-patch. The result is validated like any update (store.ts); a patch may not change what
 * the resource is (`resourceType`, `id`) nor its `meta` bookkeeping, and a failed `test` is a 422.
 */
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { Resource } from '@medplum/fhirtypes';
import { GatekeeperError } from './outcomes.js';

const { applyPatch, JsonPatchError } = fastJsonPatch;

/** Paths a patch may not touch: the store owns them. */
const FIXED = /^\/(?:resourceType|id|meta\/versionId|meta\/lastUpdated)(?:\/|$)/;

/** `current` with `operations` applied (a copy); 400 for a malformed patch, 422 for a failed `test`. */
export function applyJsonPatch(current: Resource, operations: unknown): Resource {
  if (!Array.isArray(operations) || operations.length === 0) throw new GatekeeperError(400, 'a PATCH body must be a non-empty JSON Patch array (application/json-patch+json)');
  for (const op of operations as Operation[]) {
    if (typeof op?.path !== 'string') throw new GatekeeperError(400, 'each JSON Patch operation needs a path');
    if (FIXED.test(op.path) && op.op !== 'test') throw new GatekeeperError(400, `a patch may not change ${op.path}`);
  }
  try {
    // validate: unknown ops and bad paths throw; prototype paths are refused (banPrototypeModifications, the default).
    return applyPatch(structuredClone(current), operations as Operation[], true, false).newDocument;
  } catch (err) {
    if (err instanceof JsonPatchError && err.name === 'TEST_OPERATION_FAILED') throw new GatekeeperError(422, `JSON Patch test failed at ${err.operation?.path}`);
    if (err instanceof JsonPatchError) throw new GatekeeperError(400, `JSON Patch: ${err.message.split('\n')[0]}`);
    throw err;
  }
}
