/**
 * The entries of a transaction or batch Bundle (https://hl7.org/fhir/R4/http.html#transaction),
 * checked and parsed into what each asks: method, target (type, id or a conditional search), body and
 * preconditions. Refusals name the entry, so a client knows which one to fix.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { ID_PATTERN, isSupportedType } from '../../records/fhir.js';
import { FHIR_BASE } from './context.js';
import { GatekeeperError } from './outcomes.js';

/**
 * The most entries one Bundle may carry: a Synthea patient's whole record is ~1,500; above this a
 * client should split its upload (413, said plainly, rather than a transaction holding the store's
 * write lock for minutes).
 */
export const MAX_BUNDLE_ENTRIES = 5000;

export type EntryMethod = 'DELETE' | 'POST' | 'PUT' | 'PATCH' | 'GET';

/** The R4 processing order (http.html#trules): DELETE, POST, PUT/PATCH, GET. */
export const METHOD_ORDER: readonly EntryMethod[] = ['DELETE', 'POST', 'PUT', 'PATCH', 'GET'];

export interface EntryRequest {
  /** Position in the Bundle: its response goes at the same position. */
  index: number;
  method: EntryMethod;
  type: string;
  id?: string;
  /** A vread's version (GET Type/id/_history/vid). */
  versionId?: string;
  /** The search of a conditional update/delete/patch or a search GET. */
  query?: string;
  fullUrl?: string;
  resource?: Resource;
  ifNoneExist?: string;
  ifMatch?: string;
}

/** The Bundle's kind and its parsed entries; 400 for anything else, 413 above MAX_BUNDLE_ENTRIES. */
export function parseBundle(body: unknown): { kind: 'transaction' | 'batch'; entries: (EntryRequest | GatekeeperError)[] } {
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle') throw new GatekeeperError(400, 'POST /fhir/R4 takes a Bundle of type transaction or batch');
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') throw new GatekeeperError(400, `a Bundle of type ${JSON.stringify(String(bundle.type))} is not processed: send type transaction or batch`);
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw new GatekeeperError(400, 'Bundle.entry must be an array');
  if (entries.length > MAX_BUNDLE_ENTRIES) throw new GatekeeperError(413, `a Bundle may carry at most ${MAX_BUNDLE_ENTRIES} entries (this one has ${entries.length}): split it`);
  const parsed = entries.map((entry, index) => {
    try {
      return parseEntry(entry, index);
    } catch (err) {
      if (err instanceof GatekeeperError) return new GatekeeperError(err.status, `entry ${index}: ${err.message}`);
      throw err;
    }
  });
  if (bundle.type === 'transaction') {
    const failed = parsed.find((e) => e instanceof GatekeeperError);
    if (failed) throw failed;
    checkDistinct(parsed as EntryRequest[]);
  }
  return { kind: bundle.type, entries: parsed };
}

function parseEntry(entry: BundleEntry, index: number): EntryRequest {
  if (typeof entry !== 'object' || entry === null) throw new GatekeeperError(400, 'not an object');
  const method = entry.request?.method;
  if (!METHOD_ORDER.includes(method as EntryMethod)) throw new GatekeeperError(400, `request.method must be one of ${METHOD_ORDER.join(', ')}`);
  const target = parseUrl(String(entry.request?.url ?? ''));
  const e: EntryRequest = { index, method: method as EntryMethod, ...target };
  if (entry.fullUrl !== undefined) e.fullUrl = String(entry.fullUrl);
  if (entry.request?.ifNoneExist) e.ifNoneExist = String(entry.request.ifNoneExist).replace(/^.*\?/, '');
  if (entry.request?.ifMatch) e.ifMatch = String(entry.request.ifMatch).replace(/^W\/"(.*)"$/, '$1');
  if (e.method === 'POST' || e.method === 'PUT' || e.method === 'PATCH') e.resource = bodyOf(entry, e);
  if (e.method === 'POST' && (e.id || e.query)) throw new GatekeeperError(400, 'a POST entry names only the type (request.url = "Type")');
  if ((e.method === 'PUT' || e.method === 'PATCH' || e.method === 'DELETE') && !e.id && !e.query) throw new GatekeeperError(400, `a ${e.method} entry needs Type/id or a conditional Type?search`);
  return e;
}

/** `Type`, `Type/id`, `Type/id/_history/vid` or `Type?search`; an absolute URL of this server's base too. */
function parseUrl(url: string): Pick<EntryRequest, 'type' | 'id' | 'versionId' | 'query'> {
  const at = url.indexOf(`${FHIR_BASE}/`);
  const relative = /^https?:\/\//.test(url) && at >= 0 ? url.slice(at + FHIR_BASE.length + 1) : url;
  const [path = '', ...rest] = relative.split('?');
  const query = rest.join('?');
  const [type = '', id, history, versionId, ...more] = path.split('/');
  if (!isSupportedType(type)) throw new GatekeeperError(400, `request.url ${JSON.stringify(url.slice(0, 80))} does not name an R4 resource type`);
  if (more.length || (history !== undefined && history !== '_history') || (id !== undefined && !ID_PATTERN.test(id))) {
    throw new GatekeeperError(400, `request.url ${JSON.stringify(url.slice(0, 80))} is not Type, Type/id or Type?search`);
  }
  if (query && id) throw new GatekeeperError(400, 'request.url has both an id and a search');
  return { type, ...(id ? { id } : {}), ...(versionId ? { versionId } : {}), ...(query ? { query } : {}) };
}

/** The entry's resource: of the entry's type, not itself a transaction (nested Bundles are refused); a PATCH's Binary JSON Patch. */
function bodyOf(entry: BundleEntry, e: EntryRequest): Resource {
  const resource = entry.resource;
  if (typeof resource !== 'object' || resource === null) throw new GatekeeperError(400, `a ${e.method} entry needs a resource`);
  if (e.method === 'PATCH') {
    if (resource.resourceType !== 'Binary' || resource.contentType !== 'application/json-patch+json') throw new GatekeeperError(400, 'a PATCH entry carries its JSON Patch as a Binary of contentType application/json-patch+json');
    return resource;
  }
  if (resource.resourceType !== e.type) throw new GatekeeperError(400, `the resource is a ${String(resource.resourceType).slice(0, 40)}, not a ${e.type}`);
  if (resource.resourceType === 'Bundle' && (resource.type === 'transaction' || resource.type === 'batch')) {
    throw new GatekeeperError(400, 'a transaction or batch Bundle inside a Bundle is not processed');
  }
  if (e.method === 'PUT' && e.id && resource.id !== e.id) throw new GatekeeperError(400, `the resource id does not match request.url ${e.type}/${e.id}`);
  return resource;
}

/** R4: a transaction may not name one fullUrl twice, nor write one resource twice (http.html#trules). */
function checkDistinct(entries: readonly EntryRequest[]): void {
  const fullUrls = new Set<string>();
  const targets = new Set<string>();
  for (const e of entries) {
    if (e.fullUrl !== undefined) {
      if (fullUrls.has(e.fullUrl)) throw new GatekeeperError(400, `entry ${e.index}: fullUrl ${JSON.stringify(e.fullUrl.slice(0, 80))} is given twice`);
      fullUrls.add(e.fullUrl);
    }
    if (e.method !== 'GET' && e.id) {
      const key = `${e.type}/${e.id}`;
      if (targets.has(key)) throw new GatekeeperError(400, `entry ${e.index}: ${key} is written twice in one transaction`);
      targets.add(key);
    }
  }
}
