/**
 * `medledger patient list` and `provider relationships` for people: providers and viewers by name,
 * scopes in plain words ("Lab results"), statuses coloured on a terminal, and the relationship named
 * by its provider, which every patient command accepts in place of the relationship id.
 */
import type { RelationshipState, Summary } from '../sdk/summary.js';
import { scopeLabel } from '../protocol/scope-labels.js';
import { loadUsers } from '../keys/users.js';
import { paint, table, type Colour } from './output.js';

/** Display names of the users of a data directory: label, else name, else a shortened address. */
export function namesOf(dataDir: string): (address: string) => string {
  const users = new Map(loadUsers(dataDir).map((u) => [u.address.toLowerCase(), u]));
  return (address) => {
    const u = users.get(address.toLowerCase());
    return u ? (u.label ?? u.name) : `${address.slice(0, 6)}…${address.slice(-4)}`;
  };
}

/** The name a command takes for an address (`check st-marys`), when it is a user of the data directory. */
export function handleOf(dataDir: string): (address: string) => string | undefined {
  const users = new Map(loadUsers(dataDir).map((u) => [u.address.toLowerCase(), u.name]));
  return (address) => users.get(address.toLowerCase());
}

const STATUS_COLOURS: Record<string, Colour> = { accepted: 'green', rejected: 'red', 'awaiting-approval': 'yellow', new: 'bold', updated: 'bold' };
const STATUS_WORDS: Record<string, string> = { 'awaiting-approval': 'awaiting your approval' };

const until = (expiresAt: number) => (expiresAt ? new Date(expiresAt * 1000).toISOString().slice(0, 10) : 'until revoked');

export interface PeopleFormat {
  nameOf: (address: string) => string;
  handleOf: (address: string) => string | undefined;
  colour: boolean;
  now: number;
}

/** A patient's Summary: one row per provider, then everyone it is shared with. */
export function formatSummary(summary: Summary, f: PeopleFormat): string {
  if (summary.relationships.length === 0) return `${f.nameOf(summary.patient)} has no records at any provider yet.`;
  const status = (r: RelationshipState) => paint(STATUS_WORDS[r.status] ?? r.status, STATUS_COLOURS[r.status] ?? 'bold', f.colour);
  const rows = summary.relationships.map((r) => [f.nameOf(r.provider), f.handleOf(r.provider) ?? r.id, status(r), r.pointers.map((p) => scopeLabel(p.query)).join(', ') || '—']);
  const lines = [`Records of ${f.nameOf(summary.patient)}`, '', table([['provider', 'name in commands', 'status', 'records'], ...rows])];
  const shares = summary.relationships.flatMap((r) =>
    r.grants.map((g) => {
      const expired = g.expiresAt !== 0 && g.expiresAt <= f.now;
      return [f.nameOf(g.viewer), scopeLabel(g.scope), f.nameOf(r.provider), expired ? paint(`expired ${until(g.expiresAt)}`, 'dim', f.colour) : until(g.expiresAt)];
    }),
  );
  lines.push('', shares.length ? table([['shared with', 'what', 'from', 'until'], ...shares]) : 'Not shared with anyone.');
  return lines.join('\n');
}

/** A provider's relationships: one row per patient. */
export function formatProviderRelationships(relationships: readonly { relationshipId: bigint; patient: string }[], f: PeopleFormat): string {
  if (relationships.length === 0) return 'No relationships yet.';
  return table([['patient', 'name in commands', 'relationship id'], ...relationships.map((r) => [f.nameOf(r.patient), f.handleOf(r.patient) ?? '—', r.relationshipId.toString()])]);
}
