/** Consent in words: dates ("8 Dec 2026"), scopes with their provider ("Lab results from City Laboratory"), shares in a sentence. */
import { scopeLabel } from '../../../lib/fhir.js';
import type { Session } from '../../../lib/session.js';

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const DATE_TIME = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

/** "8 Dec 2026" for unix seconds. */
export const dateText = (unix: number): string => DATE.format(new Date(unix * 1000));
/** "8 Dec 2026, 14:05" for unix seconds or an ISO time. */
export const dateTimeText = (when: number | string): string => DATE_TIME.format(typeof when === 'number' ? new Date(when * 1000) : new Date(when));

// For queries scope-labels.ts has no name for: the resource type and its categories in words.
const TYPE_WORDS: Record<string, string> = {
  Observation: 'Observations',
  Condition: 'Conditions',
  DiagnosticReport: 'Reports',
  MedicationRequest: 'Medications',
  MedicationStatement: 'Medications you take',
  ServiceRequest: 'Orders and referrals',
  CarePlan: 'Care plans',
};
const CATEGORY_WORDS: Record<string, string> = {
  PAT: 'pathology',
  LAB: 'lab',
  RAD: 'radiology',
  CT: 'CT scans',
  outpatient: 'outpatient',
  inpatient: 'in hospital',
  community: 'community',
  discharge: 'at discharge',
};

/**
 * A scope or pointer query in words: "Lab results" (scope-labels.ts), or for one it has no name for,
 * its type and categories ("Reports (pathology)" for `DiagnosticReport?category=PAT`) — never the query.
 */
export function scopeWords(query: string): string {
  const label = scopeLabel(query);
  if (label !== query) return label;
  const [type = '', params = ''] = query.split('?');
  const typeLabel = scopeLabel(type);
  const base = TYPE_WORDS[type] ?? (typeLabel !== type ? typeLabel : type.replace(/(?<=[a-z])(?=[A-Z])/g, ' ').toLowerCase().replace(/^./, (c) => c.toUpperCase()));
  const categories = new URLSearchParams(params).getAll('category').flatMap((c) => c.split(',')).map((c) => c.split('|').pop()!).map((c) => CATEGORY_WORDS[c] ?? c.toLowerCase());
  return categories.length ? `${base} (${categories.join(', ')})` : base;
}

/** "Lab results from City Laboratory". */
export const recordsText = (s: Session, scope: string, provider: string): string => `${scopeWords(scope)} from ${s.nameOf(provider)}`;

/** "until 8 Dec 2026", "with no end date", or "ended 8 Dec 2026" against `now` (chain time). */
export function untilText(expiresAt: number, now: number): string {
  if (expiresAt === 0) return 'with no end date';
  return expiresAt <= now ? `ended ${dateText(expiresAt)}` : `until ${dateText(expiresAt)}`;
}

/** A viewer's name: a SMART app by its registered name, a known person by theirs, otherwise a short address. */
export type NameOf = (address: string) => string;
