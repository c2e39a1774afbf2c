/**
 * Hostile contract calls: 1,000 random calls (random sender, function and arguments) sent as real
 * transactions to one fixture chain, each checked against a model of the rules:
 * - only the relationship's patient grants, revokes, accepts and rejects;
 * - only the relationship's provider adds, updates and removes pointers and sets the status;
 * - an expired grant never passes checkAccess;
 * - every refused call reverts with the error the model expects and leaves the contract's storage
 *   exactly as it was (its storage root, from eth_getProof, before and after).
 * The SDK validates before it sends; these transactions go around it, so the rules proven are the
 * contract's own. The model is the state; cases run in sequence on it, so a failure is reported at
 * its case (no shrinking: an earlier case changed the state the later one ran on).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { BaseError, ContractFunctionRevertedError, encodeFunctionData, keccak256, stringToHex, zeroAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { medLedgerAbi } from '../src/chain/generated/contracts.js';
import { addPointer, addRelationship, grantTagOf, hashQuery, readSummary, STATUSES, type LedgerClient } from '../src/sdk/index.js';
import { startFixture, type Fixture } from '../bench/harness/chain.js';
import { RUNS } from './helpers/properties.js';
import { waitForReceipt } from '../src/chain/write.js';

const SCOPES = ['Observation?category=laboratory', 'Condition', 'Observation'] as const;
const POINTER_QUERIES = ['Observation?category=laboratory', 'Condition', 'Observation?category=vital-signs'] as const;
const S = { none: 0, new: 1, updated: 2, awaitingApproval: 3, accepted: 4, rejected: 5 } as const;

interface RelModel {
  id: bigint;
  patient: Address;
  provider: Address;
  status: number;
  /** queryHash → dataHash */
  pointers: Map<Hex, Hex>;
}
/** `${relationshipId}:${viewer}:${scopeHash}` → expiresAt */
type Grants = Map<string, number>;

let f: Fixture;
let clients: Record<string, LedgerClient>;
let rels: RelModel[];
const grants: Grants = new Map();
const nonces = new Map<Address, number>();

const addr = (name: string): Address => clients[name]!.account!.address;
const grantKey = (id: bigint, viewer: Address, scopeHash: Hex) => `${id}:${viewer.toLowerCase()}:${scopeHash}`;
const data = (label: string): Hex => keccak256(stringToHex(`data:${label}`));

before(async () => {
  f = await startFixture();
  const p = await f.newProvider();
  const q = await f.newProvider();
  const a = await f.newPatient(p);
  const b = await f.newPatient(q);
  clients = { p, q, a, b, governor: f.governor };
  for (const name of ['v', 'w', 's']) clients[name] = f.as(await f.newAccount());
  const relA = await addRelationship(p, { patient: addr('a'), query: POINTER_QUERIES[0], dataHash: data('a0') });
  await addPointer(p, { relationshipId: relA.relationshipId, query: POINTER_QUERIES[1], dataHash: data('a1') });
  const relB = await addRelationship(q, { patient: addr('b'), query: POINTER_QUERIES[1], dataHash: data('b1') });
  rels = [
    { id: relA.relationshipId, patient: addr('a'), provider: addr('p'), status: S.updated, pointers: new Map([[hashQuery(POINTER_QUERIES[0]), data('a0')], [hashQuery(POINTER_QUERIES[1]), data('a1')]]) },
    { id: relB.relationshipId, patient: addr('b'), provider: addr('q'), status: S.new, pointers: new Map([[hashQuery(POINTER_QUERIES[1]), data('b1')]]) },
  ];
});
after(() => f?.close());

const pc = () => f.governor.publicClient;
const chainNow = async () => Number((await pc().getBlock({ blockTag: 'latest' })).timestamp);
const storageRoot = async () => (await pc().getProof({ address: f.governor.contract, storageKeys: [] })).storageHash;

/** Sends `data` from `account` with a fixed gas limit (no estimate: refusals are mined too). */
async function send(account: LocalAccount, callData: Hex) {
  const nonce = nonces.get(account.address) ?? (await pc().getTransactionCount({ address: account.address, blockTag: 'pending' }));
  nonces.set(account.address, nonce + 1);
  const serializedTransaction = await account.signTransaction({
    to: f.governor.contract,
    data: callData,
    gas: 400_000n,
    maxFeePerGas: 100_000_000_000n,
    maxPriorityFeePerGas: 1n,
    nonce,
    chainId: f.governor.chainId,
    type: 'eip1559',
  });
  return pc().sendRawTransaction({ serializedTransaction });
}

type Encoded = { functionName: string; args: readonly unknown[] };

