// The headers of a signed gatekeeper request, made on a bench worker thread (bench/soak-worker.mjs,
// bench/scale-writes-worker.mjs) as src/sdk/gatekeeper.ts makes them: EIP-712 over method, path, body
// hash, gatekeeper, a fresh nonce and a 60 s expiry. Plain JS: worker threads on Node 20 cannot load
// TypeScript through tsx, so the typed data's types and the header names come from the main thread
// (src/protocol/request-signature.ts REQUEST_TYPES and HEADERS).
import { randomBytes } from 'node:crypto';

/**
 * @param {import('viem').LocalAccount} account the requester's key
 * @param {{ chainId: number, gatekeeper: string, types: object, headers: Record<string, string> }} job
 * @param {{ method: string, path: string, bodyHash: string }} request
 */
export async function signedRequestHeaders(account, job, { method, path, bodyHash }) {
  const nonce = `0x${randomBytes(32).toString('hex')}`;
  const expiry = BigInt(Math.floor(Date.now() / 1000) + 60);
  const signature = await account.signTypedData({
    domain: { name: 'MedLedger Gatekeeper', version: '1', chainId: job.chainId },
    types: job.types,
    primaryType: 'Request',
    message: { method, path, bodyHash, gatekeeper: job.gatekeeper, nonce, expiry },
  });
  const H = job.headers;
  return { [H.address]: account.address, [H.chainId]: String(job.chainId), [H.nonce]: nonce, [H.expiry]: expiry.toString(), [H.signature]: signature };
}
