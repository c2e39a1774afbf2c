// Write-load generator of the scale bench (bench/scale-writes.ts), on its own thread so that signing
// costs the client, not the gatekeeper (plain JS: worker threads on Node 20 cannot load TypeScript
// through tsx). `concurrency` writers, each in a loop: a new lab Observation for the next patient in
// turn, signed by the provider's key as src/sdk/gatekeeper.ts signs (EIP-712, a fresh nonce per
// request), POSTed, the answer awaited. No new write starts after `durationMs`; the writes in flight
// then finish, and every write's times (ms since the epoch: the main thread's clock too) go back.
// A write not answered within `timeoutMs` counts as failed. Every `reportMs` it posts its counts so far.
// workerData: { base, key, gatekeeper, chainId, types, headers, template, patients: [patientId], concurrency,
//               durationMs, timeoutMs, reportMs }
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { keccak256, stringToBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { signedRequestHeaders } from './harness/signed-request.mjs';

const job = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
const account = privateKeyToAccount(job.key);
const PATH = '/fhir/R4/Observation';
const writes = [];
const failures = { count: 0, samples: [] };
let next = 0;

// The lab result of bench/harness/linked-patients.ts (`labResult`), passed in as workerData.template.
const lab = (patientId, value) => ({ ...job.template, subject: { reference: `Patient/${patientId}` }, valueQuantity: { ...job.template.valueQuantity, value } });

function signedHeaders(body) {
  return signedRequestHeaders(account, job, { method: 'POST', path: PATH, bodyHash: keccak256(stringToBytes(body)) }).then((h) => ({ 'content-type': 'application/fhir+json', ...h }));
}

/** One POST; resolves with the status and the parsed answer. */
function post(body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${job.base}${PATH}`, { method: 'POST', agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = { text };
        }
        resolve({ status: res.statusCode, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(job.timeoutMs, () => req.destroy(new Error(`no answer in ${job.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

let inFlight = 0;

async function writer(deadline) {
  while (Date.now() < deadline) {
    const n = next++;
    const patient = n % job.patients.length;
    // A plausible glucose (src/gatekeeper/http/plausible.ts refuses impossible ones); each write is a new
    // resource, so it changes its pointer's result set whatever the value.
    const body = JSON.stringify(lab(job.patients[patient], 70 + (n % 200)));
    const headers = await signedHeaders(body);
    const sentAt = Date.now();
    inFlight++;
    const answer = await post(body, headers).catch((err) => ({ status: 0, json: { text: err.message } }));
    inFlight--;
    const ackedAt = Date.now();
    if (answer.status === 201 && answer.json?.id) {
      writes.push({ patient, id: answer.json.id, sentAt, ackedAt });
    } else {
      failures.count++;
      if (failures.samples.length < 5) failures.samples.push(`${answer.status}: ${JSON.stringify(answer.json).slice(0, 300)}`);
    }
  }
}

const startedAt = Date.now();
const deadline = startedAt + job.durationMs;
const timer = setInterval(() => parentPort.postMessage({ progress: { seconds: (Date.now() - startedAt) / 1000, acknowledged: writes.length, failed: failures.count, inFlight } }), job.reportMs);
await Promise.all(Array.from({ length: job.concurrency }, () => writer(deadline)));
clearInterval(timer);
agent.destroy();
parentPort.postMessage({ startedAt, deadline, endedAt: Date.now(), writes, failures });
