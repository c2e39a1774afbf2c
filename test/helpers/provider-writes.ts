/**
 * A demo provider adds a record the way its own app does: a signed POST to its gatekeeper (run in the
 * test's process), which stores it and publishes the pointer change on chain. For browser tests that
 * need a provider update while a patient watches.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Observation } from '@medplum/fhirtypes';
import type { DemoProvider } from '../../src/demo/generate.js';
import type { RunningSystem } from '../../src/manager/system.js';
import { ADDRESS_SYSTEM } from '../../src/protocol/identifiers.js';
import { gatekeeperClient } from '../../src/sdk/gatekeeper.js';

/** An HbA1c of 6.1 % for the patient whose keystore file is `patientKeystoreFile`, now, at `provider` ('st-marys'). */
export async function providerAddsLabResult(system: RunningSystem, provider: DemoProvider, patientKeystoreFile: string): Promise<void> {
  const gk = system.gatekeepers.get(provider)!;
  const address = (JSON.parse(readFileSync(patientKeystoreFile, 'utf8')) as { address: string }).address.replace(/^0x/, '').toLowerCase();
  const patient = await gk.store.findPatientByIdentifier(ADDRESS_SYSTEM, `0x${address}`);
  assert.ok(patient?.id, `the patient is linked at ${provider}`);
  const client = gatekeeperClient({ url: gk.url, gatekeeper: gk.ledger.account!.address, chainId: gk.ledger.chainId, account: gk.ledger.account! });
  const observation: Observation = {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }] },
    subject: { reference: `Patient/${patient.id}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
  };
  const res = await client.post('/fhir/R4/Observation', observation);
  assert.equal(res.status, 201, JSON.stringify(res.body));
}
