/** Small React helpers: load data (reloading when `deps` change) and run actions with busy/error state. */
import { useCallback, useEffect, useState } from 'react';
import { LedgerError } from '../../../chain/write.js';
import { describeError } from '../../../sdk/errors.js';

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err: unknown) => live && setState({ error: describe(err), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
}

export function useAction(): { busy: boolean; error?: string; message?: string; run: (what: () => Promise<string | void>) => Promise<void> } {
  const [state, setState] = useState<{ busy: boolean; error?: string; message?: string }>({ busy: false });
  const run = useCallback(async (what: () => Promise<string | void>) => {
    setState({ busy: true });
    try {
      const message = await what();
      setState({ busy: false, message: message ?? undefined });
    } catch (err) {
      setState({ busy: false, error: describe(err) });
    }
  }, []);
  return { ...state, run };
}

/** One line for an error: a gatekeeper's OperationOutcome diagnostics, a contract's custom error, or the message. */
export function describe(err: unknown): string {
  // The CLI's plain words for contract refusals ("patient 0x… has forbidden break-glass access"), not `BreakGlassDisabled(0x…)`.
  if (err instanceof LedgerError) return describeError(err);
  const e = err as { shortMessage?: string; message?: string };
  return (e?.shortMessage ?? e?.message ?? String(err)).split('\n')[0]!;
}

export const unixNow = () => Math.floor(Date.now() / 1000);

export const expiryText = (expiresAt: number): string =>
  expiresAt === 0 ? 'no expiry' : expiresAt <= unixNow() ? `expired ${new Date(expiresAt * 1000).toLocaleString()}` : `until ${new Date(expiresAt * 1000).toLocaleString()}`;
