/**
 * FHIR REST throughput. `fhir.transactionResourcesPerSec`: the Synthea sample (data/synthea-sample,
 * 3 patients) imported as one transaction Bundle per patient (bench/harness/synthea.ts: urn:uuid and
 * conditional references, conditional creates of the directory) over HTTP with a session token, into a
 * gatekeeper on a PGlite data directory. Entries processed per second of the whole round trip
 * (validation, reference rewriting, one database transaction, the response Bundle), after one warm-up
 * round; each round's patients are new resources, its directory entries find the first round's.
 */
import { loadavg } from 'node:os';
import { startGatekeeper } from '../src/gatekeeper/run.js';
import { gatekeeperClient } from '../src/sdk/gatekeeper.js';
import { startFixture, tempDir } from './harness/chain.js';
import { patientBundle, readSyntheaSample } from './harness/synthea.js';

export interface FhirTransactionBench {
  transactionResourcesPerSec: number;
  /** Entries processed in the measured rounds (created, updated or found). */
  transactionResources: number;
  /** Of those, resources created. */
  transactionCreated: number;
  transactionBundles: number;
  transactionSeconds: number;
  /** The machine's 1-minute load average when the measurement ended: other work shares the cores. */
  transactionLoadAverage: number;
}

export async function benchFhirTransaction(log: (line: string) => void, rounds = 3): Promise<FhirTransactionBench> {
  const f = await startFixture();
  const provider = await f.newProvider();
  const gk = await startGatekeeper({ ledger: provider, database: { dataDir: tempDir('medledger-bench-fhir-') }, limits: { bodyBytes: 4_000_000 } });
  try {
    const token = await gatekeeperClient({ url: gk.url, gatekeeper: gk.chain.provider, chainId: provider.chainId, account: provider.account! }).login();
    const sample = readSyntheaSample();
    const bodies = sample.get('Patient')!.map((p) => JSON.stringify(patientBundle(sample, p.id!)));
    const send = async (body: string) => {
      const res = await fetch(`${gk.url}/fhir/R4`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body });
      if (res.status !== 200) throw new Error(`transaction answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      const statuses = ((await res.json()) as { entry: { response: { status: string } }[] }).entry.map((e) => e.response.status);
      return { entries: statuses.length, created: statuses.filter((s) => s.startsWith('201')).length };
    };
    for (const body of bodies) await send(body); // warm-up: JIT, the directory's first creation
    let entries = 0;
    let created = 0;
    const start = performance.now();
    for (let round = 0; round < rounds; round++) {
      for (const body of bodies) {
        const r = await send(body);
        entries += r.entries;
        created += r.created;
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const perSec = entries / seconds;
    log(`  ${entries} entries (${created} created) in ${rounds * bodies.length} transaction Bundles, ${seconds.toFixed(2)} s: ${Math.round(perSec)} resources/s (load average ${loadavg()[0]!.toFixed(1)})`);
    const load = Number(loadavg()[0]!.toFixed(1));
    return { transactionResourcesPerSec: Math.round(perSec), transactionResources: entries, transactionCreated: created, transactionBundles: rounds * bodies.length, transactionSeconds: Number(seconds.toFixed(2)), transactionLoadAverage: load };
  } finally {
    await gk.close();
    await f.close();
  }
}