/** The custom error a refusal carries, or 'Reverted' for a revert without one (e.g. an argument the ABI decoder refuses). */
function errorNameOf(err: unknown): string {
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) return revert.data?.errorName ?? 'Reverted';
  }
  throw err;
}

/** What eth_call says the call does now: undefined = succeeds, else the custom error's name. */
async function simulate(from: Address, call: Encoded): Promise<string | undefined> {
  return pc()
    .simulateContract({ abi: medLedgerAbi, address: f.governor.contract, account: from, ...call } as never)
    .then(() => undefined, errorNameOf);
}

type Call =
  | { fn: 'grantViewer'; rel: number; viewer: string; scope: number; expiry: 'never' | 'past' | 'soon' | 'later'; offset: number }
  | { fn: 'revokeViewer'; rel: number; viewer: string; scope: number }
  | { fn: 'respond'; rel: number; accept: boolean }
  | { fn: 'setStatus'; rel: number; status: number }
  | { fn: 'updatePointer' | 'addPointer' | 'removePointer'; rel: number; query: number; zeroData: boolean; label: number }
  | { fn: 'advanceTime'; seconds: number };

const SENDERS = ['a', 'b', 'p', 'q', 'v', 's', 'governor'];
/** Whoever the rules allow for the call (the patient or the provider of the relationship), a third of the time. */
const sender = fc.oneof({ weight: 1, arbitrary: fc.constant('owner') }, { weight: 2, arbitrary: fc.constantFrom(...SENDERS) });
const PATIENT_CALLS = ['grantViewer', 'revokeViewer', 'respond'];
const ownerOf = (c: Call) => ('rel' in c ? (PATIENT_CALLS.includes(c.fn) ? ['a', 'b', 'a'] : ['p', 'q', 'p'])[c.rel]! : 'a');
const VIEWERS = ['v', 'w', 'a', 'p', 'q', 's', 'zero'];
// rel 2 = a relationship that does not exist (the patient's index 9).
const relIndex = fc.constantFrom(0, 0, 0, 1, 1, 2);
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ fn: fc.constant('grantViewer' as const), rel: relIndex, viewer: fc.constantFrom(...VIEWERS), scope: fc.nat({ max: 2 }), expiry: fc.constantFrom('never' as const, 'past' as const, 'soon' as const, 'soon' as const, 'later' as const), offset: fc.integer({ min: 0, max: 60 }) }),
  fc.record({ fn: fc.constant('revokeViewer' as const), rel: relIndex, viewer: fc.constantFrom(...VIEWERS), scope: fc.nat({ max: 2 }) }),
  fc.record({ fn: fc.constant('respond' as const), rel: relIndex, accept: fc.boolean() }),
  fc.record({ fn: fc.constant('setStatus' as const), rel: relIndex, status: fc.nat({ max: 7 }) }),
  fc.record({ fn: fc.constantFrom('updatePointer' as const, 'addPointer' as const, 'removePointer' as const), rel: relIndex, query: fc.nat({ max: 2 }), zeroData: fc.boolean(), label: fc.nat({ max: 1000 }) }),
  fc.record({ fn: fc.constant('advanceTime' as const), seconds: fc.integer({ min: 1, max: 40 }) }),
);

/** The relationship id a case names (a missing one for index 2). */
const idOf = (rel: number) => rels[rel]?.id ?? ((BigInt(addr('a')) << 96n) | 9n);
const viewerOf = (name: string): Address => (name === 'zero' ? zeroAddress : addr(name));

