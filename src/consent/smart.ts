/**
 * SMART App Launch v2 scopes: parse, format, intersect.
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 *
 *   resource scope = ( patient | user | system ) "/" ( ResourceType | "*" ) "." permissions
 *                    [ "?" param "=" value *( "," value ) *( "&" param "=" value … ) ]
 *
 * Permissions are an in-order subset of `cruds`; the v1 forms `read`, `write`, `*` are read as
 * `rs`, `cud`, `cruds`. Other scopes (openid, fhirUser, launch/patient, offline_access, extension
 * scopes …) are kept as text and never grant data. Anything else is refused: the spec lets a
 * server reject undefined or out-of-order permissions, so `.sr` is never guessed to mean `.rs`.
 */

/** The FHIR interaction each permission letter grants, in the spec's fixed order `cruds`. */
export const SmartPermission = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' } as const;
export type SmartInteraction = (typeof SmartPermission)[keyof typeof SmartPermission];
const LETTER: Record<SmartInteraction, string> = { create: 'c', read: 'r', update: 'u', delete: 'd', search: 's' };

/** Contexts, narrowest first: one patient's compartment ⊂ what the user may see ⊂ what the client may see. */
export const SMART_CONTEXTS = ['patient', 'user', 'system'] as const;
export type SmartContext = (typeof SMART_CONTEXTS)[number];

/** One `name=v1,v2` constraint: the values are OR-ed, separate params are AND-ed (FHIR search). */
export interface ScopeParam {
  readonly name: string;
  readonly values: readonly string[];
}

export interface ResourceScope {
  readonly kind: 'resource';
  readonly context: SmartContext;
  /** A FHIR resource type, or `*` for every type (now and in the future). */
  readonly resourceType: string;
  /** Non-empty, in-order subset of `cruds`. */
  readonly permissions: string;
  readonly params: readonly ScopeParam[];
}

/** openid, fhirUser, launch, launch/patient, offline_access, extension scopes …: no data access. */
export interface OtherScope {
  readonly kind: 'other';
  readonly text: string;
}

export type SmartScope = ResourceScope | OtherScope;

export class InvalidScopeError extends Error {
  constructor(scope: string, reason: string) {
    // JSON quoting escapes control characters: the message stays one printable line.
    super(`invalid SMART scope ${JSON.stringify(scope.length > 80 ? `${scope.slice(0, 80)}…` : scope)}: ${reason}`);
    this.name = 'InvalidScopeError';
  }
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) — no space, quote or backslash.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const OTHER_SCOPES = [
  /^(openid|fhirUser|profile|email|launch|offline_access|online_access)$/, // identity, launch, refresh
  /^launch\/[a-z]+(\?role=[^?&]+)?$/, // launch context: lower-case type, optional role (experimental)
  /^__.+$/, // extension scope: "any string starting with __"
  /^[a-z][a-z0-9+.-]*:.+$/, // extension scope: "a full URI that you control"
];
const V1_PERMISSIONS: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };
const V2_PERMISSIONS = /^c?r?u?d?s?$/;
const RESOURCE_TYPE = /^([A-Z][A-Za-z]*|\*)$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/; // a search parameter, with :modifier or .chain

/** Parses one scope; throws InvalidScopeError. */
export function parseScope(text: string): SmartScope {
  const fail = (reason: string): never => {
    throw new InvalidScopeError(text, reason);
  };
  if (!SCOPE_TOKEN.test(text)) fail('empty, or has a character an OAuth scope cannot hold (RFC 6749 §3.3)');
  if (OTHER_SCOPES.some((re) => re.test(text))) return { kind: 'other', text };
  const slash = text.indexOf('/');
  if (slash < 0) fail('expected context/ResourceType.permissions, or openid, fhirUser, launch…, offline_access');
  const context = text.slice(0, slash);
  if (!(SMART_CONTEXTS as readonly string[]).includes(context)) fail(`context must be patient, user or system, not "${context}"`);
  const [base = '', query, ...more] = text.slice(slash + 1).split('?');
  if (more.length > 0) fail('more than one "?"');
  const dot = base.indexOf('.');
  if (dot < 0) fail('missing ".permissions" (e.g. ".rs")');
  const resourceType = base.slice(0, dot);
  if (!RESOURCE_TYPE.test(resourceType)) fail(`"${resourceType}" is not a FHIR resource type or *`);
  const given = base.slice(dot + 1);
  const permissions = Object.hasOwn(V1_PERMISSIONS, given) ? V1_PERMISSIONS[given]! : given;
  if (!permissions || !V2_PERMISSIONS.test(permissions)) {
    fail(`permissions "${given}" must be a subset of "cruds" in that order, or v1 read, write or *`);
  }
  const params =
    query === undefined
      ? []
      : query.split('&').map((param): ScopeParam => {
          const eq = param.indexOf('=');
          const name = param.slice(0, eq);
          const values = param.slice(eq + 1).split(',');
          if (eq < 0 || !PARAM_NAME.test(name)) fail(`"${param}" is not a search parameter name=value`);
          if (values.some((v) => v === '')) fail(`"${param}" has an empty value`);
          return { name, values };
        });
  return { kind: 'resource', context: context as SmartContext, resourceType, permissions, params };
}

