/**
 * Reads the TOML subset that Besu configuration files use: `key=value` lines at the top level
 * (no tables), values being basic strings, integers, booleans or arrays of those (over several lines,
 * trailing comma allowed), `#` comments. Anything else throws, so a file outside the subset is noticed.
 */
export type TomlValue = string | number | boolean | TomlValue[];

/** Parses `text` into its top-level keys; throws on duplicate keys and on syntax outside the subset. */
export function parseToml(text: string): Record<string, TomlValue> {
  const out: Record<string, TomlValue> = {};
  let i = 0;
  const skipSpace = (newlines: boolean) => {
    for (;;) {
      while (i < text.length && (text[i] === ' ' || text[i] === '\t' || (newlines && (text[i] === '\n' || text[i] === '\r')))) i++;
      if (newlines && text[i] === '#') while (i < text.length && text[i] !== '\n') i++;
      else return;
    }
  };
  const fail = (what: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`TOML line ${line}: ${what}`);
  };
  const value = (): TomlValue => {
    if (text[i] === '"') {
      const end = /"(?:[^"\\\n]|\\.)*"/y;
      end.lastIndex = i;
      const m = end.exec(text) ?? fail('unterminated string');
      i += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    if (text[i] === '[') {
      i++;
      const items: TomlValue[] = [];
      for (;;) {
        skipSpace(true);
        if (text[i] === ']') {
          i++;
          return items;
        }
        items.push(value());
        skipSpace(true);
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail('expected , or ] in array');
      }
    }
    const m = /(true|false|[+-]?\d[\d_]*)(?=[\s,\]#]|$)/y;
    m.lastIndex = i;
    const found = m.exec(text) ?? fail(`unsupported value "${text.slice(i, i + 20)}"`);
    i += found[0].length;
    if (found[1] === 'true' || found[1] === 'false') return found[1] === 'true';
    return Number(found[1]!.replace(/_/g, ''));
  };
  for (;;) {
    skipSpace(true);
    if (i >= text.length) return out;
    const key = /([A-Za-z0-9_-]+)[ \t]*=[ \t]*/y;
    key.lastIndex = i;
    const k = key.exec(text) ?? fail('expected key=value (tables and dotted keys are outside the subset)');
    i += k[0].length;
    if (Object.hasOwn(out, k[1]!)) fail(`duplicate key ${k[1]}`);
    out[k[1]!] = value();
    skipSpace(false);
    if (text[i] === '#') while (i < text.length && text[i] !== '\n') i++;
    if (i < text.length && text[i] !== '\n' && text[i] !== '\r') fail('expected end of line');
  }
}
