/**
 * `smart.tokenCheckUs`: what authenticating one request with a SMART access token costs the
 * gatekeeper (auth/authenticate.ts): the JWT's signature and expiry (jose, HS256) and the app's
 * requester — its on-chain grants from the chain view, narrowed by the token's patient and scopes
 * (smart/access.ts) — in microseconds, averaged over many checks of the same token (its signature is
 * checked once, then remembered, like a session token's), no HTTP; and a token's first check. Beside
 * them the reference measured in the same run: a session token (auth/tokens.ts) and its requester.
 */
import { performance } from 'node:perf_hooks';
import { linkPatient, publishRecord } from '../src/gatekeeper/publish/publish.js';
import { resolveRequester } from '../src/gatekeeper/auth/requester.js';
import { createTokenIssuer } from '../src/gatekeeper/auth/tokens.js';
import { startGatekeeper } from '../src/gatekeeper/run.js';
import { smartRequester } from '../src/gatekeeper/smart/access.js';
import { createSmartAuthority } from '../src/gatekeeper/smart/authority.js';
import { registerApp } from '../src/gatekeeper/smart/apps.js';
import { findRelationship, grantViewer } from '../src/sdk/index.js';
import { PEPPER, startFixture, tempDir } from './harness/chain.js';

export interface SmartBench {
  tokenCheckUs: number;
  /** A token's first check: its HS256 signature verified (later checks find it remembered). */
  tokenFirstCheckUs: number;
  sessionTokenCheckUs: number;
  tokenChecks: number;
}

export async function benchSmartTokenCheck(log: (line: string) => void, checks = 20_000): Promise<SmartBench> {
  const f = await startFixture();
  const provider = await f.newProvider();
  const gk = await startGatekeeper({ ledger: provider, database: { dataDir: tempDir('medledger-bench-smart-') } });
  try {
    const patient = await f.newPatient(provider, 'urn:bench|smart');
    const p = await gk.store.create({ resourceType: 'Patient' });
    await linkPatient(gk.store, provider, p.id!, 'urn:bench|smart', PEPPER);
    const obs = await gk.store.create({ resourceType: 'Observation', status: 'final', code: { text: 'Hb' }, subject: { reference: `Patient/${p.id}` }, category: [{ coding: [{ code: 'laboratory' }] }] });
    await publishRecord(gk.store, provider, obs);
    const app = await registerApp(gk.db, { clientId: 'bench', name: 'Bench', redirectUris: ['http://app.test/cb'] });
    const relationshipId = (await findRelationship(provider, { patient: patient.account!.address, provider: provider.account!.address }))!;
    await grantViewer(patient, { relationshipId, viewer: app.address, scope: 'Observation?category=laboratory', expiresAt: 0 });

    const smart = createSmartAuthority();
    const token = await smart.issue({ sub: app.address, client_id: 'bench', scope: 'patient/Observation.rs?category=laboratory', patient: p.id! }, 'access', smart.now() + 3600);
    const sessions = createTokenIssuer();
    const session = sessions.issue(app.address).token;
    const time = async (check: () => Promise<unknown>) => {
      for (let i = 0; i < 500; i++) await check(); // warm-up: JIT, the chain view's first look
      const start = performance.now();
      for (let i = 0; i < checks; i++) await check();
      return ((performance.now() - start) * 1000) / checks;
    };
    const tokenCheckUs = await time(async () => {
      const claims = await smart.verify(token, 'access');
      if (!claims || (await smartRequester(gk.store, gk.chain, claims)).requester.role !== 'viewer') throw new Error('token refused');
    });
    const fresh = await Promise.all(Array.from({ length: 2_000 }, (_, i) => smart.issue({ sub: app.address, client_id: 'bench', scope: `patient/Observation.rs?category=laboratory`, patient: p.id! }, 'access', smart.now() + 3600 + i)));
    const firstStart = performance.now();
    for (const t of fresh) if (!(await smart.verify(t, 'access'))) throw new Error('token refused');
    const tokenFirstCheckUs = ((performance.now() - firstStart) * 1000) / fresh.length;
    const sessionTokenCheckUs = await time(async () => resolveRequester(gk.store, gk.chain, sessions.verify(session)!));
    log(`smart: ${tokenCheckUs.toFixed(1)} µs per SMART token check (first check ${tokenFirstCheckUs.toFixed(1)} µs), ${sessionTokenCheckUs.toFixed(1)} µs per session token check (${checks} each)`);
    return { tokenCheckUs, tokenFirstCheckUs, sessionTokenCheckUs, tokenChecks: checks };
  } finally {
    await gk.close();
    await f.close();
  }
}
