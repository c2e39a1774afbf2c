/**
 * A notification in words for people (issue 18): names instead of addresses, "Lab results" instead
 * of a FHIR query, no block numbers. The technical facts (addresses, the block, the request) go in
 * `details`, which the page shows only behind a toggle.
 */
import { SCOPE_LABELS, scopeLabel } from '../../../../protocol/scope-labels.js';
import type { Notification } from '../../lib/notifications.js';

/** "Lab results" for a read like `GET /fhir/R4/Observation?category=laboratory&patient=…`; "your records" when nothing narrower fits. */
export function readLabel(request: unknown): string {
  if (typeof request !== 'string') return 'your records';
  const path = request.replace(/^[A-Z]+\s+/, '').replace(/^.*\/fhir\/R4\//, '');
  const [resource = '', query = ''] = path.split('?');
  const type = resource.split('/')[0] ?? '';
  const category = new URLSearchParams(query).get('category');
  const label = (category && SCOPE_LABELS[`${type}?category=${category}`]) || SCOPE_LABELS[type];
  return label ? `your ${label.toLowerCase()}` : 'your records';
}

const when = (unix: unknown) => (typeof unix === 'number' && unix > 0 ? new Date(unix * 1000).toLocaleString() : undefined);
const str = (x: unknown) => (typeof x === 'string' ? x : undefined);

/** The sentence for `n` as `me` reads it, and the technical details behind it. */
export function describe(n: Notification, me: string, nameOf: (a: string) => string): { text: string; details: string[] } {
  const p = n.payload;
  const mine = (a: unknown) => typeof a === 'string' && a.toLowerCase() === me.toLowerCase();
  const name = (a: unknown) => (typeof a === 'string' ? nameOf(a) : 'someone');
  const at = str(p.provider) ? ` at ${name(p.provider)}` : '';
  const scope = str(p.scope) ? scopeLabel(String(p.scope)) : str(p.query) ? scopeLabel(String(p.query)) : undefined;
  const details = [
    n.blockNumber !== '0' ? `Recorded on the chain in block ${n.blockNumber}` : 'Told by the provider (not on the chain)',
    ...['provider', 'viewer', 'guardian', 'candidate', 'controller', 'previous', 'delegate', 'patient']
      .filter((k) => str(p[k]))
      .map((k) => `${k}: ${name(p[k])} (${String(p[k])})`),
    ...(str(p.request) ? [`request: ${String(p.request)}`] : []),
  ];
  const text = ((): string => {
    switch (n.kind) {
      case 'new-record':
        return scope ? `New record from ${name(p.provider)}: ${scope}` : `New record from ${name(p.provider)}: you are now their patient`;
      case 'updated-record':
        return p.removed ? `Updated record from ${name(p.provider)}: a record was removed` : `Updated record from ${name(p.provider)}`;
      case 'awaiting-approval':
        return `Awaiting your approval: ${name(p.provider)} asks to keep your records`;
      case 'status-changed':
        return `Your records${at} are now ${String(p.status ?? 'changed')}`;
      case 'grant-received':
        return mine(p.viewer) ? `${scope ?? 'Records'}${at} shared with you` : `${name(p.viewer)} can now see your ${scope?.toLowerCase() ?? 'records'}${at}`;
      case 'grant-revoked':
        return mine(p.viewer) ? `A share with you${at} was withdrawn` : `${name(p.viewer)} can no longer see your records${at}`;
      case 'grant-expired':
        return mine(p.viewer) ? `Your access to ${scope ?? 'records'} ended (it expired)` : `${name(p.viewer)}'s access to your ${scope?.toLowerCase() ?? 'records'} expired`;
      case 'grant-used':
        return p.emergency
          ? `${name(p.viewer)} read ${readLabel(p.request)}${at} in an emergency (break-glass)`
          : `${name(p.viewer)} read ${readLabel(p.request)}${at}`;
      case 'break-glass':
        if (p.closed) return `Emergency access (break-glass) by ${name(p.provider)} was closed`;
        return mine(p.provider)
          ? `You opened emergency access (break-glass) to ${name(p.patient)}'s record${when(p.expiresAt) ? ` until ${when(p.expiresAt)}` : ''}`
          : `${name(p.provider)} opened emergency access (break-glass) to your record${when(p.expiresAt) ? ` until ${when(p.expiresAt)}` : ''}`;
      case 'recovery-approved':
        return `Moving your identity to a new key was approved by ${name(p.guardian)}: cancel it if you did not ask for it`;
      case 'recovery-scheduled':
        return `Your guardians scheduled moving your identity to a new key${when(p.readyAt) ? ` from ${when(p.readyAt)}` : ''}: cancel it if you did not ask for it`;
      case 'key-moved':
        return mine(p.patient) || mine(p.previous) ? 'Your identity moved to a new key' : `${name(p.patient)}'s identity moved to a new key`;
      case 'guardian-named':
        return `${name(p.patient)} named you one of their guardians`;
      case 'delegate-set':
        return Number(p.permissions) === 0 ? `${name(p.patient)} removed ${name(p.delegate)} as a delegate` : `${name(p.patient)} named ${name(p.delegate)} as a delegate`;
      case 'audit-anchored':
        return `${name(p.provider)} recorded its audit log on the chain${typeof p.count === 'number' ? ` (${p.count} entries)` : ''}`;
      default:
        return 'Something changed in your records';
    }
  })();
  return { text, details };
}