/** What the contract must do with `c` from `sender`: the error name, or undefined for success (and then the model is updated by `apply`). */
function predict(c: Exclude<Call, { fn: 'advanceTime' }>, sender: Address, now: number, expiresAt: number): { error?: string; apply?: () => void } {
  const rel = rels[c.rel];
  const isPatient = rel && rel.patient === sender;
  const isProvider = rel && rel.provider === sender;
  switch (c.fn) {
    case 'grantViewer': {
      if (!rel) return { error: 'UnknownRelationship' };
      if (!isPatient) return { error: 'NotRelationshipPatient' };
      if (rel.status === S.rejected) return { error: 'RelationshipRejected' };
      const viewer = viewerOf(c.viewer);
      if (viewer === zeroAddress || viewer === rel.patient || viewer === rel.provider || viewer === sender) return { error: 'InvalidViewer' };
      if (expiresAt !== 0 && expiresAt <= now) return { error: 'ExpiryInPast' };
      return { apply: () => grants.set(grantKey(rel.id, viewer, hashQuery(SCOPES[c.scope]!)), expiresAt) };
    }
    case 'revokeViewer': {
      if (!rel) return { error: 'UnknownRelationship' };
      if (!isPatient) return { error: 'NotRelationshipPatient' };
      const key = grantKey(rel.id, viewerOf(c.viewer), hashQuery(SCOPES[c.scope]!));
      if (!grants.has(key)) return { error: 'NotGranted' };
      return { apply: () => grants.delete(key) };
    }
    case 'respond':
      if (!rel) return { error: 'UnknownRelationship' };
      if (!isPatient) return { error: 'NotRelationshipPatient' };
      return { apply: () => (rel.status = c.accept ? S.accepted : S.rejected) };
    case 'setStatus':
      if (c.status > 5) return { error: 'Reverted' }; // not a Status: the ABI decoder refuses it
      if (c.status === S.none || c.status === S.accepted || c.status === S.rejected) return { error: 'InvalidStatus' };
      if (!rel) return { error: 'UnknownRelationship' };
      if (!isProvider) return { error: 'NotRelationshipProvider' };
      if (rel.status === S.rejected) return { error: 'RelationshipRejected' };
      return { apply: () => (rel.status = c.status) };
    default: {
      if (!rel) return { error: 'UnknownRelationship' };
      if (!isProvider) return { error: 'NotRelationshipProvider' };
      const queryHash = hashQuery(POINTER_QUERIES[c.query]!);
      const exists = rel.pointers.has(queryHash);
      const markUpdated = () => {
        if (rel.status !== S.rejected) rel.status = S.updated;
      };
      if (c.fn !== 'removePointer' && c.zeroData) return { error: 'ZeroDataHash' };
      if (c.fn === 'addPointer' && exists) return { error: 'PointerExists' };
      if (c.fn !== 'addPointer' && !exists) return { error: 'UnknownPointer' };
      return {
        apply: () => {
          if (c.fn === 'removePointer') rel.pointers.delete(queryHash);
          else rel.pointers.set(queryHash, data(`${c.label}`));
          markUpdated();
        },
      };
    }
  }
}

const ZERO: Hex = `0x${'0'.repeat(64)}`;

/** The contract function and arguments of a case. */
function encode(c: Exclude<Call, { fn: 'advanceTime' }>, expiresAt: number): Encoded {
  const id = idOf(c.rel);
  switch (c.fn) {
    case 'grantViewer':
      return { functionName: 'grantViewer', args: [id, viewerOf(c.viewer), SCOPES[c.scope]!, BigInt(expiresAt)] };
    case 'revokeViewer':
      return { functionName: 'revokeViewer', args: [id, grantTagOf(viewerOf(c.viewer), SCOPES[c.scope]!)] };
    case 'respond':
      return { functionName: 'respond', args: [id, c.accept] };
    case 'setStatus':
      return { functionName: 'setStatus', args: [id, c.status] };
    case 'addPointer':
      return { functionName: 'addPointer', args: [id, POINTER_QUERIES[c.query]!, c.zeroData ? ZERO : data(`${c.label}`)] };
    case 'updatePointer':
      return { functionName: 'updatePointer', args: [id, hashQuery(POINTER_QUERIES[c.query]!), c.zeroData ? ZERO : data(`${c.label}`)] };
    case 'removePointer':
      return { functionName: 'removePointer', args: [id, hashQuery(POINTER_QUERIES[c.query]!)] };
  }
}

/** checkAccess for one grant key, against the model (skipped within 3 s of its expiry: the call's clock may be a block apart). */
async function checkGrant(rel: RelModel, viewer: Address, scope: string, now: number): Promise<'expired' | 'checked' | 'skipped'> {
  const expiresAt = grants.get(grantKey(rel.id, viewer, hashQuery(scope)));
  if (expiresAt !== undefined && expiresAt !== 0 && Math.abs(expiresAt - now) <= 3) return 'skipped';
  const expected =
    rel.status === S.rejected ? 'RelationshipRejected' : expiresAt === undefined ? 'NotGranted' : expiresAt !== 0 && expiresAt < now ? 'GrantExpired' : undefined;
  const got = await pc()
    .readContract({ abi: medLedgerAbi, address: f.governor.contract, functionName: 'checkAccess', args: [rel.id, scope, viewer] })
    .then(
      (e) => ({ ok: Number(e) }),
      (err) => ({ error: errorNameOf(err) }),
    );
  const what = `checkAccess(${rel.id}, ${viewer}, ${scope}) at ${now}, model expiry ${expiresAt}, status ${rel.status}`;
  if (expected === undefined) assert.deepEqual(got, { ok: expiresAt }, what);
  else assert.deepEqual(got, { error: expected }, what);
  return expected === 'GrantExpired' ? 'expired' : 'checked';
}

