/**
 * How one contract event changes the client's local state, and which notification it raises for
 * the user. Applying is idempotent per event (the caller inserts the event first and applies it only
 * if it was new), and replaying every stored event in order rebuilds the state exactly.
 */
import type { Address } from 'viem';
import type { Db } from '../records/db.js';
import { sql } from '../records/sql.js';
import type { Notification } from '../protocol/notifications.js';
import { grantTagOf } from '../sdk/grants.js';
import { hashQuery, patientOf, STATUSES } from '../sdk/relationships.js';

export interface ClientEvent {
  blockNumber: bigint;
  logIndex: number;
  txHash: string;
  name: string;
  /**
   * Event arguments: integers as decimal strings, addresses lower-case (also in arrays). A
   * ViewerRevoked also carries the `viewer` and `scope` its grant tag stands for, when the client
   * knows that grant (nameRevokedGrants).
   */
  args: Record<string, string | number | boolean | readonly string[]>;
}

/**
 * ViewerRevoked names the grant by its tag alone, keccak256(viewer ‖ scope) (MedLedger.grantTagOf:
 * a word less per revoke, README "Contract design and gas"). Adds the viewer and scope the tag
 * stands for, found among the grants kept (client_grants) and those granted in `events`, so that
 * deciding whom it concerns, its notification and its delete read it as they read ViewerGranted. A
 * revoke of a grant the client never kept (it concerned someone else) stays as it is.
 */
export async function nameRevokedGrants(tx: Db, events: readonly ClientEvent[]): Promise<ClientEvent[]> {
  const revokes = events.filter((e) => e.name === 'ViewerRevoked');
  if (revokes.length === 0) return [...events];
  const ids = [...new Set(revokes.map((e) => String(e.args.relationshipId)))];
  const kept = await tx.query<{ relationship_id: string; viewer: string; scope: string }>(
    sql`SELECT relationship_id, viewer, scope FROM client_grants WHERE relationship_id = ANY(${ids}::text[])`,
  );
  const granted = events
    .filter((e) => e.name === 'ViewerGranted')
    .map((e) => ({ relationship_id: String(e.args.relationshipId), viewer: String(e.args.viewer), scope: String(e.args.scope) }));
  const grants = new Map([...kept, ...granted].map((g) => [`${g.relationship_id}:${grantTagOf(g.viewer as Address, g.scope)}`, g]));
  return events.map((e) => {
    const grant = e.name === 'ViewerRevoked' ? grants.get(`${e.args.relationshipId}:${e.args.grantTag}`) : undefined;
    return grant ? { ...e, args: { ...e.args, viewer: grant.viewer, scope: grant.scope } } : e;
  });
}

export type { Notification } from '../protocol/notifications.js';

/** Whether an event concerns `user`, given the relationships the user is already part of. */
export function concerns(event: ClientEvent, user: Address, relationships: ReadonlySet<string>, providers: ReadonlySet<string>): boolean {
  const me = user.toLowerCase();
  const a = event.args;
  const id = a.relationshipId === undefined ? undefined : String(a.relationshipId);
  switch (event.name) {
    case 'RelationshipAdded':
      return a.patient === me || a.provider === me;
    case 'PointerAdded':
    case 'PointerUpdated':
    case 'PointerRemoved':
    case 'StatusChanged':
      return relationships.has(id!) || patientOf(BigInt(id!)).toLowerCase() === me;
    case 'ViewerGranted':
    case 'ViewerRevoked':
      return a.viewer === me || relationships.has(id!) || patientOf(BigInt(id!)).toLowerCase() === me;
    case 'AuditAnchored':
      return a.provider === me || providers.has(String(a.provider));
    case 'GuardiansSet':
      return a.patient === me || Array.isArray(a.guardians) && a.guardians.includes(me);
    case 'PatientRegistered':
    case 'RecoveryApproved':
    case 'RecoveryScheduled':
    case 'RecoveryCancelled':
      return a.patient === me;
    case 'BreakGlassOpened':
    case 'BreakGlassClosed':
      return a.patient === me || a.provider === me;
    case 'ControllerChanged':
      return a.patient === me || a.previous === me || a.controller === me;
    case 'DelegateSet':
      return a.patient === me || a.delegate === me;
    case 'ProviderAccredited':
    case 'AccreditationRevoked':
      return a.provider === me || providers.has(String(a.provider));
    default:
      return false;
  }
}

