/**
 * The manager's demo mode (`medledger start --demo`, what `npm start` runs): so that a demo patient
 * can sign in by picking their name, the manager serves the *encrypted* keystores of the demo users
 * who hold no institutional power — to this machine only. Providers, the registrar and the governor
 * never get their keystore over HTTP (whoever holds it can act as a hospital); nobody's password is
 * ever sent (the terminal prints the demo passwords). See issue 14 §4.
 */
import { isIP } from 'node:net';

/**
 * Roles whose demo keystores the manager may hand out (deny by default: any other role, never). A
 * public-health officer's key obtains only weekly counts with small cells suppressed from providers.
 */
export const DEMO_SIGN_IN_ROLES: ReadonlySet<string> = new Set(['patient', 'third-party', 'public-health']);

/** Whether `host` (a listen host or a request's remote address) is this machine's loopback. */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Refuses demo mode on a listen host others can reach (0.0.0.0, a LAN address, a name). */
export function assertDemoBind(host: string): void {
  if (!isLoopback(host)) {
    throw new Error(`demo mode serves demo keystores and is for this machine only: it cannot listen on ${host} (use 127.0.0.1, or start without --demo)`);
  }
}
