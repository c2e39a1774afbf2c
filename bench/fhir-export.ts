/**
 * Bulk Data export throughput (`fhir.exportResourcesPerSec`): a researcher granted the laboratory
 * Observations and Patient of 20 patients on chain exports them with `Patient/$export` from a
 * gatekeeper on a PGlite data directory — kick-off, polling, and every NDJSON file downloaded, signed
 * requests over HTTP. Resources exported per second of that whole round trip; the same store also
 * holds as many vital signs the grants do not cover, which the consent filter leaves out.
 */
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { Resource } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import { linkPatient, publishPatient } from '../src/gatekeeper/publish/publish.js';
import { startGatekeeper, type RunningGatekeeper } from '../src/gatekeeper/run.js';
import { signRequest } from '../src/protocol/request-signature.js';
import { findRelationship, grantViewer, type LedgerClient } from '../src/sdk/index.js';
import { PEPPER, startFixture, tempDir } from './harness/chain.js';

export interface FhirExportBench {
  exportResourcesPerSec: number;
  exportedResources: number;
  exportPatients: number;
  exportFiles: number;
  exportSeconds: number;
  /** The machine's 1-minute load average as the export ended (the figure is for a shared machine). */
  exportLoadAverage: number;
}

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

function observations(patientId: string, n: number, category: string): Resource[] {
  return Array.from({ length: n }, (_, i) => ({
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: CATEGORY, code: category }] }],
    code: { coding: [{ system: 'http://loinc.org', code: category === 'laboratory' ? '718-7' : '8867-4', display: category === 'laboratory' ? 'Hemoglobin' : 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString(),
    valueQuantity: { value: 10 + (i % 70) / 10, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
  }));
}

async function signedFetch(gk: RunningGatekeeper, ledger: LedgerClient, account: LocalAccount, url: string, headers: Record<string, string> = {}) {
  const path = url.startsWith('http') ? url.slice(gk.url.length) : url;
  const signed = await signRequest(account, { method: 'GET', path, gatekeeper: gk.chain.provider, chainId: ledger.chainId });
  return fetch(`${gk.url}${path}`, { headers: { ...signed, ...headers } });
}

/** One export, kick-off to the last file; returns resources exported and files. */
async function exportOnce(gk: RunningGatekeeper, ledger: LedgerClient, researcher: LocalAccount): Promise<{ resources: number; files: number }> {
  const kick = await signedFetch(gk, ledger, researcher, '/fhir/R4/Patient/$export?_type=Patient,Observation', { prefer: 'respond-async' });
  if (kick.status !== 202) throw new Error(`kick-off: ${kick.status} ${await kick.text()}`);
  const status = kick.headers.get('content-location')!;
  let manifest: { output: { url: string }[] } | undefined;
  while (!manifest) {
    const r = await signedFetch(gk, ledger, researcher, status);
    if (r.status === 200) manifest = (await r.json()) as typeof manifest;
    // Every 50 ms rather than the Retry-After of 1 s: finer would spend the gatekeeper's thread on signatures.
    else if (r.status === 202) await new Promise((resolve) => setTimeout(resolve, 50));
    else throw new Error(`status: ${r.status} ${await r.text()}`);
  }
  let resources = 0;
  for (const file of manifest!.output) {
    const text = await (await signedFetch(gk, ledger, researcher, file.url)).text();
    for (const line of text.split('\n')) if (line) resources++;
  }
  return { resources, files: manifest!.output.length };
}

export async function benchFhirExport(log: (line: string) => void = console.log, patients = 20, perPatient = 2500): Promise<FhirExportBench> {
  const f = await startFixture();
  const provider = await f.newProvider();
  const researcher = await f.newAccount();
  const dataDir = tempDir('medledger-bench-export-');
  const gk = await startGatekeeper({ ledger: provider, database: { dataDir }, limits: { perAddress: { perSecond: 1e9, burst: 1e9 } } });
  try {
    for (let p = 0; p < patients; p++) {
      const identity = `urn:bench|export-${p}`;
      const patient = await f.newPatient(provider, identity);
      const { id } = await gk.store.create({ resourceType: 'Patient', name: [{ family: `Export${p}` }] });
      await linkPatient(gk.store, provider, id, identity, PEPPER);
      await gk.store.createMany([...observations(id, perPatient, 'laboratory'), ...observations(id, perPatient, 'vital-signs')], { validate: false });
      await publishPatient(gk.store, provider, id); // the relationship and its pointers
      const relationshipId = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
      for (const scope of ['Observation?category=laboratory', 'Patient']) await grantViewer(patient, { relationshipId, viewer: researcher.address, scope, expiresAt: 0 });
    }
    log(`  ${patients} patients, ${patients * perPatient * 2} Observations stored (half of them granted)`);
    await exportOnce(gk, provider, researcher); // warm-up: caches, JIT
    const started = performance.now();
    const { resources, files } = await exportOnce(gk, provider, researcher);
    const seconds = (performance.now() - started) / 1000;
    const expected = patients * (perPatient + 1);
    if (resources !== expected) throw new Error(`exported ${resources} resources, expected ${expected}`);
    log(`  exported ${resources} resources in ${files} files in ${seconds.toFixed(2)} s`);
    return { exportResourcesPerSec: resources / seconds, exportedResources: resources, exportPatients: patients, exportFiles: files, exportSeconds: seconds, exportLoadAverage: loadavg()[0]! };
  } finally {
    await gk.close();
    await f.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
