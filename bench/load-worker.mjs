// Load generator thread (plain JS: worker threads on Node 20 cannot load TypeScript through tsx).
// Sends the given requests to a gatekeeper with fixed concurrency for a fixed time, and reports the
// count and latencies. workerData: { url, headers: [{…}], reuseHeaders, concurrency, durationMs }.
import { parentPort, workerData } from 'node:worker_threads';

const job = workerData;
const latencies = [];
let errors = 0;
let next = 0;
const deadline = performance.now() + job.durationMs;

async function loop() {
  while (performance.now() < deadline) {
    const headers = job.reuseHeaders ? job.headers[0] : job.headers[next++];
    if (!headers) return;
    const start = performance.now();
    const res = await fetch(job.url, { headers });
    await res.arrayBuffer();
    if (res.status !== 200) errors++;
    latencies.push(performance.now() - start);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: job.concurrency }, loop));
parentPort.postMessage({ count: latencies.length, errors, seconds: (performance.now() - started) / 1000, latencies });
