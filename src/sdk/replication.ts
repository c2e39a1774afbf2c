/**
 * Backup among providers (src/gatekeeper/replica.ts): the patient's consent is a set of ordinary
 * grants — the replicating provider, as a viewer, on every pointer of the relationship with the
 * source provider — plus a signed replication consent that lets the source include sensitive-labelled
 * records (src/gatekeeper/replication-consent.ts). The replicating provider's gatekeeper copies and
 * verifies on `$sync`.
 *
 * @example
 * const { consent } = await allowReplication(patientClient, { source: stMarys, replica: cityLab });
 * await replicateRecords(cityLabGatekeeper, { source: stMarys, patient, sourceUrl: 'http://st-marys:8081', consent });
 */
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import type { ReplicationResult } from '../protocol/replication-consent.js';
import { signReplicationConsent } from '../protocol/replication-consent.js';
import type { GatekeeperClient } from './gatekeeper.js';
import { grantViewer, revokeViewer } from './grants.js';
import { readSummary } from './summary.js';

/** The caller's (a patient's) relationship with `source`, read from the chain. */
async function relationshipWith(client: LedgerClient, source: Address) {
  if (!client.account) throw new Error('replication consent needs the patient account');
  const summary = await readSummary(client, client.account.address);
  const rel = summary.relationships.find((r) => r.provider.toLowerCase() === source.toLowerCase());
  if (!rel) throw new Error(`no relationship with ${source}`);
  return rel;
}

/**
 * The patient lets `replica` keep a copy of what `source` holds for them: grants `replica` every
 * pointer query of the relationship not granted yet (`expiresAt` 0 = until revoked), and signs the
 * replication consent (no transaction) that `replica` presents so sensitive-labelled records are
 * copied too. A pointer the source adds later needs another call. Returns the queries granted now.
 */
export async function allowReplication(
  client: LedgerClient,
  { source, replica, expiresAt = 0 }: { source: Address; replica: Address; expiresAt?: number },
): Promise<{ granted: string[]; consent: Hex }> {
  const rel = await relationshipWith(client, source);
  const held = new Set(rel.grants.filter((g) => g.viewer.toLowerCase() === replica.toLowerCase() && g.expiresAt === expiresAt).map((g) => g.scope));
  const granted = rel.pointers.map((p) => p.query).filter((q) => !held.has(q));
  for (const scope of granted) await grantViewer(client, { relationshipId: BigInt(rel.id), viewer: replica, scope, expiresAt });
  const consent = await signReplicationConsent(client.account!, { source, replica, chainId: client.chainId, contract: client.contract });
  return { granted, consent };
}

/** The patient withdraws every grant `replica` holds on the relationship with `source`; its copy stops being served at once. */
export async function withdrawReplication(client: LedgerClient, { source, replica }: { source: Address; replica: Address }): Promise<string[]> {
  const rel = await relationshipWith(client, source);
  const scopes = rel.grants.filter((g) => g.viewer.toLowerCase() === replica.toLowerCase()).map((g) => g.scope);
  for (const scope of scopes) await revokeViewer(client, { relationshipId: BigInt(rel.id), viewer: replica, scope });
  return scopes;
}

/**
 * Asks the replicating provider's gatekeeper to bring its copy of `source`'s records for `patient` up
 * to date (`POST /replica/{source}/Patient/{patient}/$sync`). The provider itself names `sourceUrl`
 * (required the first time); the patient may trigger a sync to the URL the provider last used. Either
 * may hand over the patient's `consent` (from allowReplication); it is kept for later syncs.
 */
export async function replicateRecords(
  gatekeeper: GatekeeperClient,
  { source, patient, sourceUrl, consent }: { source: Address; patient: Address; sourceUrl?: string; consent?: Hex },
): Promise<ReplicationResult> {
  const path = `/replica/${source.toLowerCase()}/Patient/${patient.toLowerCase()}/$sync`;
  return (await gatekeeper.post<ReplicationResult>(path, { ...(sourceUrl ? { url: sourceUrl } : {}), ...(consent ? { consent } : {}) })).body;
}
