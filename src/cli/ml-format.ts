/** The `medledger ml` commands' human-readable tables (the --json output is the objects themselves). */
import type { ModelCard, MetricEstimate } from '../ml/card.js';
import type { HeartAssessment, SimilarCase } from '../ml/heart/types.js';
import type { Suggestion } from '../ml/lifestyle.js';
import { percent } from '../ml/plain-language.js';
import type { PatientRecords } from './ml-records.js';

const signed = (x: number) => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(2)}`;

import { table } from './output.js';

export function formatAssessment(patient: string, records: PatientRecords, a: HeartAssessment): string {
  const sources = records.read.map((r) => `${r.resources} from ${r.provider}`).join(', ');
  const source = (i: HeartAssessment['inputs'][number]) =>
    i.status === 'observed' && i.source
      ? `${i.source.resourceType}${i.source.id ? `/${i.source.id}` : ''}${i.source.code ? ` ${i.source.code.code}` : ''}${i.source.date ? ` ${i.source.date.slice(0, 10)}` : ''}`
      : (i.note ?? '');
  const rows = [
    ['input', 'value', 'status', 'contribution', 'source or why missing'],
    ...a.inputs.map((i) => [i.label, i.value === null ? '(unknown)' : `${i.value}${i.unit && typeof i.value === 'number' && i.unit !== 'a' ? ` ${i.unit}` : ''}`, i.status, signed(i.contribution), source(i)]),
  ];
  const op = a.operatingPoint;
  return [
    `${a.modelId} for ${patient} (model ${a.modelHash.slice(0, 10)}…; records read: ${sources})`,
    a.enoughData
      ? `probability ${percent(a.probability)}  (95 % interval ${percent(a.interval.low)}–${percent(a.interval.high)}), ${a.aboveThreshold ? 'at or above' : 'below'} the threshold`
      : `not enough data for an estimate (${a.inputs.filter((i) => i.status === 'observed').length} inputs read); the model's figure would be ${percent(a.probability)}`,
    `operating point: threshold ${percent(op.threshold)}, sensitivity ${percent(op.sensitivity)}, specificity ${percent(op.specificity)} (held-out)`,
    `logit ${signed(a.logit)} = intercept ${signed(a.intercept)} + the contributions below`,
    '',
    table(rows),
    '',
    a.plainLanguage,
  ].join('\n');
}

export function formatSimilar(patient: string, similar: readonly SimilarCase[]): string {
  if (!similar.length) return `no similar cases for ${patient}: none of the model's inputs could be read`;
  return [
    `nearest de-identified training cases for ${patient}:`,
    table([
      ['#', 'distance', 'site', 'age', 'sex', 'outcome', 'why similar'],
      ...similar.map((c) => [String(c.rank), c.distance.toFixed(2), c.site, c.ageBand, c.sex, c.hasDisease ? 'disease' : 'no disease', c.reasons.join('; ')]),
    ]),
  ].join('\n');
}

export function formatAdvice(patient: string, advice: readonly Suggestion[]): string {
  if (!advice.length) return `no lifestyle suggestions for ${patient}: no guideline threshold is crossed in the records read, and no modifiable input raised the estimate`;
  return [`lifestyle suggestions for ${patient}, largest modifiable contribution first:`, ...advice.map((s, i) => `${i + 1}. [${s.ruleId}] ${s.text}\n   (${s.source})`)].join('\n');
}

const estimate = (m: MetricEstimate | undefined, digits = 3) => (m ? `${m.value.toFixed(digits)} (${m.low.toFixed(digits)}–${m.high.toFixed(digits)})` : '—');

export function formatCard(card: ModelCard): string {
  return [
    `${card.name}  [${card.id}, version ${card.version}]`,
    `model hash     ${card.modelHash}`,
    `on chain       ${card.onChain ? `ModelRegistry ${card.onChain.registry}, block ${card.onChain.blockNumber ?? '?'}, tx ${card.onChain.transactionHash ?? '?'}` : 'not recorded'}`,
    `consent set    ${card.consentSetHash}`,
    '',
    `intended use: ${card.intendedUse}`,
    `not for:\n${card.notFor.map((n) => `  - ${n}`).join('\n')}`,
    `training data: ${card.trainingData.name}, ${card.trainingData.rows} rows; licence ${card.trainingData.licence}; ${card.trainingData.citation}`,
    `population: ${card.trainingData.population}`,
    `evaluation: ${card.evaluation}`,
    '',
    table([['metric', 'value (95 % interval)', 'n'], ...Object.entries(card.metrics).map(([k, m]) => [k, estimate(m), String(m.n)])]),
    card.calibration ? `\nexpected calibration error ${estimate(card.calibration.ece)}` : '',
    '',
    table([['subgroup', 'n', 'positives', 'AUC (95 % interval)'], ...card.subgroups.map((g) => [`${g.by} ${g.group}`, String(g.n), String(g.positives), estimate(g.auc)])]),
    '',
    `published: ${card.published.map((p) => `${p.metric} ${p.value} (${p.source})`).join('; ')}`,
    `limitations:\n${card.limitations.map((l) => `  - ${l}`).join('\n')}`,
  ].join('\n');
}
