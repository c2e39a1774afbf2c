/**
 * Issue 14 §4: the EHR Manager hands out no key that lets someone act as a hospital, and no password.
 * Every route of the manager is fetched with every demo user's address, and every answer is searched
 * for every demo password, every private key and every keystore the route may not serve: in demo mode
 * only the demo patients' (and researcher's) encrypted keystores, to this machine only; outside demo
 * mode none at all; and demo mode refuses to listen where others can reach it.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Address } from 'viem';
import { testConfig, tempDir } from '../bench/harness/chain.js';
import { decryptKeystore } from '../src/keys/keystore.js';
import { loadUsers, readKeystore, type UserRecord } from '../src/keys/users.js';
import { DEMO_SIGN_IN_ROLES, isLoopback } from '../src/manager/demo-mode.js';
import { buildManager } from '../src/manager/server.js';
import { startSystem } from '../src/manager/system.js';

const external = !!process.env.MEDLEDGER_RPC_URL;
const dataDir = tempDir('medledger-demo-mode-');
const cfg = { ...testConfig(dataDir), port: 0, gatekeeperPort: 0 };
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** The manager's route table, read from the server itself so a route added later is walked too. */
function managerRoutes(): { method: string; path: string }[] {
  const app = buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: 'http://127.0.0.1:9', providers: [], users: [],
    keystoreOf: () => undefined, hub: { subscribe: () => () => undefined } as never, webRoot: dataDir, demo: true,
  });
  const table = app.printRoutes({ commonPrefix: false });
  const routes = [...table.matchAll(/(\S+) \(([A-Z, ]+)\)/g)].flatMap(([, path, methods]) =>
    methods!.split(', ').filter((m) => m !== 'HEAD').map((method) => ({ method, path: path === '*' ? '/*' : path! })));
  assert.ok(routes.length >= 5, table);
  return routes;
}

/** Every answer of `base` to every route, with every address in every place a route takes one. */
async function everyAnswer(base: string, addresses: Address[]): Promise<{ request: string; status: number; text: string }[]> {
  const answers: { request: string; status: number; text: string }[] = [];
  for (const { method, path } of managerRoutes()) {
    for (const address of addresses.flatMap((a) => [a, a.toLowerCase()])) {
      const url = `${base}${path.replace(':address', address).replace('*', `keys/${address.toLowerCase()}.json`)}`;
      const bodies = method === 'POST'
        ? [{ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [address, 'latest'] }, { jsonrpc: '2.0', id: 2, method: 'eth_getCode', params: [address, 'latest'] }]
        : [undefined];
      for (const body of bodies) {
        // Server-sent events never end: read what the stream says in its first moments.
        const abort = new AbortController();
        const res = await fetch(url, { method, signal: abort.signal, headers: body ? { 'content-type': 'application/json' } : {}, body: body && JSON.stringify(body) });
        const text = res.headers.get('content-type')?.startsWith('text/event-stream')
          ? await firstChunk(res, abort)
          : await res.text();
        answers.push({ request: `${method} ${url}`, status: res.status, text: `${JSON.stringify([...res.headers])}\n${text}` });
      }
    }
  }
  return answers;
}

async function firstChunk(res: Response, abort: AbortController): Promise<string> {
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  abort.abort();
  return new TextDecoder().decode(value);
}

/** What no answer may contain: passwords and private keys always; the ciphertext of keystores not allowed. */
function forbidden(users: UserRecord[], servable: (u: UserRecord) => boolean): { what: string; text: string }[] {
  return users.flatMap((u) => {
    const keystore = readKeystore(dataDir, u.address);
    const secrets = [
      { what: `${u.name}'s password`, text: u.demoPassword! },
      { what: `${u.name}'s private key`, text: decryptKeystore(keystore, u.demoPassword!).slice(2) },
    ];
    return servable(u) ? secrets : [...secrets, { what: `${u.name}'s keystore`, text: keystore.crypto.ciphertext }];
  });
}

function assertNoneLeaks(answers: { request: string; text: string }[], secrets: { what: string; text: string }[]): void {
  assert.ok(secrets.every((s) => s.text && s.text.length >= 12), 'every secret is a real string to look for');
  for (const { request, text } of answers) {
    const lower = text.toLowerCase();
    for (const s of secrets) assert.ok(!lower.includes(s.text.toLowerCase()), `${request} sent ${s.what}`);
  }
}

