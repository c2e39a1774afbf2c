/**
 * The SMART authorize page (https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code):
 * an app sends the patient here; they sign in with their own key (decrypted in this page, never sent),
 * see which app asks, which data and for how long, and decide. Approving writes one on-chain grant to
 * the app's address per approved scope, with the chosen expiry, then signs the authorization code (a
 * Sign-In with Ethereum message, protocol/smart/authorization-code.ts) and returns to the app. The
 * grants are the consent: the token the app gets reads only through them, and a revoke on the
 * Sharing tab stops it.
 */
import { useState } from 'react';
import { generateSiweNonce } from 'viem/siwe';
import { formatScope, parseScopes } from '../../../../consent/smart.js';
import { grantScopeOf } from '../../../../consent/smart-grants.js';
import { isWithin } from '../../../../protocol/pointer-query.js';
import { authorizationMessage, encodeCode } from '../../../../protocol/smart/authorization-code.js';
import { grantViewer } from '../../../../sdk/grants.js';
import { readSummary } from '../../../../sdk/summary.js';
import { scopeLabel } from '../../lib/fhir.js';
import type { ManagerConfig, Session } from '../../lib/session.js';
import { unixNow, useAction, useLoad } from '../../lib/use.js';
import { SignIn } from '../SignIn.js';

const EXPIRIES = [
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
  { label: '1 year', seconds: 365 * 86_400 },
];

interface AppRegistration { clientId: string; name: string; redirectUris: string[]; address: `0x${string}` }

/** The request's parameters, the provider it is for and the registered app, or why it cannot be shown. */
async function loadRequest(config: ManagerConfig, q: URLSearchParams) {
  const aud = (q.get('aud') ?? '').replace(/\/$/, '');
  const provider = config.providers.find((p) => `${p.gatekeeperUrl.replace(/\/$/, '')}/fhir/R4` === aud);
  if (!provider) throw new Error(`this manager does not know the records server ${aud || '(none given)'}`);
  if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) throw new Error('the app must ask for a code with a PKCE S256 challenge');
  const res = await fetch(`${provider.gatekeeperUrl}/smart/apps/${encodeURIComponent(q.get('client_id') ?? '')}`);
  if (!res.ok) throw new Error(`${provider.label} has not registered the app "${q.get('client_id')}"`);
  const app = (await res.json()) as AppRegistration;
  if (!app.redirectUris.includes(q.get('redirect_uri') ?? '')) throw new Error(`the app's return address is not the one ${provider.label} registered`);
  return { aud, provider, app, redirectUri: q.get('redirect_uri')!, state: q.get('state') ?? undefined, scope: q.get('scope') ?? '', codeChallenge: q.get('code_challenge')! };
}

type Request = Awaited<ReturnType<typeof loadRequest>>;

export function AuthorizeApp({ config }: { config: ManagerConfig }) {
  const q = new URLSearchParams(location.search);
  const request = useLoad(() => loadRequest(config, q), []);
  const [session, setSession] = useState<Session>();
  if (request.error) return <p className="error" role="alert" data-testid="authorize-error">This app cannot be authorized: {request.error}.</p>;
  if (!request.data) return <p className="muted">Loading the app's request…</p>;
  if (!session) {
    return (
      <>
        <p data-testid="authorize-intro"><strong>{request.data.app.name}</strong> asks to read your records at {request.data.provider.label}. Sign in with your key to decide.</p>
        <SignIn config={config} onSession={setSession} />
      </>
    );
  }
  return <Consent s={session} r={request.data} />;
}

