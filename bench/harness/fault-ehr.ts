/**
 * Child process of the fault suite: the provider's EHR, which sends a burst's record writes to the
 * gatekeeper (fault-burst.ts). Its own process so that a `kill -9` drops every request it has in
 * flight, as a crashed EHR would: the gatekeeper sees the connections close mid-request. Call: `write`
 * (`{ patientId, id, category }`; resolves with the HTTP status, 201, or 409 when an earlier try of
 * the same write was stored; rejects on anything else).
 */
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { GatekeeperRequestError, gatekeeperClient } from '../../src/sdk/gatekeeper.js';
import { serveParent } from './fault-process.js';
import { observation } from './fault-records.js';

const config = JSON.parse(process.env.FAULT_CONFIG!) as { url: string; gatekeeper: Hex; chainId: number; key: Hex };
const own = gatekeeperClient({ url: config.url, gatekeeper: config.gatekeeper, chainId: config.chainId, account: privateKeyToAccount(config.key) });

const { ready } = serveParent({
  async write(args) {
    try {
      const r = await own.post('/fhir/R4/Observation', observation(args.patientId as string, args.id as string, args.category as string));
      return { status: r.status };
    } catch (err) {
      if (err instanceof GatekeeperRequestError && err.status === 409) return { status: 409 };
      throw err;
    }
  },
});
ready({});
