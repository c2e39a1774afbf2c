/**
 * The two baselines a federated study is judged against, on the same encoding (encoding.ts), the
 * same ridge penalty and the same rows: pooled (centralised) training on the union of the sites'
 * training rows — what a federation cannot build, the ceiling — and local-only training, each site
 * on its own rows. Both fitted exactly by Newton's method (src/ml/logistic.ts fitRidgeLogistic).
 */
import { fitRidgeLogistic } from '../logistic.js';
import type { Matrix } from '../matrix.js';
import { encodeStudyRow, type StudyEncoding } from './encoding.js';
import { STUDY_RIDGE, type StudyModel } from './model.js';

/** Raw rows → the study's columns. */
export function encodeStudyRows(encoding: StudyEncoding, x: Matrix): Matrix {
  const d = encoding.columns.length;
  const data = new Float64Array(x.rows * d);
  for (let i = 0; i < x.rows; i++) encodeStudyRow(encoding, x.data.subarray(i * x.cols, (i + 1) * x.cols), data.subarray(i * d, (i + 1) * d));
  return { data, rows: x.rows, cols: d };
}

/** A study model (one shared intercept) fitted centrally on `x`, `y`. */
export function fitStudyModelCentrally(encoding: StudyEncoding, x: Matrix, y: Uint8Array, sites: readonly string[] = []): StudyModel {
  const fit = fitRidgeLogistic(encodeStudyRows(encoding, x), y, { lambda: STUDY_RIDGE });
  return {
    kind: 'medledger-study-logistic',
    version: 1,
    columns: encoding.columns.map((c) => c.name),
    weights: fit.coefficients,
    intercept: fit.intercept,
    sites: [...sites],
    siteIntercepts: [],
    round: 0,
    velocity: [],
    rows: [],
  };
}
