/**
 * What the heart-disease risk panel shows, computed where the data is (the reader's browser or CLI)
 * from the records the reader was allowed to read through a gatekeeper, and the model it fetched
 * from `GET /api/ml/models/heart-risk`. Shared by src/ml/heart (which computes it), the manager's API,
 * the CLI (`medledger ml risk|similar|advice`) and the web app's views; browser-safe (no Node built-ins).
 */
import type { Hex } from 'viem';
import type { ModelCard } from '../card.js';
import type { Suggestion } from '../lifestyle.js';

/** A FHIR coding, as it identifies where an input came from. */
export interface SourceCoding {
  system: string;
  code: string;
  display?: string;
}

/** One model input for this patient: its value, where it came from, and what it added to the logit. */
export interface HeartInput {
  /** UCI attribute name, e.g. `trestbps`. */
  feature: string;
  /** In words, e.g. "Resting systolic blood pressure". */
  label: string;
  /** The value the model used (after imputation), in the unit below; text for coded answers. */
  value: number | string | null;
  unit?: string;
  /** observed: read from a record; imputed: the training mean/mode stood in; missing: not readable (treated as imputed by the model). */
  status: 'observed' | 'imputed' | 'missing';
  /** The record it was read from (Observation with LOINC/local code, Condition with SNOMED CT, or Patient). */
  source?: { resourceType: string; id?: string; code?: SourceCoding; date?: string };
  /** Why it is missing or imputed, e.g. "no Observation 2093-3 (cholesterol) among the records you may read". */
  note?: string;
  /** Log-odds this input added (coefficient × encoded value, its indicator included). */
  contribution: number;
  /** Something a patient can change (blood pressure, cholesterol, …), as opposed to age or sex. */
  modifiable: boolean;
}

export interface HeartAssessment {
  modelId: string;
  modelHash: Hex;
  /** Calibrated probability of angiographic coronary disease (> 50 % narrowing). */
  probability: number;
  /** 95 % interval of the probability (bootstrap refits of the model). */
  interval: { low: number; high: number };
  /** intercept + Σ inputs[i].contribution (before calibration). */
  logit: number;
  intercept: number;
  inputs: HeartInput[];
  /** The threshold shown and the model's sensitivity/specificity there (on held-out data). */
  operatingPoint: { threshold: number; sensitivity: number; specificity: number };
  aboveThreshold: boolean;
  /** Too few observed inputs for a meaningful estimate (then no probability is shown). */
  enoughData: boolean;
  /** Plain language for the patient: "About 1 in 5 people with results like yours …". */
  plainLanguage: string;
}

/** A de-identified training case close to this patient, with its outcome and why it is close. */
export interface SimilarCase {
  rank: number;
  /** Distance in standardised units (smaller = closer). */
  distance: number;
  /** Which hospital's data set the case is from (site, not identity). */
  site: string;
  ageBand: string;
  sex: string;
  hasDisease: boolean;
  /** Inputs on which the case is closest to this patient, in words ("similar cholesterol: 241 vs 236 mg/dL"). */
  reasons: string[];
}

export interface HeartAdvice {
  suggestions: Suggestion[];
}

/** What `GET /api/ml/models/heart-risk` returns: enough to compute the panel with no further request. */
export interface HeartRiskModelDocument {
  card: ModelCard;
  /** Model parameters; their layout is src/ml/heart's own (opaque to the UI). */
  parameters: unknown;
}
