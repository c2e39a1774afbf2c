/**
 * Sign-in: unlock a keystore here in the browser (the demo users' encrypted keystores come from the
 * manager; anyone can import their own file). The password never leaves the page.
 */
import { useState } from 'react';
import { fetchKeystore, openSession, type ManagerConfig, type Session } from '../lib/session.js';
import type { KeystoreV3 } from '../lib/keystore.js';
import { describe } from '../lib/use.js';

export function SignIn({ config, onSession }: { config: ManagerConfig; onSession: (s: Session) => void }) {
  const [user, setUser] = useState(config.users[0]?.address ?? '');
  const [password, setPassword] = useState('');
  const [file, setFile] = useState<KeystoreV3>();
  const [state, setState] = useState<{ busy?: boolean; error?: string; progress?: number }>({});
  const chosen = config.users.find((u) => u.address === user);
  const signIn = async () => {
    setState({ busy: true, progress: 0 });
    try {
      const keystore = file ?? (await fetchKeystore(user as `0x${string}`));
      onSession(await openSession(config, keystore, password, (progress) => setState({ busy: true, progress })));
    } catch (err) {
      setState({ error: describe(err) });
    }
  };
  const readFile = async (f: File | undefined) => {
    if (!f) return setFile(undefined);
    try {
      setFile(JSON.parse(await f.text()) as KeystoreV3);
    } catch {
      setState({ error: 'that file is not a keystore (JSON)' });
    }
  };
  return (
    <form className="signin" onSubmit={(e) => { e.preventDefault(); void signIn(); }}>
      <h2>Sign in</h2>
      <label>As <select value={user} onChange={(e) => { setUser(e.target.value); setFile(undefined); setPassword(''); }} data-testid="signin-user" disabled={!!file}>
        {config.users.map((u) => <option key={u.address} value={u.address}>{u.label ?? u.name} — {u.role}</option>)}
      </select></label>
      <label>or with your keystore file <input type="file" accept=".json,application/json" onChange={(e) => void readFile(e.target.files?.[0])} /></label>
      <label>Password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="signin-password" autoComplete="current-password" /></label>
      {chosen?.demoPassword && !file && (
        <p className="muted">Demo password for {chosen.name}: <code>{chosen.demoPassword}</code> <button type="button" className="link" onClick={() => setPassword(chosen.demoPassword!)}>use it</button></p>
      )}
      <button type="submit" disabled={state.busy} data-testid="signin-submit">{state.busy ? `Unlocking… ${Math.round((state.progress ?? 0) * 100)} %` : 'Unlock and sign in'}</button>
      {state.error && <p className="error" role="alert">{state.error}</p>}
      <p className="muted">Your key is decrypted in this browser and stays in its memory; the manager never receives your password or key.</p>
    </form>
  );
}
