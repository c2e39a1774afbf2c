/**
 * While a provider's pointer is publishing (freshness.ts), the chart checks it again by itself on the
 * schedule of recheckDelayMs, quietly: only the ledger check runs again (read.ts
 * `recheck`), not the whole Records tab, so nothing else on the page reloads or announces itself. The
 * newest answer replaces the one `d` came with until `d` itself is replaced (a reload or "Check again").
 */
import { useEffect, useState } from 'react';
import { recheckDelayMs, SOON_TRIES } from './freshness.js';
import type { PointerCheck } from './integrity.js';
import type { ProviderRecords } from './read.js';

export interface LatestCheck {
  checks?: PointerCheck[];
  checkedAt?: string;
  /** A pointer still publishes after the first 30 seconds of checks. */
  slow: boolean;
  /** The automatic checks are over and a pointer still publishes: only "Check again" will look again. */
  gaveUp: boolean;
}

export function useLatestCheck(d: ProviderRecords): LatestCheck {
  const [rechecked, setRechecked] = useState<{ of: ProviderRecords; checks?: PointerCheck[]; checkedAt?: string; tries: number }>();
  const latest = rechecked?.of === d ? rechecked : { of: d, checks: d.checks, checkedAt: d.checkedAt, tries: 0 };
  const publishing = latest.checks?.some((c) => c.status === 'publishing') ?? false;
  const delay = publishing && d.recheck ? recheckDelayMs(latest.tries) : undefined;
  useEffect(() => {
    if (delay === undefined) return;
    let live = true;
    const tries = latest.tries + 1;
    const timer = setTimeout(() => {
      d.recheck!().then(
        (r) => live && setRechecked({ of: d, ...r, tries }),
        // A failed check (gatekeeper or node briefly away) counts as a try; the last answer stays.
        () => live && setRechecked({ ...latest, tries }),
      );
    }, delay);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // Each answer (a new `latest`) schedules the next try.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [d, delay, latest.tries]);
  return { checks: latest.checks, checkedAt: latest.checkedAt, slow: publishing && latest.tries >= SOON_TRIES, gaveUp: publishing && delay === undefined };
}
