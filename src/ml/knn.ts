/**
 * Exact k-nearest neighbours ("patients like this one") by a linear scan over standardised
 * feature vectors in one flat row-major array. Keeps only the k best in a bounded max-heap, so the
 * scan costs O(n·d + n·log k) and never sorts all n; a row is abandoned as soon as its partial
 * distance exceeds the current k-th best.
 *
 * Rows should be standardised first (src/ml/preprocess.ts encodeRows), or Euclidean distance is
 * dominated by whichever feature has the largest unit.
 */

export interface KnnIndex {
  data: Float32Array | Float64Array;
  /** Number of rows (patients). */
  rows: number;
  /** Values per row. */
  cols: number;
}

export interface Neighbours {
  /** Row indices, nearest first; equal distances in ascending row order. */
  indices: Int32Array;
  /** Euclidean distances, ascending. */
  distances: Float64Array;
}

/** Wraps a flat row-major array of `cols` values per row. */
export function createKnnIndex(data: Float32Array | Float64Array, cols: number): KnnIndex {
  if (!Number.isInteger(cols) || cols < 1 || data.length % cols !== 0) throw new Error(`createKnnIndex: ${data.length} values are not rows of ${cols}`);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new Error(`createKnnIndex: value ${i} is not finite (impute before indexing)`);
  return { data, rows: data.length / cols, cols };
}

/** The k rows nearest to `query` (k is capped at the number of rows). */
export function nearestNeighbours(index: KnnIndex, query: ArrayLike<number>, k: number): Neighbours {
  const { data, rows, cols } = index;
  if (query.length !== cols) throw new Error(`nearestNeighbours: query has ${query.length} values, index rows have ${cols}`);
  if (!Number.isInteger(k) || k < 1) throw new Error('nearestNeighbours: k must be a positive integer');
  const size = Math.min(k, rows);
  // Max-heap on (distance², row): the root is the worst of the best `size` seen so far.
  const heapDist = new Float64Array(size);
  const heapRow = new Int32Array(size);
  let count = 0;
  const q = Float64Array.from(query);
  const worse = (da: number, ra: number, db: number, rb: number) => da > db || (da === db && ra > rb);

  for (let r = 0, base = 0; r < rows; r++, base += cols) {
    const bound = count === size ? heapDist[0]! : Infinity;
    let sum = 0;
    let j = 0;
    // Partial sums in blocks of 4, checked against the bound between blocks.
    for (; j + 4 <= cols; j += 4) {
      const a = data[base + j]! - q[j]!;
      const b = data[base + j + 1]! - q[j + 1]!;
      const c = data[base + j + 2]! - q[j + 2]!;
      const e = data[base + j + 3]! - q[j + 3]!;
      sum += a * a + b * b + c * c + e * e;
      if (sum > bound) break;
    }
    if (sum > bound) continue;
    for (; j < cols; j++) {
      const a = data[base + j]! - q[j]!;
      sum += a * a;
    }
    if (count < size) {
      // Sift up.
      let i = count++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(sum, r, heapDist[parent]!, heapRow[parent]!)) break;
        heapDist[i] = heapDist[parent]!;
        heapRow[i] = heapRow[parent]!;
        i = parent;
      }
      heapDist[i] = sum;
      heapRow[i] = r;
    } else if (worse(heapDist[0]!, heapRow[0]!, sum, r)) {
      // Replace the root and sift down.
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        const child = right < size && worse(heapDist[right]!, heapRow[right]!, heapDist[left]!, heapRow[left]!) ? right : left;
        if (!worse(heapDist[child]!, heapRow[child]!, sum, r)) break;
        heapDist[i] = heapDist[child]!;
        heapRow[i] = heapRow[child]!;
        i = child;
      }
      heapDist[i] = sum;
      heapRow[i] = r;
    }
  }

  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => heapDist[a]! - heapDist[b]! || heapRow[a]! - heapRow[b]!);
  return {
    indices: Int32Array.from(order, (i) => heapRow[i]!),
    distances: Float64Array.from(order, (i) => Math.sqrt(heapDist[i]!)),
  };
}
