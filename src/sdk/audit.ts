/**
 * Checking a gatekeeper's audit trail against the chain ("who read my data"): each entry's
 * AuditEvent hashes to its Merkle leaf, its proof leads to a root, and the provider anchored that
 * root on chain. Pure viem, so the EHR Manager runs it in the browser too.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { keccak256, stringToBytes, type Address, type Hex } from 'viem';
import type { LedgerClient } from '../chain/client.js';
import { medLedgerAbi } from '../chain/generated/contracts.js';
import { canonicalJson } from '../records/hash.js';
import { processProof } from '../protocol/merkle.js';

export interface AuditEntry {
  seq: string;
  event: AuditEvent;
  leaf: Hex;
  /** Absent until the batch is anchored. */
  root?: Hex;
  proof?: Hex[];
}

/** The Merkle leaf of an AuditEvent: keccak256 of its canonical JSON. */
/** Who made the request an audit entry records: the requestor agent's address, lower-case ('' when none). */
export const requesterOf = (event: AuditEvent): string => event.agent?.find((a) => a.requestor)?.who?.identifier?.value?.toLowerCase() ?? '';

/** The request an audit entry records ("GET /fhir/R4/Observation?category=laboratory"), decoded from its entity query ('' when none or unreadable). */
export function requestOf(event: AuditEvent): string {
  const q = event.entity?.find((x) => x.query)?.query;
  try {
    return q ? atob(q) : '';
  } catch {
    return '';
  }
}

export const auditLeaf = (event: AuditEvent): Hex => keccak256(stringToBytes(canonicalJson(event)));

/**
 * Verifies an audit entry from the chain alone: the event hashes to the leaf, the proof leads to the
 * root, and `provider` anchored that root. Returns the anchoring time (unix seconds), or throws.
 */
export async function verifyAuditEntry(client: LedgerClient, provider: Address, entry: AuditEntry): Promise<number> {
  if (auditLeaf(entry.event) !== entry.leaf) throw new Error(`audit entry ${entry.seq}: the event does not hash to its leaf`);
  if (!entry.root || !entry.proof) throw new Error(`audit entry ${entry.seq} is not anchored yet`);
  if (processProof(entry.leaf, entry.proof) !== entry.root) throw new Error(`audit entry ${entry.seq}: the proof does not lead to the root`);
  const at = await client.publicClient.readContract({ address: client.contract, abi: medLedgerAbi, functionName: 'auditAnchorOf', args: [provider, entry.root] });
  if (at === 0n) throw new Error(`audit entry ${entry.seq}: root ${entry.root} was never anchored by ${provider}`);
  return Number(at);
}