/** The notification an event raises for `user`, if any. */
export function notificationFor(event: ClientEvent, user: Address): Notification | undefined {
  const a = event.args;
  const id = a.relationshipId === undefined ? undefined : String(a.relationshipId);
  const note = (kind: Notification['kind'], payload: Record<string, unknown> = {}): Notification => ({
    kind,
    relationshipId: id,
    blockNumber: event.blockNumber.toString(),
    payload,
  });
  switch (event.name) {
    case 'RelationshipAdded':
      return a.patient === user.toLowerCase() ? note('new-record', { provider: a.provider }) : undefined;
    case 'PointerAdded':
      return note('new-record', { query: a.query });
    case 'PointerUpdated':
      return note('updated-record', { queryHash: a.queryHash });
    case 'PointerRemoved':
      return note('updated-record', { queryHash: a.queryHash, removed: true });
    case 'StatusChanged': {
      const status = STATUSES[Number(a.status)] ?? 'none';
      return note(status === 'awaiting-approval' ? 'awaiting-approval' : 'status-changed', { status });
    }
    case 'ViewerGranted':
      return note('grant-received', { viewer: a.viewer, scope: a.scope, expiresAt: Number(a.expiresAt) });
    case 'ViewerRevoked':
      return note('grant-revoked', { viewer: a.viewer });
    case 'AuditAnchored':
      // No count of entries: the event's `count` is the sequence numbers the anchor covers, which include
      // numbers the gatekeeper's log never used (MedLedger.anchorAudit), so it can exceed the entries.
      return note('audit-anchored', { provider: a.provider, root: a.root });
    case 'BreakGlassOpened':
      return note('break-glass', { patient: a.patient, provider: a.provider, reasonHash: a.reasonHash, expiresAt: Number(a.expiresAt) });
    case 'BreakGlassClosed':
      return note('break-glass', { patient: a.patient, provider: a.provider, closed: true, by: a.by });
    case 'RecoveryApproved':
      return note('recovery-approved', { guardian: a.guardian, candidate: a.candidate, approvals: Number(a.approvals) });
    case 'GuardiansSet':
      return a.patient === user.toLowerCase() ? undefined : note('guardian-named', { patient: a.patient, threshold: Number(a.threshold) });
    case 'RecoveryScheduled':
      return note('recovery-scheduled', { candidate: a.candidate, readyAt: Number(a.readyAt) });
    case 'ControllerChanged':
      return note('key-moved', { patient: a.patient, previous: a.previous, controller: a.controller });
    case 'DelegateSet':
      return note('delegate-set', { patient: a.patient, delegate: a.delegate, permissions: Number(a.permissions), expiresAt: Number(a.expiresAt) });
    default:
      return undefined;
  }
}

/**
 * What an event overwrites completely, so an earlier event with the same key in one batch need not
 * be written: a status, or a pointer's data hash (only by later pointer events).
 */
export function overwriteKey(event: ClientEvent): string | undefined {
  const id = String(event.args.relationshipId);
  if (event.name === 'StatusChanged') return `status:${id}`;
  if (event.name.startsWith('Pointer')) return `pointer:${id}:${event.args.queryHash}`;
  return undefined;
}

/** Applies one event to the derived tables. */
export async function applyEvent(tx: Db, event: ClientEvent): Promise<void> {
  const a = event.args;
  const id = a.relationshipId === undefined ? undefined : String(a.relationshipId);
  const block = event.blockNumber.toString();
  switch (event.name) {
    case 'RelationshipAdded':
      await tx.query(sql`INSERT INTO client_relationships (id, patient, provider, status, block_number)
        VALUES (${id}, ${a.patient}, ${a.provider}, 'new', ${block}) ON CONFLICT (id) DO NOTHING`);
      return;
    case 'PointerAdded':
      await tx.query(sql`INSERT INTO client_pointers (relationship_id, query_hash, query, data_hash)
        VALUES (${id}, ${a.queryHash}, ${a.query}, ${a.dataHash})
        ON CONFLICT (relationship_id, query_hash) DO UPDATE SET query = EXCLUDED.query, data_hash = EXCLUDED.data_hash`);
      return;
    case 'PointerUpdated':
      await tx.query(sql`UPDATE client_pointers SET data_hash = ${a.dataHash} WHERE relationship_id = ${id} AND query_hash = ${a.queryHash}`);
      return;
    case 'PointerRemoved':
      await tx.query(sql`DELETE FROM client_pointers WHERE relationship_id = ${id} AND query_hash = ${a.queryHash}`);
      return;
    case 'StatusChanged':
      await tx.query(sql`UPDATE client_relationships SET status = ${STATUSES[Number(a.status)] ?? 'none'}, block_number = ${block} WHERE id = ${id}`);
      return;
    case 'ViewerGranted':
      await tx.query(sql`INSERT INTO client_grants (relationship_id, viewer, scope_hash, scope, expires_at)
        VALUES (${id}, ${a.viewer}, ${hashQuery(String(a.scope))}, ${a.scope}, ${String(a.expiresAt)})
        ON CONFLICT (relationship_id, viewer, scope_hash) DO UPDATE SET scope = EXCLUDED.scope, expires_at = EXCLUDED.expires_at`);
      return;
    case 'ViewerRevoked':
      // Unnamed (nameRevokedGrants): a grant this client never kept.
      if (a.viewer === undefined) return;
      await tx.query(sql`DELETE FROM client_grants WHERE relationship_id = ${id} AND viewer = ${a.viewer} AND scope_hash = ${hashQuery(String(a.scope))}`);
      return;
  }
}

/**
 * Applies events in order, skipping writes a later event of the batch overwrites completely (a status
 * set twice, a pointer hash updated twice): the end state is the same, with far fewer statements.
 * Only PointerUpdated and StatusChanged are ever skipped; inserts and deletes always run.
 */
export async function applyEvents(tx: Db, events: readonly ClientEvent[]): Promise<void> {
  const last = new Map<string, number>();
  events.forEach((e, i) => {
    const key = overwriteKey(e);
    if (key) last.set(key, i);
  });
  for (const [i, e] of events.entries()) {
    const skippable = e.name === 'PointerUpdated' || e.name === 'StatusChanged';
    if (skippable && last.get(overwriteKey(e)!) !== i) continue;
    await applyEvent(tx, e);
  }
}
