/**
 * The consent compiler: who is asking + their on-chain grants + the SMART scopes they present →
 * an AccessPolicy (deny by default) → one SQL filter the gatekeeper ANDs into every read and search.
 * Pure functions, modelled on Medplum's packages/core/src/access.ts.
 *
 * Each rule carries its constraints as fields (patient, category lists, excluded labels) and the SQL is
 * built from those fields, every value a placeholder. `criteria` restates the rule as a FHIR search
 * for people and logs; nothing parses it back.
 */
import type { AccessPolicy, AccessPolicyResource } from '@medplum/fhirtypes';
import { anyToken, noToken } from '../records/search.js';
import { and, or, sql, type Sql } from '../records/sql.js';
import { parsePointerQuery } from '../protocol/pointer-query.js';
import { intersectScopes, parseScopes, type ResourceScope, type SmartScope } from './smart.js';
import { EMERGENCY_DATA_SET } from './emergency.js';

/**
 * Security labels that hide a resource from every third-party viewer, whatever the grant says. A
 * grant shares a *kind* of data ("Observation?category=laboratory"), and a lab result that reveals HIV
 * status is still a lab result; these labels are how FHIR marks such records
 * (https://hl7.org/fhir/R4/security-labels.html). The patient and their own provider still see them.
 */
export const SENSITIVE_LABELS = [
  // Confidentiality: restricted / very restricted — the author limited it to the patient's care team.
  ...['R', 'V'].map((code) => ({ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code })),
  // Information sensitivity (v3-ActCode _InformationSensitivityPolicy): HIV/AIDS, psychiatry, substance
  // use disorder, substance abuse, sexually transmitted disease, sexual assault/abuse/domestic violence,
  // sexuality and reproductive health. https://terminology.hl7.org/CodeSystem-v3-ActCode.html
  ...['HIV', 'PSY', 'SUD', 'ETH', 'STD', 'SDV', 'SEX'].map((code) => ({
    system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
    code,
  })),
] as const;

/**
 * The `security` column values that exclude a resource: `system|code`, and the bare `code` too, so a
 * label written without a system (or with a legacy system URI) still hides it. A same-code label of an
 * unrelated system hides a resource as well — erring towards not disclosing.
 */
const SENSITIVE_TOKENS: readonly string[] = SENSITIVE_LABELS.flatMap(({ system, code }) => [`${system}|${code}`, code]);

/**
 * "Directory" resources: who and where care is given (https://hl7.org/fhir/R4/administration-module.html),
 * never in a patient's compartment, so they carry no patient data. Anyone this provider already shares
 * with — the patient themself, a viewer holding a live grant, delegation or break-glass here — may
 * read them, so that the Practitioner, Organization or Location a granted Encounter names can be
 * resolved. Only rows with no patient are covered (`patient_id IS NULL`), whatever the type.
 * A requester with nothing live here reads none of them (deny by default still holds).
 */