test('demo mode refuses to listen where others can reach it, before starting anything', async () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.20', 'medledger.example']) {
    const dir = tempDir('medledger-demo-bind-');
    await assert.rejects(startSystem({ ...testConfig(dir), port: 0, gatekeeperPort: 0 }, { patients: 0, demo: true, host }), /demo mode .* cannot listen on/);
    assert.equal(existsSync(join(dir, 'chain')), false, `nothing started for ${host}`);
    rmSync(dir, { recursive: true, force: true });
  }
  for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'localhost.example', '', undefined]) assert.equal(isLoopback(host), false, String(host));
});

test('demo mode: no route serves a provider\'s or the governor\'s keystore or any password; demo patients get their encrypted keystore', { skip: external && 'runs the embedded demo', timeout: 300_000 }, async () => {
  const system = await startSystem(cfg, { patients: 0, demo: true, researchSites: false });
  try {
    const users = loadUsers(dataDir);
    assert.deepEqual(users.map((u) => u.role).sort(), ['governor', 'patient', 'patient', 'provider', 'provider', 'public-health', 'third-party']);
    const servable = (u: UserRecord) => DEMO_SIGN_IN_ROLES.has(u.role);
    const answers = await everyAnswer(system.url, users.map((u) => u.address));
    assertNoneLeaks(answers, forbidden(users, servable));

    // What is served: each demo patient's own keystore, encrypted; the providers' and governor's never.
    for (const u of users) {
      const res = await fetch(`${system.url}/api/keystores/${u.address}`);
      if (servable(u)) {
        assert.equal(res.status, 200, u.name);
        assert.equal(((await res.json()) as { crypto: { ciphertext: string } }).crypto.ciphertext, readKeystore(dataDir, u.address).crypto.ciphertext);
      } else {
        assert.equal(res.status, 404, `${u.name} (${u.role})`);
      }
    }
    const config = (await (await fetch(`${system.url}/api/config`)).json()) as { demo: boolean; users: Record<string, unknown>[] };
    assert.equal(config.demo, true);
    for (const u of config.users) {
      assert.deepEqual(Object.keys(u).sort(), ['address', 'demoSignIn', 'label', 'name', 'role']);
      assert.equal(u.demoSignIn, DEMO_SIGN_IN_ROLES.has(u.role as string), String(u.name));
    }
  } finally {
    await system.stop();
  }
});

test('demo mode serves a demo patient\'s keystore to this machine only', async () => {
  const alice = { name: 'alice', role: 'patient', address: `0x${'a1'.repeat(20)}` as Address };
  const app = buildManager({
    chainId: 1, contract: `0x${'0'.repeat(40)}`, deployBlock: 0n, rpcUrl: 'http://127.0.0.1:9', providers: [], users: [alice],
    keystoreOf: () => '{"version":3}', hub: { subscribe: () => () => undefined } as never, webRoot: dataDir, demo: true,
  });
  const from = async (remoteAddress: string) => (await app.inject({ url: `/api/keystores/${alice.address}`, remoteAddress })).statusCode;
  assert.equal(await from('127.0.0.1'), 200);
  assert.equal(await from('::1'), 200);
  for (const remote of ['10.1.2.3', '192.168.0.7', '::ffff:172.16.0.1', '2001:db8::1']) assert.equal(await from(remote), 403, remote);
});

test('outside demo mode no keystore is served at all, and still no password', { skip: external && 'runs the embedded demo', timeout: 300_000 }, async () => {
  // The demo data directory of the test above, started again without --demo.
  const system = await startSystem(cfg, { patients: 0, researchSites: false });
  try {
    const users = loadUsers(dataDir);
    assertNoneLeaks(await everyAnswer(system.url, users.map((u) => u.address)), forbidden(users, () => false));
    for (const u of users) assert.equal((await fetch(`${system.url}/api/keystores/${u.address}`)).status, 404, u.name);
    const config = (await (await fetch(`${system.url}/api/config`)).json()) as { demo: boolean; users: { demoSignIn: boolean }[] };
    assert.equal(config.demo, false);
    assert.ok(config.users.every((u) => u.demoSignIn === false));
  } finally {
    await system.stop();
  }
});
