// Load generator thread (plain JS: worker threads on Node 20 cannot load TypeScript through tsx).
// Sends the given requests to a gatekeeper with fixed concurrency for a fixed time, and reports the
// count and latencies. workerData: { url, headers: [{…}], reuseHeaders, concurrency, durationMs }.
// node:http with a keep-alive agent rather than fetch: on Node 20 undici's fetch costs the client
// several times the CPU of node:http per request, and the client shares the machine with the server.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const job = workerData;
const latencies = [];
let errors = 0;
let next = 0;
const deadline = performance.now() + job.durationMs;
const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });

/** One GET; resolves with the status once the whole body has arrived. */
function get(headers) {
  return new Promise((resolve, reject) => {
    http
      .get(job.url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function loop() {
  while (performance.now() < deadline) {
    const headers = job.reuseHeaders ? job.headers[0] : job.headers[next++];
    if (!headers) return;
    const start = performance.now();
    const status = await get(headers).catch(() => 0);
    if (status !== 200) errors++;
    latencies.push(performance.now() - start);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: job.concurrency }, loop));
agent.destroy();
parentPort.postMessage({ count: latencies.length, errors, seconds: (performance.now() - started) / 1000, latencies });