/** Parses a space-separated OAuth `scope` string (RFC 6749 §3.3); throws on the first invalid scope. */
export function parseScopes(scope: string): SmartScope[] {
  return scope.split(' ').filter(Boolean).map(parseScope);
}

/** The canonical text: v2 permissions, params as given (values are never re-encoded). */
export function formatScope(scope: SmartScope): string {
  if (scope.kind === 'other') return scope.text;
  const query = scope.params.map((p) => `${p.name}=${p.values.join(',')}`).join('&');
  return `${scope.context}/${scope.resourceType}.${scope.permissions}${query ? `?${query}` : ''}`;
}

/**
 * Whether `scope` allows `interaction` on at least some resources of `resourceType`. Shallow, like
 * Medplum's accessPolicySupportsInteraction: params narrow *which* resources, not whether the type is
 * open; the consent compiler turns them into SQL (policy.ts).
 */
export function scopeAllows(scope: SmartScope, resourceType: string, interaction: SmartInteraction): boolean {
  return (
    scope.kind === 'resource' &&
    (scope.resourceType === '*' || scope.resourceType === resourceType) &&
    scope.permissions.includes(LETTER[interaction])
  );
}

/**
 * Scopes allowing exactly what both `a` and `b` allow. A set of scopes is the union of its members
 * ("Scope Equivalence"), so the intersection is the union of every pairwise intersection; security
 * logic may only narrow, never widen. Other scopes survive only when both sides hold the same text.
 */
export function intersectScopes(a: readonly SmartScope[], b: readonly SmartScope[]): SmartScope[] {
  const out = new Map<string, SmartScope>();
  for (const x of a) {
    for (const y of b) {
      const both = intersectPair(x, y);
      if (both && !out.has(formatScope(both))) out.set(formatScope(both), both);
    }
  }
  return [...out.values()];
}

function intersectPair(x: SmartScope, y: SmartScope): SmartScope | undefined {
  if (x.kind === 'other' || y.kind === 'other')
    return x.kind === 'other' && y.kind === 'other' && x.text === y.text ? x : undefined;
  const resourceType =
    x.resourceType === '*'
      ? y.resourceType
      : y.resourceType === '*' || y.resourceType === x.resourceType
        ? x.resourceType
        : undefined;
  const permissions = [...'cruds'].filter((c) => x.permissions.includes(c) && y.permissions.includes(c)).join('');
  if (!resourceType || !permissions) return undefined;
  const context = SMART_CONTEXTS[Math.min(SMART_CONTEXTS.indexOf(x.context), SMART_CONTEXTS.indexOf(y.context))]!;
  return { kind: 'resource', context, resourceType, permissions, params: simplifyParams([...x.params, ...y.params]) };
}

// Token search params: a bare `code` matches any system, `system|code` only that system, so
// `system|code` implies `code`. https://hl7.org/fhir/R4/search.html#token. Other params: equality only.
const TOKEN_PARAMS = new Set(['category', 'code', '_security', '_tag']);
const valueImplies = (name: string, f: string, e: string): boolean =>
  f === e || (TOKEN_PARAMS.has(name) && !e.includes('|') && f.endsWith(`|${e}`));
/** `f` implies `e`: every resource matching `f` matches `e`. */
const paramImplies = (f: ScopeParam, e: ScopeParam): boolean =>
  f.name === e.name && f.values.every((fv) => e.values.some((ev) => valueImplies(f.name, fv, ev)));

/** AND of params with the redundant ones dropped (`category=lab` AND `category=lab,vital` = `category=lab`). */
function simplifyParams(params: readonly ScopeParam[]): ScopeParam[] {
  const kept: ScopeParam[] = [];
  for (const p of params) {
    if (kept.some((k) => paramImplies(k, p))) continue;
    for (let i = kept.length - 1; i >= 0; i--) if (paramImplies(p, kept[i]!)) kept.splice(i, 1);
    kept.push(p);
  }
  return kept;
}
