/** What a fault run (fault-driver.ts) checks at its end, and the grant history a read is judged by. */
import type { Bundle, Observation, Parameters } from '@medplum/fhirtypes';
import { getAbiItem, parseEventLogs, type Address, type Hex } from 'viem';
import { medLedgerAbi } from '../../src/chain/generated/contracts.js';
import { grantTagOf } from '../../src/sdk/index.js';
import { WRITE_SYSTEM, type Lab } from './fault-lab.js';
import { CATEGORIES } from './fault-plan.js';
import type { ChildEvent } from './fault-process.js';

const viewerGranted = getAbiItem({ abi: medLedgerAbi, name: 'ViewerGranted' });
const viewerRevoked = getAbiItem({ abi: medLedgerAbi, name: 'ViewerRevoked' });

export interface ReadRecord {
  viewer: number;
  status: number;
  pre: string;
  post: string;
  /** Whether the chain had the grant active, per block from pre to post. */
  active: boolean[];
}

/** Grant state of `viewer` at each block from `from` to `to`, from the chain's events. */
export async function grantActive(lab: Lab, viewer: number, from: bigint, to: bigint): Promise<boolean[]> {
  const { account, scope } = lab.viewers[viewer]!;
  const pc = lab.reader.publicClient;
  const logs = parseEventLogs({ abi: medLedgerAbi, logs: await pc.getLogs({ address: lab.deployment.contract, fromBlock: lab.deployment.deployBlock, toBlock: to }) });
  const tag = grantTagOf(account.address, scope);
  const mine = logs.filter(
    (l) =>
      (l.eventName === viewerGranted.name || l.eventName === viewerRevoked.name) &&
      (l.args as { relationshipId: bigint }).relationshipId === lab.relationshipId &&
      // ViewerGranted carries the viewer and the scope text, ViewerRevoked their tag.
      ((l.args as { grantTag?: Hex }).grantTag ?? grantTagOf((l.args as { viewer: Address }).viewer, (l.args as { scope: string }).scope)) === tag,
  );
  const result: boolean[] = [];
  for (let b = from; b <= to; b++) {
    const last = mine.filter((l) => l.blockNumber <= b).at(-1);
    result.push(last?.eventName === viewerGranted.name);
  }
  return result;
}

/**
 * Every acknowledged write exactly once in the store: the store searched for the writes' identifiers
 * (a lab shared by many runs holds more than one page of records), as bare values (a search value is
 * at most 256 characters: records/search.ts) in lists that fit; counted by the identifier's system too.
 */
export async function checkRecords(lab: Lab, acknowledged: readonly string[]): Promise<{ lost: string[]; duplicated: string[] }> {
  const seen = new Map<string, number>();
  const ids = [...new Set(acknowledged)];
  const lists: string[][] = [[]];
  for (const id of ids) {
    if ([...lists.at(-1)!, id].join(',').length > 250) lists.push([]);
    lists.at(-1)!.push(id);
  }
  for (const list of lists.filter((l) => l.length)) {
    const bundle = (await lab.asProvider().get<Bundle<Observation>>(`/fhir/R4/Observation?identifier=${encodeURIComponent(list.join(','))}&_count=1000`)).body;
    for (const e of bundle.entry ?? []) {
      for (const id of (e.resource!.identifier ?? []).filter((x) => x.system === WRITE_SYSTEM)) seen.set(id.value!, (seen.get(id.value!) ?? 0) + 1);
    }
  }
  return {
    lost: ids.filter((id) => !seen.has(id)),
    duplicated: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
  };
}

/**
 * For every linked patient: the chain's pointer hashes are the store's (`$verify`), and every category
 * the store holds records of has its pointer.
 */
export async function checkPointers(lab: Lab): Promise<string[]> {
  const own = lab.asProvider();
  const mismatches: string[] = [];
  for (const patientId of lab.patients) {
    const verify = (await own.get<Parameters>(`/fhir/R4/Patient/${patientId}/$verify`)).body;
    const pointers = (verify.parameter ?? []).filter((p) => p.name === 'pointer');
    const part = (p: (typeof pointers)[number], name: string) => p.part!.find((x) => x.name === name)!;
    mismatches.push(...pointers.filter((p) => !part(p, 'match').valueBoolean).map((p) => `mismatch:${patientId}:${part(p, 'query').valueString}`));
    const queries = new Set(pointers.map((p) => part(p, 'query').valueString));
    for (const c of CATEGORIES) {
      const held = (await own.get<Bundle>(`/fhir/R4/Observation?patient=${patientId}&category=${c}&_summary=count`)).body.total ?? 0;
      if (held > 0 && !queries.has(`Observation?category=${c}`)) mismatches.push(`missing:${patientId}:Observation?category=${c}`);
    }
  }
  return mismatches;
}

/**
 * Every acknowledged transaction is on the final chain and succeeded: the one acknowledged, or, when
 * an outbox signed its intent again (`resigned` events), the last signing of it.
 */
export async function checkTxs(lab: Lab, txs: readonly { hash: Hex; kind: string }[], events: readonly ChildEvent[]): Promise<string[]> {
  const signedAgain = new Map(events.filter((e) => e.event === 'resigned').map((e) => [e.hash as Hex, e.next as Hex]));
  const missing: string[] = [];
  for (const tx of txs) {
    let hash = tx.hash;
    for (let n = 0; signedAgain.has(hash) && n < 100; n++) hash = signedAgain.get(hash)!;
    const receipt = (await lab.reader.publicClient.request({ method: 'eth_getTransactionReceipt', params: [hash] })) as { status: Hex } | null;
    if (receipt?.status !== '0x1') missing.push(`${tx.kind}:${tx.hash}${hash === tx.hash ? '' : `→${hash}`}:${receipt ? 'reverted' : 'absent'}`);
  }
  return missing;
}
