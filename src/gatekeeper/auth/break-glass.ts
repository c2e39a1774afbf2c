/**
 * Break-glass at a gatekeeper: a provider with no consent states the reason it opened an emergency
 * read (header `x-medledger-break-glass`, src/sdk/emergency.ts). The gatekeeper finds the opening on
 * chain by the reason's salted hash, and accepts it only while the chain says it is open now (in chain
 * time) and the requester is still accredited — read fresh for every such request, never cached, as
 * emergency reads are rare and an expiry or a closing must take effect at once.
 *
 * The stated reason must be the one the *latest* opening of that patient by that provider was made
 * with, so what the audit trail records is what the provider committed to on chain.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Address, Hex } from 'viem';
import type { LedgerClient } from '../../chain/client.js';
import { LedgerError } from '../../chain/write.js';
import {
  BREAK_GLASS_HEADER,
  breakGlassOpenings,
  checkBreakGlass,
  hashBreakGlassReason,
  InvalidReasonError,
  parseBreakGlassHeader,
} from '../../sdk/emergency.js';
import { GatekeeperError } from '../http/outcomes.js';

/** A refused break-glass statement: who stated it and, when the chain named one, whose record it was for (for the audit). */
export class BreakGlassRefusal extends GatekeeperError {
  constructor(
    status: number,
    message: string,
    readonly requester: Address,
    readonly patient?: Address,
  ) {
    super(status, message);
    this.name = 'BreakGlassRefusal';
  }
}

/** An emergency read the chain confirms for this request. */
export interface OpenEmergency {
  patient: Address;
  reason: string;
  reasonHash: Hex;
  /** Unix seconds (chain time). */
  expiresAt: number;
}

/**
 * The emergency the request states, confirmed on chain; undefined when the request states none.
 * Throws 400 for a malformed statement and 403 when the chain does not confirm it.
 */
export async function statedEmergency(headers: IncomingHttpHeaders, ledger: LedgerClient, requester: Address): Promise<OpenEmergency | undefined> {
  const value = headers[BREAK_GLASS_HEADER];
  if (value === undefined) return undefined;
  let statement;
  try {
    statement = parseBreakGlassHeader(Array.isArray(value) ? value.join(',') : value);
  } catch (err) {
    throw new BreakGlassRefusal(400, (err as InvalidReasonError).message, requester);
  }
  const reasonHash = hashBreakGlassReason(statement);
  const [stated] = await breakGlassOpenings(ledger, { provider: requester, reasonHash });
  if (!stated) throw new BreakGlassRefusal(403, 'break-glass: no opening on chain was made with this reason', requester);
  const openings = await breakGlassOpenings(ledger, { patient: stated.patient, provider: requester });
  if (openings.at(-1)?.reasonHash !== reasonHash) throw new BreakGlassRefusal(403, 'break-glass: the opening was renewed with another reason', requester, stated.patient);
  try {
    const expiresAt = await checkBreakGlass(ledger, { patient: stated.patient, provider: requester });
    return { patient: stated.patient, reason: statement.reason, reasonHash, expiresAt };
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    const why: Record<string, string> = {
      NotAccredited: 'the requester is not an accredited provider',
      NoBreakGlass: 'the opening was closed',
      BreakGlassExpired: 'the opening expired',
    };
    throw new BreakGlassRefusal(err.errorName === 'BreakGlassExpired' ? 410 : 403, `break-glass: ${why[err.errorName] ?? err.message}`, requester, stated.patient);
  }
}