function Consent({ s, r }: { s: Session; r: Request }) {
  const summary = useLoad(() => readSummary(s.ledger, s.account.address), [s.account.address]);
  const rel = summary.data?.relationships.find((x) => x.provider.toLowerCase() === r.provider.address.toLowerCase() && x.status !== 'rejected');
  const asked = parseScopes(r.scope);
  const items = asked.filter((x) => x.kind === 'resource').map((scope) => {
    const grant = grantScopeOf(scope);
    const held = grant !== undefined && !!rel?.pointers.some((p) => isWithin(grant, p.query));
    return { text: formatScope(scope), grant, held };
  });
  const [chosen, setChosen] = useState<Set<string>>(() => new Set(items.filter((i) => i.grant).map((i) => i.text)));
  const [expiry, setExpiry] = useState(EXPIRIES[1]!.seconds);
  const action = useAction();
  const back = (params: Record<string, string>) => {
    const url = new URL(r.redirectUri);
    for (const [k, v] of Object.entries({ ...params, ...(r.state ? { state: r.state } : {}) })) url.searchParams.set(k, v);
    location.assign(url.toString());
  };
  const approve = () =>
    action.run(async () => {
      const approved = items.filter((i) => i.held && chosen.has(i.text));
      if (!rel || !approved.length) throw new Error('choose at least one kind of record this provider holds for you');
      const expiresAt = unixNow() + expiry;
      for (const i of approved) await grantViewer(s.ledger, { relationshipId: BigInt(rel.id), viewer: r.app.address, scope: i.grant!, expiresAt, pointers: rel.pointers.map((p) => p.query) });
      // Launch context and refresh stay as asked; the data scopes are what the patient approved.
      const scope = [...asked.filter((x) => x.kind === 'other').map(formatScope), ...approved.map((i) => i.text)].join(' ');
      const message = authorizationMessage({
        domain: location.host,
        address: s.account.address,
        chainId: s.config.chainId,
        statement: `I let ${r.app.name} read ${approved.map((i) => scopeLabel(i.grant!)).join(', ')} from ${r.provider.label} until ${new Date(expiresAt * 1000).toISOString()}.`,
        nonce: generateSiweNonce(),
        issuedAt: new Date(),
        approved: { clientId: r.app.clientId, redirectUri: r.redirectUri, scope, codeChallenge: r.codeChallenge, aud: r.aud },
      });
      back({ code: encodeCode(message, await s.account.signMessage({ message })) });
      return `Shared with ${r.app.name}. Returning to the app…`;
    });
  if (summary.error) return <p className="error" role="alert">Cannot read your relationships from the chain: {summary.error}</p>;
  // The choices depend on what the provider holds for the patient: shown once that is known.
  if (!summary.data) return <p className="muted">Reading what {r.provider.label} holds for you…</p>;
  return (
    <div className="authorize" data-testid="consent">
      <h2>{r.app.name} asks to see your records</h2>
      <p>From <strong>{r.provider.label}</strong>. The app gets its own address on chain (<code>{r.app.address}</code>); you can revoke it on your Sharing tab at any time.</p>
      {action.error && <p className="error" role="alert">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
      <fieldset>
        <legend>Which data</legend>
        {items.map((i) => (
          <label key={i.text}>
            <input type="checkbox" disabled={!i.held} checked={i.held && chosen.has(i.text)} data-testid={`consent-scope-${i.text}`}
              onChange={(e) => setChosen((c) => { const n = new Set(c); if (e.target.checked) n.add(i.text); else n.delete(i.text); return n; })} />
            {i.grant ? scopeLabel(i.grant) : i.text}{' '}
            {!i.grant ? <span className="muted">(cannot be shared: only a kind of record, optionally with categories, can)</span> : !i.held ? <span className="muted">({r.provider.label} holds none for you)</span> : null}
          </label>
        ))}
      </fieldset>
      <label>For how long <select value={expiry} onChange={(e) => setExpiry(Number(e.target.value))} data-testid="consent-expiry">
        {EXPIRIES.map((x) => <option key={x.label} value={x.seconds}>{x.label}</option>)}
      </select></label>
      <button onClick={approve} disabled={action.busy} data-testid="consent-approve">Allow</button>{' '}
      <button className="secondary" onClick={() => back({ error: 'access_denied' })} disabled={action.busy} data-testid="consent-deny">Deny</button>
    </div>
  );
}
