// Soak load generator thread (plain JS: worker threads on Node 20 cannot load TypeScript through tsx).
// Many concurrent readers against one gatekeeper for a fixed time, then it stops by itself:
// - token readers: each loop cycles through the readers' session tokens;
// - signed readers: each request freshly signed (EIP-712, bench/harness/signed-request.mjs),
//   here on this thread so signing costs the client, not the gatekeeper.
// Latencies go into a fixed histogram (0.05 ms buckets), so this thread's memory stays flat however
// long it runs. Every `reportMs` it posts its counts so far; at the end, the histogram.
// workerData: { base, paths, tokens, signers: [privateKey], gatekeeper, chainId, types, headers,
//               tokenConcurrency, signedConcurrency, durationMs, reportMs }
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { signedRequestHeaders } from './harness/signed-request.mjs';

const job = workerData;
const BUCKET_MS = 0.05;
const histogram = new Uint32Array(200_000); // up to 10 s; slower answers land in the last bucket
const counts = { token: 0, signed: 0, errors: 0, statuses: {} };
const agent = new http.Agent({ keepAlive: true, maxSockets: job.tokenConcurrency + job.signedConcurrency });
const signers = job.signers.map((key) => privateKeyToAccount(key));
const EMPTY_BODY_HASH = keccak256(new Uint8Array());
const deadline = performance.now() + job.durationMs;
let next = 0;

/** One GET; resolves with the status once the whole body has arrived. */
function get(path, headers) {
  return new Promise((resolve, reject) => {
    http
      .get(`${job.base}${path}`, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function signed(path) {
  return signedRequestHeaders(signers[next++ % signers.length], job, { method: 'GET', path, bodyHash: EMPTY_BODY_HASH });
}

async function loop(kind, offset) {
  let i = offset;
  while (performance.now() < deadline) {
    const path = job.paths[i % job.paths.length];
    const headers = kind === 'token' ? { authorization: `Bearer ${job.tokens[i % job.tokens.length]}` } : await signed(path);
    i++;
    const start = performance.now();
    const status = await get(path, headers).catch(() => 0);
    const ms = performance.now() - start;
    histogram[Math.min(histogram.length - 1, Math.floor(ms / BUCKET_MS))]++;
    counts[kind]++;
    if (status !== 200) {
      counts.errors++;
      counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
    }
  }
}

// Fresh session tokens from the main thread (tokens expire after 15 minutes).
const onMessage = (m) => {
  if (m.tokens) job.tokens = m.tokens;
};
parentPort.on('message', onMessage);

const started = performance.now();
const timer = setInterval(() => parentPort.postMessage({ progress: { ...counts, statuses: { ...counts.statuses }, seconds: (performance.now() - started) / 1000 } }), job.reportMs);
await Promise.all([
  ...Array.from({ length: job.tokenConcurrency }, (_, k) => loop('token', k * 7)),
  ...Array.from({ length: job.signedConcurrency }, (_, k) => loop('signed', k * 11)),
]);
clearInterval(timer);
parentPort.off('message', onMessage);
agent.destroy();
parentPort.postMessage({ done: { ...counts, seconds: (performance.now() - started) / 1000, bucketMs: BUCKET_MS, histogram } });
