/**
 * Load and soak (issue 7): one provider's gatekeeper on loopback under many concurrent readers
 * (session tokens and freshly signed requests, from a worker thread) and a stream of provider writes
 * (each one a store write and an on-chain pointer update), for `minutes`. The default request limits
 * stay on (raised per address so the bench measures the gatekeeper, not its throttle), and every
 * reader is its own address. Memory is sampled every 5 s in this process, which is the gatekeeper's:
 * growth is measured from minute 1 (after warm-up) to the end.
 *
 *   node --import tsx bench/soak.ts [minutes]
 */
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { HEADERS, REQUEST_TYPES } from '../src/protocol/request-signature.js';
import { startGatekeeper } from '../src/gatekeeper/run.js';
import { findRelationship, grantViewer } from '../src/sdk/index.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { PEPPER, startFixture, tempDir } from './harness/chain.js';
import { labResult as lab } from './harness/linked-patients.js';

export interface SoakBench {
  readsPerSec: number;
  writesPerSec: number;
  /** Read latency over the whole run (token and signed reads together). */
  p50Ms: number;
  p99Ms: number;
  /** Non-200 reads plus failed writes: must be 0. */
  errors: number;
  /** Resident set size of the gatekeeper process at minute 1 and at the end. */
  memStartMb: number;
  memEndMb: number;
  memGrowthPct: number;
  /** JS heap after a full GC at minute 1 and at the end. */
  heapStartMb: number;
  heapEndMb: number;
  heapGrowthPct: number;
  tokenReadsPerSec: number;
  signedReadsPerSec: number;
  writeP50Ms: number;
  writeP99Ms: number;
  readers: number;
  minutes: number;
}

const READERS = 32;
const SIGNERS = 8;
const TOKEN_CONCURRENCY = 16;
const SIGNED_CONCURRENCY = 4;
const WRITERS = 2;
/** Pause between one writer's writes. */
const WRITE_PAUSE_MS = 200;
const SAMPLE_MS = 5_000;

const mb = (bytes: number) => +(bytes / 1_048_576).toFixed(1);
const pct = (from: number, to: number) => +((100 * (to - from)) / from).toFixed(1);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** The p-th percentile of a histogram of `bucketMs`-wide buckets (the bucket's upper edge). */
function histogramPercentile(histogram: Uint32Array, bucketMs: number, p: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen > (p / 100) * total) return (i + 1) * bucketMs;
  }
  return histogram.length * bucketMs;
}

/** The JS heap after a full collection (what is really held, not garbage waiting for the GC). */
const heapAfterGc = (() => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  return () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
})();

