/**
 * The one numeric shape the ML code passes around: a dense row-major matrix in a flat typed array.
 * Flat storage keeps rows contiguous (cache-friendly for the kNN scan and the Newton updates) and
 * lets a data set cross a worker or a file boundary without copying objects.
 */
export interface Matrix {
  /** rows × cols values, row i at data[i*cols … i*cols+cols-1]; NaN marks a missing raw value. */
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Row i as a view (no copy). */
export function rowOf(m: Matrix, i: number): Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** The rows at `indices`, in that order (a copy). */
export function takeRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const data = new Float64Array(indices.length * m.cols);
  for (let k = 0; k < indices.length; k++) data.set(rowOf(m, indices[k]!), k * m.cols);
  return { data, rows: indices.length, cols: m.cols };
}

/** The entries of `values` at `indices`. */
export function takeLabels(values: Uint8Array, indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) out[k] = values[indices[k]!]!;
  return out;
}

/** Rows of several matrices with the same columns, one after another. */
export function stackRows(parts: readonly Matrix[]): Matrix {
  const cols = parts[0]?.cols ?? 0;
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const data = new Float64Array(rows * cols);
  let offset = 0;
  for (const p of parts) {
    if (p.cols !== cols) throw new Error('stackRows: column counts differ');
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { data, rows, cols };
}