test('random senders and arguments: only the patient grants, only the provider updates, expired grants never pass, refusals change nothing', async (t) => {
  if (!f.runtime.node) {
    t.skip('needs the embedded node (mined reverts, evm_increaseTime)');
    return;
  }
  let refused = 0;
  let succeeded = 0;
  let expiredChecked = 0;
  let root = await storageRoot();
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(sender, call, fc.nat({ max: VIEWERS.length * SCOPES.length * 2 - 1 }), async (who, c, probe) => {
      let now = await chainNow();
      const checks: Promise<unknown>[] = [];
      if (c.fn === 'advanceTime') {
        await pc().request({ method: 'evm_increaseTime' as never, params: [c.seconds] as never });
        await pc().request({ method: 'evm_mine' as never, params: [] as never });
        [now, root] = await Promise.all([chainNow(), storageRoot()]);
      } else {
        const senderName = who === 'owner' ? ownerOf(c) : who;
        const sender = clients[senderName]!.account!;
        // Past and soon stay clear of the next block's second, so the model and the chain agree.
        const expiresAt =
          c.fn !== 'grantViewer' ? 0 : c.expiry === 'never' ? 0 : c.expiry === 'past' ? now - 1 - c.offset : c.expiry === 'soon' ? now + 8 + c.offset : now + 100_000;
        const model = predict(c, sender.address, now, expiresAt);
        const encoded = encode(c, expiresAt);
        const simulated = await simulate(sender.address, encoded);
        const hash = await send(sender, encodeFunctionData({ abi: medLedgerAbi, ...encoded } as never));
        // Automining usually has the receipt at once; poll only when it has not.
        const receipt = await pc().getTransactionReceipt({ hash }).catch(() => waitForReceipt(pc(), hash, 5));
        const after = await storageRoot();
        const what = `${senderName} ${JSON.stringify(c)} (expiresAt ${expiresAt}, now ${now})`;
        seen.add(`${c.fn}:${model.error ?? 'ok'}`);
        if (model.error) {
          refused++;
          assert.equal(simulated, model.error, `${what}: refused with the expected error`);
          assert.equal(receipt.status, 'reverted', `${what}: the transaction reverted`);
          assert.equal(after, root, `${what}: storage unchanged by a refused call`);
        } else {
          succeeded++;
          assert.equal(simulated, undefined, `${what}: allowed`);
          assert.equal(receipt.status, 'success', what);
          // The invariants themselves, whatever the model says.
          if (['grantViewer', 'revokeViewer', 'respond'].includes(c.fn)) assert.equal(sender.address, rels[c.rel]!.patient, 'only the patient');
          else assert.equal(sender.address, rels[c.rel]!.provider, 'only the provider');
          model.apply!();
        }
        root = after;
      }
      // One random grant key, then every grant the model holds as expired: checkAccess agrees.
      const rel = rels[probe % 2]!;
      const rest = Math.floor(probe / 2);
      checks.push(checkGrant(rel, viewerOf(VIEWERS[rest % VIEWERS.length]!), SCOPES[Math.floor(rest / VIEWERS.length)]!, now));
      for (const [key, expiresAt] of grants) {
        if (expiresAt === 0 || expiresAt >= now - 3) continue;
        const [id, viewer, scopeHash] = key.split(':');
        const r = rels.find((x) => x.id.toString() === id)!;
        const scope = SCOPES.find((s) => hashQuery(s) === scopeHash)!;
        checks.push(checkGrant(r, viewer as Address, scope, now).then((result) => result === 'expired' && expiredChecked++));
      }
      await Promise.all(checks);
    }),
    { ...RUNS, endOnFailure: true },
  );
  // The Summary read from the chain alone agrees with the model.
  for (const rel of rels) {
    const summary = await readSummary(f.governor, rel.patient);
    const r = summary.relationships.find((x) => x.id === rel.id.toString())!;
    assert.equal(r.status, STATUSES[rel.status]);
    assert.deepEqual(new Map(r.pointers.map((p) => [p.queryHash, p.dataHash])), rel.pointers);
    const live = [...grants].filter(([k]) => k.startsWith(`${rel.id}:`)).map(([k, e]) => `${k}:${e}`).sort();
    assert.deepEqual(r.grants.map((g) => `${grantKey(rel.id, g.viewer, g.scopeHash)}:${g.expiresAt}`).sort(), live);
  }
  assert.ok(succeeded >= 60 && refused >= 300, `${succeeded} allowed, ${refused} refused`);
  assert.ok(expiredChecked > 0, 'some grants expired and were checked');
  for (const outcome of ['grantViewer:ok', 'grantViewer:NotRelationshipPatient', 'revokeViewer:ok', 'updatePointer:ok', 'updatePointer:NotRelationshipProvider', 'setStatus:NotRelationshipProvider', 'respond:ok']) {
    assert.ok(seen.has(outcome), `the run covered ${outcome}`);
  }
});
