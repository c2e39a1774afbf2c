/** The SMART apps registered at the patient's providers: consent views offer and name them like any viewer, by their registered name. */
import type { Address } from 'viem';
import type { Session } from './session.js';
import { useLoad } from './use.js';

export interface SmartApp {
  name: string;
  address: Address;
}

/** Every app registered at any of the providers (GET /smart/apps), once per address. */
export async function smartApps(s: Session): Promise<SmartApp[]> {
  const apps = new Map<string, SmartApp>();
  await Promise.all(
    s.config.providers.map(async (p) => {
      const res = await fetch(`${p.gatekeeperUrl}/smart/apps`).catch(() => undefined);
      // A gatekeeper without SMART routes simply has no apps to name.
      if (!res?.ok) return;
      for (const app of (await res.json()) as SmartApp[]) apps.set(app.address.toLowerCase(), { name: app.name, address: app.address });
    }),
  );
  return [...apps.values()];
}

export async function smartAppNames(s: Session): Promise<Map<string, string>> {
  return new Map((await smartApps(s)).map((a) => [a.address.toLowerCase(), `${a.name} (app)`]));
}

/** The registered apps and a `nameOf` that names them too ("Heart Tracker (app)"), falling back to the session's names. */
export function useViewerNames(s: Session): { apps: SmartApp[]; nameOf: (address: string) => string } {
  const { data } = useLoad(() => smartApps(s), []);
  const apps = data ?? [];
  const nameOf = (address: string) => {
    const app = apps.find((a) => a.address.toLowerCase() === address.toLowerCase());
    return app ? `${app.name} (app)` : s.nameOf(address);
  };
  return { apps, nameOf };
}
