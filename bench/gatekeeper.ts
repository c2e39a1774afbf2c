/**
 * Gatekeeper throughput, each figure beside a reference measured in the same run:
 * - verifyLimitPerSec: raw secp256k1 signature recoveries per second on this thread (viem's
 *   recoverAddress on a precomputed hash: the ceiling for a request whose signer must be recovered);
 * - signedReadsPerSec: signed FHIR reads answered per second (client on another thread), one
 *   requester signing them all, as a high-rate client does: after its first request the gatekeeper
 *   checks its signatures against its known public key (request-signature.ts createSignerKeys);
 * - signedRecoveredReadsPerSec: the same with the signer-key cache off, so that every request is
 *   recovered (what a stream of first-time signers costs);
 * - tokenReadsPerSec: reads with a session token.
 * The gatekeeper's per-address rate limit is lifted: this measures its capacity.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { recoverAddress, hashTypedData, type Hex } from 'viem';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { findRelationship, grantViewer } from '../src/sdk/index.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { REQUEST_TYPES, bodyHash, signRequest } from '../src/protocol/request-signature.js';
import { PEPPER, startFixture, tempDir } from './harness/chain.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function load(job: { url: string; headers: Record<string, string>[]; reuseHeaders: boolean; concurrency: number; durationMs: number }) {
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), { workerData: job });
  const result = await new Promise<{ count: number; errors: number; seconds: number; latencies: number[] }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  const sorted = result.latencies.sort((a, b) => a - b);
  return { perSec: result.count / result.seconds, errors: result.errors, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

export interface GatekeeperBench {
  verifyLimitPerSec: number;
  signedReadsPerSec: number;
  signedReadP50Ms: number;
  signedReadP99Ms: number;
  signedRecoveredReadsPerSec: number;
  tokenReadsPerSec: number;
  tokenReadP50Ms: number;
  tokenReadP99Ms: number;
  errors: number;
}

export async function benchGatekeeper(
  log: (line: string) => void = console.log,
  seconds = 10,
  database: { dataDir: string } | { url: string } = { dataDir: tempDir('medledger-bench-gk-') },
): Promise<GatekeeperBench> {
  const f = await startFixture();
  const provider = await f.newProvider();
  const patient = await f.newPatient(provider, 'urn:bench|gk');
  const reader = await f.newAccount();
  const unlimited = { perAddress: { perSecond: 1e9, burst: 1e9 } };
  /** The patient, linked, with 20 laboratory results (the same ids each time); returns the first result's id. */
  const run = randomUUID();
  const seed = async (store: RunningGatekeeper['store'], publish: boolean) => {
    const patientId = (await store.create({ resourceType: 'Patient', id: `bench-${run}`, name: [{ family: 'Bench' }] })).id!;
    await linkPatient(store, provider, patientId, 'urn:bench|gk', PEPPER);
    let first: string | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await store.create({
        resourceType: 'Observation',
        id: `bench-${run}-${i}`,
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
        subject: { reference: `Patient/${patientId}` },
        valueQuantity: { value: 80 + i, unit: 'mg/dL' },
      });
      first ??= r.id;
      if (publish && i === 19) await publishRecord(store, provider, r);
    }
    return first!;
  };
  const gk = await startGatekeeper({ ledger: provider, database, limits: unlimited });
  let recovering: RunningGatekeeper | undefined;
  try {
    const obs = await seed(gk.store, true);
    const rel = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
    await grantViewer(patient, { relationshipId: rel, viewer: reader.address, scope: 'Observation?category=laboratory', expiresAt: 0 });
    const path = `/fhir/R4/Observation/${obs}`;
    const fields = { method: 'GET', path, gatekeeper: provider.account!.address, chainId: provider.chainId };

    // Reference: raw recoveries per second on this thread.
    const sample = await signRequest(reader, fields);
    const hash = hashTypedData({
      domain: { name: 'MedLedger Gatekeeper', version: '1', chainId: provider.chainId },
      types: REQUEST_TYPES,
      primaryType: 'Request',
      message: { method: 'GET', path, bodyHash: bodyHash(undefined), gatekeeper: provider.account!.address, nonce: sample['x-medledger-nonce'] as Hex, expiry: BigInt(sample['x-medledger-expiry']!) },
    });
    const recoveriesPerSec = async () => {
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 3_000) {
        await recoverAddress({ hash, signature: sample['x-medledger-signature'] as Hex });
        n++;
      }
      return n / ((performance.now() - t0) / 1000);
    };
    // Measured before and after the signed reads, and averaged: on a shared machine the CPU this
    // thread gets drifts, and the ratio signed / limit should compare like with like.
    const before = await recoveriesPerSec();
    log(`  raw signature recoveries: ${before.toFixed(0)}/s`);

    // Signed reads: every request pre-signed once (signing is the client's cost, not the gatekeeper's).
    // Enough for 1.5 × the recovery limit over the whole run; a faster gatekeeper uses them up sooner
    // (the rate is over the time it took).
    const presign = async (perSec: number) => {
      const count = Math.ceil(perSec * seconds);
      log(`  pre-signing ${count} requests…`);
      const signed: Record<string, string>[] = [];
      for (let i = 0; i < count; i++) signed.push(await signRequest(reader, fields, { ttlSeconds: 290 }));
      return signed;
    };
    const s = await load({ url: `${gk.url}${path}`, headers: await presign(1.5 * before), reuseHeaders: false, concurrency: 8, durationMs: seconds * 1000 });
    log(`  signed reads: ${s.perSec.toFixed(0)}/s (p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, ${s.errors} errors)`);
    const afterwards = await recoveriesPerSec();
    const verifyLimitPerSec = (before + afterwards) / 2;
    log(`  raw signature recoveries again: ${afterwards.toFixed(0)}/s (limit taken as ${verifyLimitPerSec.toFixed(0)}/s)`);

    const token = await gatekeeperClient({ url: gk.url, gatekeeper: provider.account!.address, chainId: provider.chainId, account: reader }).login();
    const t = await load({ url: `${gk.url}${path}`, headers: [{ authorization: `Bearer ${token}` }], reuseHeaders: true, concurrency: 16, durationMs: seconds * 1000 });
    log(`  token reads: ${t.perSec.toFixed(0)}/s (p50 ${t.p50Ms.toFixed(1)} ms, p99 ${t.p99Ms.toFixed(1)} ms, ${t.errors} errors)`);
    await gk.close();

    // The same signed reads on a gatekeeper that recovers every signature (a fresh database: PGlite
    // directories are not shared, and a PostgreSQL schema gets the same rows again).
    const fresh = 'url' in database ? database : { dataDir: tempDir('medledger-bench-gk-') };
    recovering = await startGatekeeper({ ledger: provider, database: fresh, limits: unlimited, signerKeys: 0 });
    if (!('url' in database)) await seed(recovering.store, false);
    const r = await load({ url: `${recovering.url}${path}`, headers: await presign(1.1 * verifyLimitPerSec), reuseHeaders: false, concurrency: 8, durationMs: seconds * 1000 });
    log(`  signed reads, every signature recovered: ${r.perSec.toFixed(0)}/s (p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors)`);
    return {
      verifyLimitPerSec: Math.round(verifyLimitPerSec),
      signedReadsPerSec: Math.round(s.perSec),
      signedReadP50Ms: +s.p50Ms.toFixed(2),
      signedReadP99Ms: +s.p99Ms.toFixed(2),
      signedRecoveredReadsPerSec: Math.round(r.perSec),
      tokenReadsPerSec: Math.round(t.perSec),
      tokenReadP50Ms: +t.p50Ms.toFixed(2),
      tokenReadP99Ms: +t.p99Ms.toFixed(2),
      errors: s.errors + t.errors + r.errors,
    };
  } finally {
    await gk.close().catch(() => undefined); // closed already unless the run failed before
    await recovering?.close();
    await f.close();
  }
}