export const DIRECTORY_TYPES = ['Organization', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService', 'Endpoint', 'Medication', 'Substance'] as const;

/** A grant to a viewer (MedLedger grantViewer): a scope of one patient's records, until an expiry. */
export interface ViewerGrant {
  /** The patient's id in this store. */
  patientId: string;
  /** The on-chain grant scope, e.g. `Observation?category=laboratory` (src/protocol/pointer-query.ts). */
  scope: string;
  /** Unix seconds; 0 = no expiry (MedLedger.sol grantViewer). */
  expiresAt: number;
}

/** A delegate holding the read permission (MedLedger setDelegate): the patient's records, no sensitive labels. */
export interface DelegateRead {
  patientId: string;
  /** Unix seconds; 0 = no expiry. */
  expiresAt: number;
}

/** An open break-glass (MedLedger openBreakGlass): the patient's emergency data set (emergency.ts), no sensitive labels. */
export interface EmergencyRead {
  patientId: string;
  /** Unix seconds. */
  expiresAt: number;
  /** The reason the provider stated, checked against the chain. */
  reason: string;
}

export type Requester =
  | { role: 'provider' } // this gatekeeper's own provider: every resource
  | { role: 'patient'; patientId: string } // the patient: all of their own resources, every label
  // a third party: granted slices, what patients delegated, an emergency set; never sensitive labels
  | { role: 'viewer'; grants: readonly ViewerGrant[]; delegations?: readonly DelegateRead[]; emergencies?: readonly EmergencyRead[] };

export type ReadInteraction = 'read' | 'search';
type RuleInteraction = 'read' | 'vread' | 'history' | 'search';

/** One AccessPolicy.resource entry with its constraints as fields (all AND-ed). */
export interface ConsentRule extends AccessPolicyResource {
  readonly: true;
  interaction: RuleInteraction[];
  /** Only this patient's resources (`patient_id`); absent = every patient (the provider). */
  patientId?: string;
  /** Each list is one `categories && list` test: a bare code or `system|code`, OR-ed within a list. */
  categories: string[][];
  /** Each list is one `codes && list` test, like categories (the emergency data set's blood type). */
  codes?: string[][];
  /** Resources whose `security` holds any of these are left out. */
  excludeSecurity: readonly string[];
  /** Only resources in nobody's compartment (`patient_id IS NULL`): the DIRECTORY_TYPES rules. */
  directory?: true;
}

export interface ConsentPolicy extends AccessPolicy {
  resource: ConsentRule[];
  /** Why grants or scopes gave nothing, for explainDenial; resourceType `*` = any type. `expired`: an
   * expired grant (the gatekeeper answers 410 rather than 403). */
  denials: { resourceType: string; reason: string; expired?: true }[];
}

/**
 * Compiles a requester into a policy. Expired or malformed grants are dropped; when `scopes` are given
 * (the SMART scopes of the presented token) every rule is intersected with them, so a token with only
 * `openid` reads nothing — unlike Medplum's applySmartScopes, no resource scope means no data.
 */
export function compilePolicy(requester: Requester, options: { scopes?: readonly string[]; now: number }): ConsentPolicy {
  if (!Number.isFinite(options.now)) throw new RangeError('now must be unix seconds');
  const denials: ConsentPolicy['denials'] = [];
  let rules = baseRules(requester, options.now, denials);
  if (requester.role !== 'provider' && rules.length > 0) rules = [...rules, ...DIRECTORY_TYPES.map((type) => rule(type, { directory: true }))];
  if (options.scopes) {
    const scopes = options.scopes.flatMap(parseScopes);
    rules = rules.flatMap((r) => narrow(r, scopes, denials));
  }
  return { resourceType: 'AccessPolicy', resource: rules, denials };
}

function baseRules(requester: Requester, now: number, denials: ConsentPolicy['denials']): ConsentRule[] {
  if (requester.role === 'provider') return [rule('*', {})];
  if (requester.role === 'patient') {
    if (requester.patientId) return [rule('*', { patientId: requester.patientId })];
    denials.push({ resourceType: '*', reason: 'the requester has no patient id' });
    return [];
  }
  const granted = requester.grants.flatMap((grant) => {
    let query;
    try {
      query = parsePointerQuery(grant.scope); // the contract cannot check it, so readers must
    } catch {
      const type = grant.scope.split('?')[0] ?? '';
      denials.push({ resourceType: type, reason: `grant scope "${grant.scope.slice(0, 80)}" is not an on-chain-safe query` });
      return [];
    }
    // Same test as MedLedger.checkAccess, written so that NaN counts as expired.
    if (!(grant.expiresAt === 0 || grant.expiresAt > now)) {
      denials.push({ resourceType: query.resourceType, reason: `the grant "${grant.scope}" expired at ${grant.expiresAt}`, expired: true });
      return [];
    }
    if (!grant.patientId) {
      denials.push({ resourceType: query.resourceType, reason: `the grant "${grant.scope}" names no patient` });
      return [];
    }
    // On-chain categories are bare codes; the column holds bare and system|code, so bare matches both.
    const categories = query.categories.length ? [query.categories] : [];
    return [rule(query.resourceType, { patientId: grant.patientId, categories, excludeSecurity: SENSITIVE_TOKENS })];
  });
  return [...granted, ...delegateRules(requester.delegations ?? [], now, denials), ...emergencyRules(requester.emergencies ?? [], now, denials)];
}

/** Read delegates see every type of the patient's, as a third party would (sensitive labels excluded). */
function delegateRules(delegations: readonly DelegateRead[], now: number, denials: ConsentPolicy['denials']): ConsentRule[] {
  return delegations.flatMap((d) => {
    if (!(d.expiresAt === 0 || d.expiresAt > now)) {
      denials.push({ resourceType: '*', reason: `the delegation expired at ${d.expiresAt}`, expired: true });
      return [];
    }
    return d.patientId ? [rule('*', { patientId: d.patientId, excludeSecurity: SENSITIVE_TOKENS })] : [];
  });
}

/** Break-glass: the emergency data set only, until the opening expires (0 is not "never" here). */
function emergencyRules(emergencies: readonly EmergencyRead[], now: number, denials: ConsentPolicy['denials']): ConsentRule[] {
  return emergencies.flatMap((e) =>
    EMERGENCY_DATA_SET.flatMap((set) => {
      if (!(e.expiresAt > now) || !e.patientId) {
        denials.push({ resourceType: set.resourceType, reason: `the break-glass opening expired at ${e.expiresAt}`, expired: true });
        return [];
      }
      const categories = set.categories ? [[...set.categories]] : [];
      const codes = set.codes ? [[...set.codes]] : [];
      return [rule(set.resourceType, { patientId: e.patientId, categories, codes, excludeSecurity: SENSITIVE_TOKENS })];
    }),
  );
}

/** The part of `r` that the presented scopes also allow, as rules. */
function narrow(r: ConsentRule, scopes: readonly SmartScope[], denials: ConsentPolicy['denials']): ConsentRule[] {
  const asScope: ResourceScope = {
    kind: 'resource',
    context: r.patientId === undefined ? 'system' : 'patient',
    resourceType: r.resourceType,
    permissions: `${r.interaction.includes('read') ? 'r' : ''}${r.interaction.includes('search') ? 's' : ''}`,
    params: r.categories.map((values) => ({ name: 'category', values })),
  };
  const out: ConsentRule[] = [];
  for (const s of intersectScopes([asScope], scopes)) {
    if (s.kind !== 'resource') continue;
    // SMART: patient/ scopes are bound to the patient in context; the provider rule has none.
    // (Directory resources are in nobody's compartment: a patient/ scope may cover them.)
    if (s.context === 'patient' && r.patientId === undefined && !r.directory) {
      denials.push({ resourceType: s.resourceType, reason: 'a patient/ scope needs a patient in context' });
      continue;
    }
    // Only category can be compiled to SQL; a constraint we cannot enforce must not become "no constraint".
    const unknown = s.params.filter((p) => p.name !== 'category').map((p) => p.name);
    if (unknown.length) {
      denials.push({
        resourceType: s.resourceType,
        reason: `the gatekeeper cannot enforce scope parameter ${unknown.join(', ')}`,
      });
      continue;
    }
    const interaction: RuleInteraction[] = [
      ...(s.permissions.includes('r') ? (['read', 'vread', 'history'] as const) : []),
      ...(s.permissions.includes('s') ? (['search'] as const) : []),
    ];
    const categories = s.params.map((p) => [...p.values]);
    out.push(rule(s.resourceType, { patientId: r.patientId, categories, codes: r.codes, excludeSecurity: r.excludeSecurity, interaction, directory: r.directory }));
  }
  if (!out.some((o) => o.resourceType === r.resourceType)) {
    denials.push({ resourceType: r.resourceType, reason: 'the SMART scopes presented do not include it' });
  }
  return out;
}

function rule(
  resourceType: string,
  c: { patientId?: string; categories?: string[][]; codes?: string[][]; excludeSecurity?: readonly string[]; interaction?: RuleInteraction[]; directory?: true },
): ConsentRule {
  const categories = c.categories ?? [];
  const codes = c.codes ?? [];
  const excludeSecurity = c.excludeSecurity ?? [];
  const params = [
    ...(c.patientId === undefined ? [] : [`_compartment=Patient/${encodeURIComponent(c.patientId)}`]),
    ...categories.map((values) => `category=${values.join(',')}`),
    ...codes.map((values) => `code=${values.join(',')}`),
    ...(excludeSecurity.length ? [`_security:not=${excludeSecurity.filter((t) => t.includes('|')).join(',')}`] : []),
  ];
  return {
    resourceType,
    ...(params.length ? { criteria: `${resourceType}?${params.join('&')}` } : {}),
    readonly: true,
    interaction: c.interaction ?? ['read', 'vread', 'history', 'search'],
    ...(c.patientId === undefined ? {} : { patientId: c.patientId }),
    categories,
    ...(codes.length ? { codes } : {}),
    excludeSecurity,
    ...(c.directory ? { directory: true as const } : {}),
  };
}

const covers = (r: ConsentRule, resourceType: string, interaction: ReadInteraction): boolean =>
  (r.resourceType === '*' || r.resourceType === resourceType) && r.interaction.includes(interaction);

/**
 * The WHERE fragment for `interaction` on `resourceType` over resources(resource_type, patient_id,
 * categories, security), OR-ed across rules; undefined = not readable at all (deny by default).
 */
export function policyFilter(
  policy: ConsentPolicy,
  resourceType: string,
  interaction: ReadInteraction = 'search',
): Sql | undefined {
  const parts = policy.resource
    .filter((r) => covers(r, resourceType, interaction))
    .map((r) =>
      and([
        sql`resource_type = ${resourceType}`,
        ...(r.patientId === undefined ? [] : [sql`patient_id = ${r.patientId}`]),
        ...(r.directory ? [sql`patient_id IS NULL`] : []),
        ...r.categories.map((values) => anyToken('categories', values)),
        ...(r.codes ?? []).map((values) => anyToken('codes', values)),
        ...(r.excludeSecurity.length ? [noToken('security', r.excludeSecurity)] : []),
      ]),
    );
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : or(parts);
}

/** Whether any resource of `resourceType` may be read (or searched) under `policy`. */
export function canRead(policy: ConsentPolicy, resourceType: string, interaction: ReadInteraction = 'search'): boolean {
  return policy.resource.some((r) => covers(r, resourceType, interaction));
}

/** A short reason why `resourceType` is not readable; undefined when it is. */
export function explainDenial(
  policy: ConsentPolicy,
  resourceType: string,
  interaction: ReadInteraction = 'search',
): string | undefined {
  if (canRead(policy, resourceType, interaction)) return undefined;
  if (policy.resource.some((r) => r.resourceType === '*' || r.resourceType === resourceType)) {
    return `${resourceType}: the SMART scopes presented do not allow ${interaction}`;
  }
  const denial =
    policy.denials.find((d) => d.resourceType === resourceType) ?? policy.denials.find((d) => d.resourceType === '*');
  return `${resourceType}: ${denial?.reason ?? 'no active grant covers it (deny by default)'}`;
}
