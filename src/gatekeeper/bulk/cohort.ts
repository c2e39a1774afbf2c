/**
 * Who a `Group/{id}/$export` covers (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#endpoint---group-of-patients).
 *
 * A research study's cohort is a virtual Group whose id is the study id on chain (0x + 32 bytes): its
 * members are this provider's linked patients enrolled in the study now (research/consenting.ts), so a
 * patient who withdraws is out of the next export. Any other id names a stored Group resource (once
 * the store accepts Group), whose active `member.entity` Patients are the members. Either way the
 * export still returns only what the requester's grants cover.
 */
import type { Group } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { isSupportedType } from '../../records/fhir.js';
import { studyOf } from '../../sdk/studies.js';
import type { GatekeeperContext } from '../http/context.js';
import { GatekeeperError } from '../http/outcomes.js';
import { consentingPatients } from '../research/consenting.js';

const STUDY_ID = /^0x[0-9a-fA-F]{64}$/;

/** The local Patient ids of Group `id`'s members; 404 when there is no such Group. */
export async function groupMembers(gk: GatekeeperContext, id: string): Promise<string[]> {
  if (STUDY_ID.test(id)) {
    if (!(await studyOf(gk.ledger, id as Hex))) throw new GatekeeperError(404, `no study ${id} on chain`);
    return (await consentingPatients(gk.store, gk.ledger, id as Hex)).map((p) => p.id);
  }
  if (!isSupportedType('Group')) throw new GatekeeperError(404, `no Group ${id}: a Group here is a study id (0x + 64 hex digits)`);
  const group = await gk.store.read<Group>('Group', id);
  const now = Date.now();
  return (group.member ?? [])
    .filter((m) => !m.inactive && !(m.period?.end && Date.parse(m.period.end) < now))
    .flatMap((m) => (m.entity.reference?.startsWith('Patient/') ? [m.entity.reference.slice('Patient/'.length)] : []));
}
