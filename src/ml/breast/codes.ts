/**
 * How a breast fine-needle-aspirate (FNA) cytology report carries the 30 nuclear features of the
 * Wisconsin Diagnostic Breast Cancer data (WDBC; Street, Wolberg & Mangasarian 1993): one Observation
 * per feature, coded in the local system `urn:medledger:wdbc` with the feature's name as the code
 * (the names of data/wdbc/wdbc.csv, e.g. `mean_radius`, `worst_concave_points`), valueQuantity with
 * UCUM unit `1` (the features are image measurements in the data set's own units), all results of one
 * DiagnosticReport coded `urn:medledger:wdbc|fna-nuclear-features`. No standard code exists for these
 * computed morphometry features, hence the local system. Pure and browser-safe.
 */
import type { Coding } from '@medplum/fhirtypes';

export const WDBC_SYSTEM = 'urn:medledger:wdbc';

/** The ten nucleus measurements, in the data's order. */
const MEASUREMENTS = [
  ['radius', 'radius'],
  ['texture', 'texture'],
  ['perimeter', 'perimeter'],
  ['area', 'area'],
  ['smoothness', 'smoothness'],
  ['compactness', 'compactness'],
  ['concavity', 'concavity'],
  ['concave_points', 'concave points'],
  ['symmetry', 'symmetry'],
  ['fractal_dimension', 'fractal dimension'],
] as const;

/** The 30 features in wdbc.csv column order: means, standard errors, worst (mean of the three largest). */
export const WDBC_FEATURE_NAMES: readonly string[] = [
  ...MEASUREMENTS.map(([m]) => `mean_${m}`),
  ...MEASUREMENTS.map(([m]) => `${m}_error`),
  ...MEASUREMENTS.map(([m]) => `worst_${m}`),
];

/** "Nucleus radius, mean" etc. */
export const WDBC_LABELS: Record<string, string> = Object.fromEntries([
  ...MEASUREMENTS.map(([m, words]) => [`mean_${m}`, `Nucleus ${words}, mean`]),
  ...MEASUREMENTS.map(([m, words]) => [`${m}_error`, `Nucleus ${words}, standard error`]),
  ...MEASUREMENTS.map(([m, words]) => [`worst_${m}`, `Nucleus ${words}, worst (largest three)`]),
]);

export const wdbcCoding = (name: string): Coding => ({ system: WDBC_SYSTEM, code: name, display: WDBC_LABELS[name] ?? name });

export const CYTOLOGY_REPORT: Coding = { system: WDBC_SYSTEM, code: 'fna-nuclear-features', display: 'Breast fine-needle aspirate cytology: digitised nuclear features' };

/** The unit every feature Observation carries (UCUM unity). */
export const WDBC_UNIT = '1';
