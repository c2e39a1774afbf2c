/**
 * Sign-in: unlock a keystore here in the browser. Everyone can choose their own keystore file (the
 * only way for a provider: the manager never hands out a provider's key); in a demo, a demo patient
 * can instead pick their name, and the manager hands this page their *encrypted* keystore. Either
 * way the password is typed here and never leaves the page (the demo's passwords are printed in the
 * terminal that started it, never sent by the manager).
 */
import { useState } from 'react';
import { fetchKeystore, openSession, type ManagerConfig, type Session } from '../lib/session.js';
import type { KeystoreV3 } from '../lib/keystore.js';
import { describe } from '../lib/use.js';

export function SignIn({ config, onSession }: { config: ManagerConfig; onSession: (s: Session) => void }) {
  const demoUsers = config.users.filter((u) => u.demoSignIn);
  const [user, setUser] = useState(demoUsers[0]?.address ?? '');
  const [password, setPassword] = useState('');
  const [file, setFile] = useState<{ keystore: KeystoreV3; name: string }>();
  const [state, setState] = useState<{ busy?: boolean; error?: string; progress?: number }>({});
  const signIn = async () => {
    setState({ busy: true, progress: 0 });
    try {
      if (!file && !user) throw new Error('choose your keystore file first');
      const keystore = file?.keystore ?? (await fetchKeystore(user as `0x${string}`));
      onSession(await openSession(config, keystore, password, (progress) => setState({ busy: true, progress })));
    } catch (err) {
      setState({ error: describe(err) });
    }
  };
  const readFile = async (f: File | undefined) => {
    setState({});
    if (!f) return setFile(undefined);
    try {
      const keystore = JSON.parse(await f.text()) as KeystoreV3;
      if (keystore?.version !== 3 || typeof keystore.address !== 'string') throw new Error('not a keystore');
      const owner = config.users.find((u) => u.address.toLowerCase() === `0x${keystore.address.toLowerCase().replace(/^0x/, '')}`);
      setFile({ keystore, name: owner ? (owner.label ?? owner.name) : `0x${keystore.address.replace(/^0x/, '')}` });
    } catch {
      setFile(undefined);
      setState({ error: 'That file is not a keystore. Choose the .json file that holds your encrypted key.' });
    }
  };
  return (
    <form className="signin" onSubmit={(e) => { e.preventDefault(); void signIn(); }}>
      <h2>Sign in</h2>
      <label>Your keystore file <input type="file" accept=".json,application/json" onChange={(e) => void readFile(e.target.files?.[0])} data-testid="signin-file" /></label>
      {file && <p className="muted" data-testid="signin-file-owner">Key of {file.name}</p>}
      {demoUsers.length > 0 && (
        <label>or, in this demo, pick your name <select value={user} onChange={(e) => { setUser(e.target.value); setPassword(''); }} data-testid="signin-user" disabled={!!file}>
          {demoUsers.map((u) => <option key={u.address} value={u.address}>{u.label ?? u.name} — {u.role}</option>)}
        </select></label>
      )}
      <label>Password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="signin-password" autoComplete="current-password" /></label>
      {demoUsers.length > 0 && !file && <p className="muted">The demo's passwords are printed in the terminal where it was started. Providers sign in with their own keystore file.</p>}
      <button type="submit" disabled={state.busy} data-testid="signin-submit">{state.busy ? `Unlocking… ${Math.round((state.progress ?? 0) * 100)} %` : 'Unlock and sign in'}</button>
      {state.error && <p className="error" role="alert">{state.error}</p>}
      <p className="muted">Your key is decrypted in this browser and stays in its memory; the manager never receives your password or key.</p>
    </form>
  );
}
