/**
 * The public-health side of a running system: what each provider's gatekeeper reports (its
 * surveillance reporting, src/gatekeeper/http/surveillance.ts), and where the public-health
 * authority's series come from — the providers' weekly counts, asked with requests signed by the
 * authority's key, summed per condition and region, plus the real reference series (src/ml/surveillance.ts).
 *
 * In `medledger start` the authority's collector runs inside the one process, as the providers'
 * gatekeepers do; in a real deployment it runs at the authority, with its key, and the providers'
 * gatekeepers answer it over the network exactly as here.
 */
import { getAddress, type Address, type LocalAccount } from 'viem';
import type { SurveillanceReporting } from '../gatekeeper/index.js';
import { unlockUser, type UserRecord } from '../keys/users.js';
import { gatekeeperClient } from '../sdk/gatekeeper.js';
import { collectWeeklyCases, combineReports, lastWeeks, referenceSeries, reportWeeklyCases, type ReportingProvider, type SurveillanceSeries } from '../ml/surveillance.js';
import type { OutbreakSource } from './outbreak-routes.js';

/** What a provider's gatekeeper reports, and to whom: the public-health users of the data directory. */
export function surveillanceReporting(users: readonly { role: string; address: string }[]): SurveillanceReporting {
  return { authorities: users.filter((u) => u.role === 'public-health').map((u) => getAddress(u.address)), aggregate: reportWeeklyCases };
}

export interface OutbreakSourceOptions {
  /** The authority's key; without one only the reference series are served. */
  authority?: LocalAccount;
  gatekeepers: { name: string; url: string; provider: Address }[];
  chainId: number;
  /** Weeks of provider counts asked for, up to this week (default 156: three years). */
  weeks?: number;
  /** How long a collection is reused (default 60 s: providers report weekly counts). */
  maxAgeMs?: number;
  now?: () => Date;
}

/** The authority's series: providers' counts (collected at most every `maxAgeMs`) and the reference series. */
export function createOutbreakSource(options: OutbreakSourceOptions): OutbreakSource {
  const { authority, chainId, weeks = 156, maxAgeMs = 60_000, now = () => new Date() } = options;
  const reference = referenceSeries();
  const providers: ReportingProvider[] = authority
    ? options.gatekeepers.map((g) => ({ name: g.name, client: gatekeeperClient({ url: g.url, gatekeeper: g.provider, chainId, account: authority }) }))
    : [];
  type Collection = { at: number; value: Promise<{ series: SurveillanceSeries[]; failed: string[] }> };
  let last: Collection | undefined;
  const collect = async () => {
    const { reports, failed } = await collectWeeklyCases(providers, lastWeeks(now(), weeks));
    return { series: [...combineReports(reports), ...reference], failed };
  };
  return {
    series() {
      const at = now().getTime();
      if (!last || at - last.at > maxAgeMs) {
        const collection: Collection = { at, value: collect() };
        last = collection;
        // A failed collection is not kept: the next request tries again.
        collection.value.catch(() => {
          if (last === collection) last = undefined;
        });
      }
      return last.value;
    },
  };
}

/**
 * The demo's authority: the data directory's public-health user (its stored demo password unlocks
 * it) asking each running gatekeeper; reference series only when there is no such user.
 */
export function publicHealthSource(dataDir: string, users: readonly UserRecord[], gatekeepers: readonly { name: string; url: string; provider: Address }[], chainId: number): OutbreakSource {
  const officer = users.find((u) => u.role === 'public-health');
  return createOutbreakSource({
    authority: officer ? unlockUser(dataDir, officer.name) : undefined,
    gatekeepers: gatekeepers.map(({ name, url, provider }) => ({ name, url, provider })),
    chainId,
  });
}
