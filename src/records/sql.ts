/**
 * A tiny SQL builder: fragments carry their values, are composed with `sql` and `join`, and are
 * numbered ($1, $2, …) only when rendered — so the consent filter and the search filter can be ANDed
 * without either knowing the other's placeholders. Values are never spliced into the text.
 */

export interface Sql {
  readonly strings: readonly string[];
  readonly values: readonly unknown[];
}

const isSql = (v: unknown): v is Sql =>
  typeof v === 'object' && v !== null && 'strings' in v && 'values' in v && Array.isArray((v as Sql).strings);

/** Tagged template: `sql\`a = ${x}\`` → a fragment with one value; nested fragments are inlined. */
export function sql(strings: TemplateStringsArray | readonly string[], ...values: unknown[]): Sql {
  const outStrings: string[] = [strings[0]!];
  const outValues: unknown[] = [];
  values.forEach((value, i) => {
    const next = strings[i + 1]!;
    if (isSql(value)) {
      outStrings[outStrings.length - 1] += value.strings[0]!;
      for (let j = 0; j < value.values.length; j++) {
        outValues.push(value.values[j]);
        outStrings.push(value.strings[j + 1]!);
      }
      outStrings[outStrings.length - 1] += next;
    } else {
      outValues.push(value);
      outStrings.push(next);
    }
  });
  return { strings: outStrings, values: outValues };
}

/** Trusted SQL text (identifiers and keywords from code, never from input). */
export function raw(text: string): Sql {
  return { strings: [text], values: [] };
}

/** Joins fragments with `separator` (e.g. ' AND '); an empty list gives `empty`. */
export function join(parts: readonly Sql[], separator: string, empty = ''): Sql {
  if (parts.length === 0) return raw(empty);
  // Built in one pass: folding with sql`` would copy the growing fragment each time (quadratic).
  const strings: string[] = [''];
  const values: unknown[] = [];
  parts.forEach((part, i) => {
    strings[strings.length - 1] += (i > 0 ? separator : '') + part.strings[0]!;
    for (let j = 0; j < part.values.length; j++) {
      values.push(part.values[j]);
      strings.push(part.strings[j + 1]!);
    }
  });
  return { strings, values };
}

/** AND of the fragments; `TRUE` when empty. */
export const and = (parts: readonly Sql[]): Sql => (parts.length ? sql`(${join(parts, ' AND ')})` : raw('TRUE'));
/** OR of the fragments; `FALSE` when empty (deny by default). */
export const or = (parts: readonly Sql[]): Sql => (parts.length ? sql`(${join(parts, ' OR ')})` : raw('FALSE'));

/** Numbers the placeholders: `{ text: 'a = $1', values: [x] }`. */
export function render(fragment: Sql): { text: string; values: unknown[] } {
  let text = fragment.strings[0]!;
  for (let i = 1; i < fragment.strings.length; i++) text += `$${i}${fragment.strings[i]}`;
  return { text, values: [...fragment.values] };
}
