/**
 * How long a share lasts: quick choices, a date picked on a calendar (from tomorrow on; the share ends
 * at the end of that day, local time), or explicitly no expiry. The contract refuses an expiry in the
 * past; this refuses it first, in words.
 */
import { useId } from 'react';

const DAY = 86_400;
const QUICK = [
  { value: String(DAY), label: '1 day' },
  { value: String(7 * DAY), label: '1 week' },
  { value: String(30 * DAY), label: '30 days' },
  { value: String(365 * DAY), label: '1 year' },
];

export interface Expiry {
  /** Seconds from now as a string, 'date' (then `date` counts), or 'none'. */
  choice: string;
  /** yyyy-mm-dd from the date input. */
  date: string;
}

export const FIRST_EXPIRY: Expiry = { choice: String(DAY), date: '' };

/** yyyy-mm-dd of the local day `days` from today. */
export function localDay(days: number): string {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The expiry as unix seconds (0 = none), or an error saying what to choose instead. */
export function expiresAtOf(e: Expiry, now: number): number {
  if (e.choice === 'none') return 0;
  if (e.choice !== 'date') return now + Number(e.choice);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(e.date)) throw new Error('choose the day the share ends, or a quick choice');
  if (e.date < localDay(1)) throw new Error('the day the share ends must be tomorrow or later');
  return Math.floor(new Date(`${e.date}T23:59:59`).getTime() / 1000);
}

export function ExpiryChoice({ value, onChange }: { value: Expiry; onChange: (e: Expiry) => void }) {
  const id = useId();
  return (
    <>
      <label>For <select value={value.choice} onChange={(e) => onChange({ ...value, choice: e.target.value, date: value.date || localDay(7) })} data-testid="share-expiry">
        {QUICK.map((q) => <option key={q.value} value={q.value}>{q.label}</option>)}
        <option value="date">until a day I choose…</option>
        <option value="none">no expiry (until I revoke it)</option>
      </select></label>
      {value.choice === 'date' && (
        <label htmlFor={id}>Last day <input id={id} type="date" min={localDay(1)} value={value.date} onChange={(e) => onChange({ ...value, date: e.target.value })} data-testid="share-expiry-date" /></label>
      )}
    </>
  );
}
