/** The SMART apps registered at the patient's providers, by address: the Sharing tab names them like any viewer. */
import type { Session } from './session.js';

export async function smartAppNames(s: Session): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  await Promise.all(
    s.config.providers.map(async (p) => {
      const res = await fetch(`${p.gatekeeperUrl}/smart/apps`).catch(() => undefined);
      // A gatekeeper without SMART routes simply has no apps to name.
      if (!res?.ok) return;
      for (const app of (await res.json()) as { name: string; address: string }[]) names.set(app.address.toLowerCase(), `${app.name} (app)`);
    }),
  );
  return names;
}
