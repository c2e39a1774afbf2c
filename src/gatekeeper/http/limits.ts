/**
 * Request limits of a gatekeeper: a token bucket per requester (429 with `retry-after` when it is
 * empty) and a largest body (413). Both answers are OperationOutcomes, like every other refusal.
 *
 * Whose bucket a request draws from, decided before any signature is recovered (that recovery is the
 * expensive part a flood would aim at):
 * - a session token: its address (the token's MAC was checked, so the address is proven);
 * - a signed request: the address it claims, but charged only once the answer shows the signature
 *   held (any status but 400/401). A request that fails authentication is charged to its IP's
 *   `failures` bucket instead, so nobody can drain someone else's bucket by claiming their address,
 *   and forged requests are limited per IP;
 * - anything else (metadata, unsigned probes): its IP's `anonymous` bucket.
 * Refusals here are not audited: writing an AuditEvent per throttled request would turn a flood into
 * database writes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { outcome } from './outcomes.js';
import { HEADERS } from '../../protocol/headers.js';
import type { TokenIssuer } from '../auth/tokens.js';

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface Rate {
  perSecond: number;
  burst: number;
}

export interface RequestLimits {
  /** Each authenticated address. */
  perAddress: Rate;
  /** Requests without a signature or token, per client IP. */
  anonymous: Rate;
  /** Signed requests answered 400 or 401 (a failed signature, a malformed request), per client IP. */
  failures: Rate;
  /** Largest request body in bytes (413 above). */
  bodyBytes: number;
}

/**
 * Defaults: generous for one person's apps (the EHR Manager loads a page in tens of requests) and
 * for a research client paging through a grant, tight enough that one address cannot take a
 * gatekeeper's whole capacity (a few hundred signed requests/s on one core, see bench/). Benchmarks
 * that measure the ceiling raise them.
 */
export const DEFAULT_LIMITS: RequestLimits = {
  perAddress: { perSecond: 50, burst: 200 },
  anonymous: { perSecond: 20, burst: 100 },
  failures: { perSecond: 10, burst: 100 },
  bodyBytes: 1_048_576,
};

/** Limits as configured (GatekeeperOptions.limits): anything left out keeps its default. */
export interface LimitsOption {
  perAddress?: Partial<Rate>;
  anonymous?: Partial<Rate>;
  failures?: Partial<Rate>;
  bodyBytes?: number;
}

/** The default limits with `given` replacing some (a partial Rate keeps the rest of the default). */
export function resolveLimits(given: LimitsOption = {}): RequestLimits {
  return {
    perAddress: { ...DEFAULT_LIMITS.perAddress, ...given.perAddress },
    anonymous: { ...DEFAULT_LIMITS.anonymous, ...given.anonymous },
    failures: { ...DEFAULT_LIMITS.failures, ...given.failures },
    bodyBytes: given.bodyBytes ?? DEFAULT_LIMITS.bodyBytes,
  };
}

export interface TokenBuckets {
  /** Seconds until `key` has a token (0 = it has one now). Takes nothing. */
  wait(key: string, now?: number): number;
  /** Takes one token from `key` (the bucket may go below zero: requests already in flight). */
  take(key: string, now?: number): void;
  /** Buckets held (full ones are dropped when many are held). */
  readonly size: number;
}

/** Buckets past this many are swept of full ones (a full bucket is the same as no bucket). */
const SWEEP_AT = 50_000;

/** Token buckets of one `rate`, by key; `now` in milliseconds. */
export function createTokenBuckets(rate: Rate): TokenBuckets {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const level = (b: { tokens: number; at: number }, now: number) => Math.min(rate.burst, b.tokens + ((now - b.at) / 1000) * rate.perSecond);
  const sweep = (now: number) => {
    for (const [key, b] of buckets) if (level(b, now) >= rate.burst) buckets.delete(key);
  };
  return {
    wait(key, now = Date.now()) {
      const b = buckets.get(key);
      if (!b) return 0;
      const tokens = level(b, now);
      return tokens >= 1 ? 0 : (1 - tokens) / rate.perSecond;
    },
    take(key, now = Date.now()) {
      const b = buckets.get(key);
      if (b) {
        b.tokens = level(b, now) - 1;
        b.at = now;
        return;
      }
      if (buckets.size >= SWEEP_AT) sweep(now);
      buckets.set(key, { tokens: rate.burst - 1, at: now });
    },
    get size() {
      return buckets.size;
    },
  };
}

/** `address`: proven (a session token); `claimed`: a signed request's address, proven only by its answer; `anonymous`: an IP. */
type Who = { kind: 'address' | 'claimed' | 'anonymous'; key: string };

/** Whose bucket a request draws from (see the file comment). Cheap: a header read, a cached token. */
function whoIs(req: FastifyRequest, tokens: TokenIssuer): Who {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) {
    const address = tokens.verify(auth.slice(7));
    if (address) return { kind: 'address', key: address.toLowerCase() };
  }
  const claimed = req.headers[HEADERS.address];
  if (typeof claimed === 'string' && req.headers[HEADERS.signature]) return { kind: 'claimed', key: claimed.toLowerCase() };
  return { kind: 'anonymous', key: req.ip };
}

function throttle(reply: FastifyReply, seconds: number, why: string) {
  const retry = Math.max(1, Math.ceil(seconds));
  return reply
    .code(429)
    .header('retry-after', String(retry))
    .type('application/fhir+json')
    .send(outcome(429, `too many requests ${why}; retry after ${retry} s`));
}

/**
 * Applies the per-requester rate limits to every route of `app` (register before the routes' plugins
 * load). The body limit is Fastify's own `bodyLimit` (buildGatekeeper), whose 413 the error handler
 * turns into an OperationOutcome.
 */
export function applyRateLimits(app: FastifyInstance, tokens: TokenIssuer, limits: RequestLimits = DEFAULT_LIMITS): void {
  const byAddress = createTokenBuckets(limits.perAddress);
  const anonymous = createTokenBuckets(limits.anonymous);
  const failures = createTokenBuckets(limits.failures);
  const who = new WeakMap<FastifyRequest, Who>();

  // Callback hooks, not async ones: they run on every request, and a promise each is measurable there.
  app.addHook('onRequest', (req, reply, done) => {
    const w = whoIs(req, tokens);
    if (w.kind === 'anonymous') {
      const wait = anonymous.wait(w.key);
      if (wait > 0) return void throttle(reply, wait, 'from this IP address without a signature or token');
      anonymous.take(w.key);
      return done();
    }
    const failing = failures.wait(req.ip);
    if (failing > 0) return void throttle(reply, failing, 'refused as malformed or unauthenticated (400/401) from this IP address');
    const wait = byAddress.wait(w.key);
    if (wait > 0) return void throttle(reply, wait, `from ${w.key}`);
    if (w.kind === 'address') byAddress.take(w.key);
    else who.set(req, w);
    done();
  });

  // A signed request is charged once its answer shows whether the signature held.
  app.addHook('onResponse', (req, reply, done) => {
    const w = who.get(req);
    if (w) {
      if (reply.statusCode === 401 || reply.statusCode === 400) failures.take(req.ip);
      else if (reply.statusCode !== 429) byAddress.take(w.key);
    }
    done();
  });
}
