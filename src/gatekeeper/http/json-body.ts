/**
 * Request bodies: JSON only, kept raw (its hash is part of what the requester signed), and refused
 * before anything reads it when it is hostile. All of this runs before the signature is checked.
 *
 * - Any content type but `application/fhir+json` or `application/json` (https://hl7.org/fhir/R4/http.html#mime-type):
 *   415, like XML; a form (`application/x-www-form-urlencoded`) only on POST …/_search. `application/json-patch+json` (a JSON Patch) on PATCH only.
 * - Nesting deeper than BODY_LIMITS.depth: 400, found by a scan of the raw text (strings skipped)
 *   before JSON.parse, so a 100,000-deep body never reaches a recursive validator.
 * - An array longer than BODY_LIMITS.arrayLength, or a string (or key) longer than BODY_LIMITS.stringLength
 *   (FHIR's own limit for a string: https://hl7.org/fhir/R4/datatypes.html#string): 400.
 * - An element named `__proto__`, `constructor` or `prototype`, at any depth and however it is
 *   escaped: 400. No FHIR element has these names; copied into a plain object (`Object.assign`, a
 *   spread into a target with a setter) they would replace its prototype.
 * The body-size limit (413) is Fastify's `bodyLimit`, checked while the body is read.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatekeeperError } from './outcomes.js';

/** A parsed request body: the text as received and its JSON (undefined for an empty body). */
export interface JsonBody {
  raw: string;
  json: unknown;
}

export const JSON_CONTENT_TYPES = ['application/fhir+json', 'application/json'] as const;

/** A search's form body (POST /fhir/R4/{type}/_search). */
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * Real resources are far inside these: the Synthea sample nests at most 8 deep with arrays of at most
 * 7 elements; a Questionnaire's nested items add two levels each.
 */
export const BODY_LIMITS = { depth: 64, arrayLength: 10_000, stringLength: 1_048_576 } as const;

export type BodyLimits = { [K in keyof typeof BODY_LIMITS]: number };

/** Element names refused wherever they appear (see the file comment). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Makes `app` (and the plugins registered on it afterwards) accept JSON bodies only, parsed by parseJsonBody. */
export function acceptJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers(); // Fastify's own JSON and text/plain parsers included
  for (const type of JSON_CONTENT_TYPES) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, parseJsonBody(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
  }
  // A search's parameters as a form (https://hl7.org/fhir/R4/http.html#search): POST …/_search only, kept raw like JSON.
  // A RegExp, so that a plugin may still add its own parser for the type (SMART's token endpoint).
  app.addContentTypeParser(/^application\/x-www-form-urlencoded(?:$|;)/, { parseAs: 'string' }, (req, body, done) => {
    if (/\/_search(?:\?|$)/.test(req.url)) done(null, { raw: body as string, json: undefined } satisfies JsonBody);
    else done(new GatekeeperError(415, `content type ${FORM_CONTENT_TYPE} is not supported: send application/fhir+json (a form is for POST …/_search only)`), undefined);
  });
  // A JSON Patch (https://hl7.org/fhir/R4/http.html#patch): JSON like the rest, for PATCH only.
  app.addContentTypeParser('application/json-patch+json', { parseAs: 'string' }, (req, body, done) => {
    if (req.method !== 'PATCH') return done(new GatekeeperError(415, 'content type application/json-patch+json is not supported: send application/fhir+json (a JSON Patch goes with PATCH only)'), undefined);
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Everything else, a body without a content type included.
  app.addContentTypeParser('*', (req: FastifyRequest, _payload, done) => {
    const type = req.headers['content-type'];
    done(new GatekeeperError(415, `${type ? `content type ${type.split(';')[0]} is not supported` : 'a body needs a content type'}: send application/fhir+json`), undefined);
  });
}

/** The body's JSON, or a 400 GatekeeperError when it is malformed or hostile (see the file comment). */
export function parseJsonBody(raw: string, limits: BodyLimits = BODY_LIMITS): JsonBody {
  if (!raw.length) return { raw, json: undefined };
  checkNesting(raw, limits.depth);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new GatekeeperError(400, 'body is not valid JSON');
  }
  checkElements(json, limits);
  return { raw, json };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Throws 400 when objects and arrays in `raw` nest deeper than `max`. Brackets inside strings do not count. */
export function checkNesting(raw: string, max: number): void {
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === QUOTE) i = closingQuote(raw, i);
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) throw new GatekeeperError(400, `body nests deeper than ${max} levels`);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
}

/** The index of the quote that ends the string opened at `open` (raw.length when it never ends: JSON.parse refuses that). */
function closingQuote(raw: string, open: number): number {
  let i = open;
  for (;;) {
    i = raw.indexOf('"', i + 1);
    if (i < 0) return raw.length;
    let backslashes = 0;
    while (raw.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i; // an odd count escapes this quote
  }
}

/** Throws 400 for a forbidden element name, an array or a string over its limit. Depth is already bounded (checkNesting). */
function checkElements(value: unknown, limits: BodyLimits): void {
  if (typeof value === 'string') {
    if (value.length > limits.stringLength) throw new GatekeeperError(400, `body has a string longer than ${limits.stringLength} characters`);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    if (value.length > limits.arrayLength) throw new GatekeeperError(400, `body has an array longer than ${limits.arrayLength} elements`);
    for (const item of value) checkElements(item, limits);
    return;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) throw new GatekeeperError(400, `body has an element named "${key}", which no resource has`);
    if (key.length > limits.stringLength) throw new GatekeeperError(400, `body has a name longer than ${limits.stringLength} characters`);
    checkElements((value as Record<string, unknown>)[key], limits);
  }
}
