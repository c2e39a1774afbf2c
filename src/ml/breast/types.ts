/**
 * What the breast-cytology panel shows: the same explanation shape as the heart panel
 * (src/ml/heart/types.ts) — a calibrated probability that the aspirated mass is malignant, its 95 %
 * interval, each nuclear feature's contribution and source, the operating point — computed where the
 * data is from `GET /api/ml/models/breast-cytology`. Browser-safe.
 */
import type { HeartAssessment, HeartRiskModelDocument } from '../heart/types.js';

/** `probability` is that the mass is malignant; inputs are the 30 WDBC features (none modifiable). */
export type BreastCytologyAssessment = HeartAssessment;

/** What `GET /api/ml/models/breast-cytology` returns. */
export type BreastCytologyModelDocument = HeartRiskModelDocument;