export async function benchSoak(log: (line: string) => void = console.log, minutes = 5): Promise<SoakBench> {
  const durationMs = minutes * 60_000;
  const f = await startFixture();
  const dataDir = tempDir('medledger-bench-soak-');
  const provider = await f.newProvider();
  const patient = await f.newPatient(provider, 'urn:bench|soak');
  const gk = await startGatekeeper({
    ledger: provider,
    database: { dataDir },
    anchorIntervalMs: 30_000,
    limits: { perAddress: { perSecond: 2_000, burst: 4_000 } },
  });
  let worker: Worker | undefined;
  let stopWriters = false;
  try {
    const gatekeeper = provider.account!.address;
    const patientId = (await gk.store.create({ resourceType: 'Patient', name: [{ family: 'Soak' }] })).id!;
    await linkPatient(gk.store, provider, patientId, 'urn:bench|soak', PEPPER);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await gk.store.create(lab(patientId, 80 + i))).id!);
    await publishRecord(gk.store, provider, await gk.store.read('Observation', ids[0]!));
    const rel = (await findRelationship(provider, { patient: patient.account!.address, provider: gatekeeper }))!;

    log(`  ${READERS} readers: granting and logging in…`);
    const keys = Array.from({ length: READERS }, () => generatePrivateKey());
    const tokens: string[] = [];
    const clients = keys.map((key) => gatekeeperClient({ url: gk.url, gatekeeper, chainId: provider.chainId, account: privateKeyToAccount(key) }));
    for (const key of keys) {
      await grantViewer(patient, { relationshipId: rel, viewer: privateKeyToAccount(key).address, scope: 'Observation?category=laboratory', expiresAt: 0 });
    }
    for (const client of clients) tokens.push(await client.login());
    const paths = [...ids.map((id) => `/fhir/R4/Observation/${id}`), '/fhir/R4/Observation?category=laboratory&_count=10'];

    // Writers: the provider's own app adding lab results through the gatekeeper.
    const writer = gatekeeperClient({ url: gk.url, gatekeeper, chainId: provider.chainId, account: provider.account! });
    const writeLatencies: number[] = [];
    let writeErrors = 0;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; !stopWriters; i++) {
        const start = performance.now();
        // A plausible glucose (src/protocol/plausibility.ts refuses impossible ones, 422); each write is
        // a new resource, so it changes its pointer's result set whatever the value.
        await writer.post('/fhir/R4/Observation', lab(patientId, 70 + ((w * 1_000 + i) % 200))).then(
          () => writeLatencies.push(performance.now() - start),
          (err: Error) => {
            writeErrors++;
            if (writeErrors <= 5) log(`  write failed: ${err.message}`);
          },
        );
        await new Promise((r) => setTimeout(r, WRITE_PAUSE_MS));
      }
    });

    log(`  soak: ${TOKEN_CONCURRENCY} token + ${SIGNED_CONCURRENCY} signed reader loops over ${READERS} addresses, ${WRITERS} writers, ${minutes} min…`);
    const samples: { t: number; rss: number; heap: number }[] = [];
    let heapStart = 0;
    const t0 = performance.now();
    const sample = () => {
      const m = process.memoryUsage();
      samples.push({ t: (performance.now() - t0) / 1000, rss: m.rss, heap: m.heapUsed });
    };
    sample();
    const sampler = setInterval(sample, SAMPLE_MS);
    const atMinute1 = setTimeout(() => (heapStart = heapAfterGc()), 60_000);
    // Session tokens last 15 minutes: longer soaks log in again every 10.
    const relogin = setInterval(() => {
      void Promise.all(clients.map((c) => c.login())).then((fresh) => worker?.postMessage({ tokens: fresh }));
    }, 600_000);

    let last = { token: 0, signed: 0, errors: 0, seconds: 0 };
    let lastWrites = 0;
    worker = new Worker(new URL('./soak-worker.mjs', import.meta.url), {
      workerData: {
        base: gk.url,
        paths,
        tokens,
        signers: keys.slice(0, SIGNERS),
        gatekeeper,
        chainId: provider.chainId,
        types: REQUEST_TYPES,
        headers: HEADERS,
        tokenConcurrency: TOKEN_CONCURRENCY,
        signedConcurrency: SIGNED_CONCURRENCY,
        durationMs,
        reportMs: 60_000,
      },
    });
    const done = await new Promise<{ token: number; signed: number; errors: number; statuses: Record<string, number>; seconds: number; bucketMs: number; histogram: Uint32Array }>((resolve, reject) => {
      worker!.on('message', (m: { progress?: typeof last; done?: never }) => {
        if (m.done) return resolve(m.done);
        const p = m.progress!;
        const dt = p.seconds - last.seconds;
        const s = samples.at(-1)!;
        log(
          `  minute ${Math.round(p.seconds / 60)}: ${((p.token + p.signed - last.token - last.signed) / dt).toFixed(0)} reads/s, ` +
            `${((writeLatencies.length - lastWrites) / dt).toFixed(1)} writes/s, ${p.errors + writeErrors} errors, rss ${mb(s.rss)} MB, heap ${mb(s.heap)} MB`,
        );
        last = p;
        lastWrites = writeLatencies.length;
      });
      worker!.once('error', reject);
    });
    const seconds = (performance.now() - t0) / 1000;
    sample();
    const heapEnd = heapAfterGc();
    stopWriters = true;
    clearInterval(sampler);
    clearInterval(relogin);
    clearTimeout(atMinute1);
    await Promise.all(writers);

    const start = samples.find((s) => s.t >= 60) ?? samples[0]!;
    const end = samples.at(-1)!;
    const sortedWrites = writeLatencies.sort((a, b) => a - b);
    const reads = done.token + done.signed;
    const result: SoakBench = {
      readsPerSec: Math.round(reads / done.seconds),
      writesPerSec: +(writeLatencies.length / seconds).toFixed(2),
      p50Ms: +histogramPercentile(done.histogram, done.bucketMs, 50).toFixed(2),
      p99Ms: +histogramPercentile(done.histogram, done.bucketMs, 99).toFixed(2),
      errors: done.errors + writeErrors,
      memStartMb: mb(start.rss),
      memEndMb: mb(end.rss),
      memGrowthPct: pct(start.rss, end.rss),
      heapStartMb: mb(heapStart),
      heapEndMb: mb(heapEnd),
      heapGrowthPct: heapStart ? pct(heapStart, heapEnd) : NaN,
      tokenReadsPerSec: Math.round(done.token / done.seconds),
      signedReadsPerSec: Math.round(done.signed / done.seconds),
      writeP50Ms: +percentile(sortedWrites, 50).toFixed(1),
      writeP99Ms: +percentile(sortedWrites, 99).toFixed(1),
      readers: READERS,
      minutes,
    };
    if (done.errors) log(`  read errors by status: ${JSON.stringify(done.statuses)}`);
    log(
      `  ${result.readsPerSec} reads/s (token ${result.tokenReadsPerSec}, signed ${result.signedReadsPerSec}), ${result.writesPerSec} writes/s, ` +
        `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${result.errors} errors; rss ${result.memStartMb} → ${result.memEndMb} MB (${result.memGrowthPct} %), ` +
        `heap after GC ${result.heapStartMb} → ${result.heapEndMb} MB (${result.heapGrowthPct} %)`,
    );
    return result;
  } finally {
    stopWriters = true;
    await worker?.terminate();
    await gk.close();
    await f.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchSoak(console.log, Number(process.argv[2] ?? 5)), null, 2));
}
