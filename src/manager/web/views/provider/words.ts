/**
 * The provider view's words: a relationship's status as the provider sees it, and a gatekeeper's
 * refusal with the OperationOutcome's own text ("The gatekeeper refused the search: Unknown search
 * parameter "foo" (400)") instead of a bare status.
 */
import type { Status } from '../../../../sdk/relationships.js';
import { GatekeeperRequestError } from '../../../../sdk/gatekeeper.js';
import { describe } from '../../lib/use.js';

export const STATUS_WORDS: Record<Status, string> = {
  none: 'Not on MedLedger yet',
  new: 'New: the patient has not answered yet',
  updated: 'Updated: the patient has not seen the latest records yet',
  'awaiting-approval': "Awaiting the patient's approval",
  accepted: 'Accepted by the patient',
  rejected: 'Rejected by the patient: nothing of it is shared',
};

/** "The gatekeeper refused <what>: <OperationOutcome text> (<status>)"; other errors as `describe` words them. */
export function refusalText(what: string, err: unknown): string {
  if (err instanceof GatekeeperRequestError) return `The gatekeeper refused ${what}: ${err.detail || 'it gave no reason'} (${err.status}).`;
  return describe(err);
}
