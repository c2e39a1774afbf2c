/**
 * One error shape everywhere: every refusal is a FHIR OperationOutcome with its HTTP status
 * (https://hl7.org/fhir/R4/operationoutcome.html, issue codes from https://hl7.org/fhir/R4/valueset-issue-type.html).
 */
import { getStatus, isOperationOutcome, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { explainDenial, type ConsentPolicy } from '../../consent/policy.js';
import { SignatureError } from '../../protocol/request-signature.js';

const ISSUE_CODE: Record<number, 'invalid' | 'login' | 'forbidden' | 'not-found' | 'expired' | 'too-long' | 'not-supported' | 'throttled' | 'exception' | 'deleted' | 'conflict'> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'expired',
  412: 'conflict',
  413: 'too-long',
  415: 'not-supported',
  429: 'throttled',
  500: 'exception',
};

/** An error that carries its HTTP status and becomes an OperationOutcome at the edge. */
export class GatekeeperError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'GatekeeperError';
  }
}

/** Why `policy` lets the requester read no `type` at all: 410 when the grant that covered it expired, else 403. */
export function typeRefusal(policy: ConsentPolicy, type: string): GatekeeperError {
  const expired = policy.denials.find((d) => d.resourceType === type && d.expired);
  if (expired) return new GatekeeperError(410, expired.reason);
  return new GatekeeperError(403, explainDenial(policy, type) ?? `no grant covers ${type}`);
}

export function outcome(status: number, diagnostics: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: status >= 500 ? 'fatal' : 'error', code: ISSUE_CODE[status] ?? 'processing', diagnostics }],
  };
}

/** The status and OperationOutcome for any error a request can raise. */
export function toOutcome(err: unknown): { status: number; body: OperationOutcome } {
  if (err instanceof GatekeeperError || err instanceof SignatureError) return { status: err.status, body: outcome(err.status, err.message) };
  if (err instanceof OperationOutcomeError) return { status: getStatus(err.outcome), body: err.outcome };
  if (isOperationOutcome(err)) return { status: getStatus(err), body: err };
  const e = err as { statusCode?: number; message?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: outcome(e.statusCode, e.message ?? 'bad request') };
  }
  return { status: 500, body: outcome(500, 'internal error') };
}
