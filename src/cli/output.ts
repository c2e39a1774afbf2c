/**
 * How the CLI prints for people and for scripts (issue 18, "CLI for people"): a table or aligned
 * lines by default, JSON with `--json` (the `gh` / `kubectl -o json` convention), colour only when
 * stdout is a terminal and NO_COLOR is unset (https://no-color.org), and a spinner on stderr for waits
 * over a second, also only on a terminal — so a pipe or a script always gets plain, stable text.
 */

/** Columns padded to the widest cell, a rule under the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => visible(r[c] ?? '').length)));
  const line = (r: readonly string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(widths[c]! - visible(cell).length))).join('  ').trimEnd();
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visible = (text: string) => text.replace(ANSI, '');

export type Colour = 'green' | 'red' | 'yellow' | 'dim' | 'bold';
const CODES: Record<Colour, [number, number]> = { green: [32, 39], red: [31, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] };

/** Whether to colour what goes to `stream`: a terminal, and NO_COLOR not set. */
export function colourFor(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!stream.isTTY && !env.NO_COLOR;
}

export function paint(text: string, colour: Colour, on: boolean): string {
  return on ? `\x1b[${CODES[colour][0]}m${text}\x1b[${CODES[colour][1]}m` : text;
}

/** Any JSON-able value as people read it: arrays of records as tables, records as aligned "key  value" lines. */
export function human(value: unknown, nameOf: (address: string) => string = (a) => a): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '(none)';
    if (value.every(isRecord)) {
      const keys = [...new Set(value.flatMap((v) => Object.keys(v)))];
      return table([keys, ...value.map((v) => keys.map((k) => cell(v[k], nameOf)))]);
    }
    return value.map((v) => cell(v, nameOf)).join('\n');
  }
  if (isRecord(value)) {
    const keys = Object.keys(value);
    const width = Math.max(...keys.map((k) => k.length));
    return keys
      .map((k) => {
        const v = value[k];
        if (Array.isArray(v) && v.some(isRecord)) return `${k}:\n${indent(human(v, nameOf))}`;
        if (isRecord(v)) return `${k}:\n${indent(human(v, nameOf))}`;
        return `${k.padEnd(width)}  ${cell(v, nameOf)}`;
      })
      .join('\n');
  }
  return cell(value, nameOf);
}

function cell(v: unknown, nameOf: (address: string) => string): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'string') return /^0x[0-9a-fA-F]{40}$/.test(v) ? nameOf(v) : v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map((x) => cell(x, nameOf)).join(', ');
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const indent = (text: string) => text.split('\n').map((l) => `  ${l}`).join('\n');

export interface Spinner {
  stop(): void;
}

/**
 * A spinner on `stream` (stderr) with `label`, shown only if the wait passes `delayMs` and only on a
 * terminal; stop() clears its line. Timers are injected so a test drives it without waiting.
 */
export function startSpinner(
  label: string,
  { stream = process.stderr, delayMs = 1000, everyMs = 100, timers = { setTimeout, clearTimeout, setInterval, clearInterval } }: { stream?: { isTTY?: boolean; write(s: string): unknown }; delayMs?: number; everyMs?: number; timers?: Pick<typeof globalThis, 'setTimeout' | 'clearTimeout' | 'setInterval' | 'clearInterval'> } = {},
): Spinner {
  if (!stream.isTTY) return { stop() {} };
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let frame = 0;
  let shown = false;
  let ticker: ReturnType<typeof setInterval> | undefined;
  const draw = () => {
    shown = true;
    stream.write(`\r${frames[frame++ % frames.length]} ${label}\x1b[K`);
  };
  const start = timers.setTimeout(() => {
    draw();
    ticker = timers.setInterval(draw, everyMs);
  }, delayMs);
  return {
    stop() {
      timers.clearTimeout(start);
      if (ticker) timers.clearInterval(ticker);
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

/** Awaits `work` with a spinner (startSpinner) labelled `label`. */
export async function waiting<T>(label: string, work: Promise<T>): Promise<T> {
  const spinner = startSpinner(label);
  try {
    return await work;
  } finally {
    spinner.stop();
  }
}
