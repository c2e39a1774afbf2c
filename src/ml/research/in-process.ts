/**
 * A whole study in one process: every site's ResearchSite called directly, the round's vectors
 * summed by `sum` (plain addition by default; secure aggregation where the caller plugs it in). For
 * tests and the model side of the bench; the deployed study runs over HTTP (coordinator.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ResearchSite } from '../../protocol/research/site.js';
import type { StudyDefinition } from '../../protocol/research/study.js';
import { combineEvaluations, type SiteEvaluation } from './evaluate.js';
import { applyRound, initialStudyModel, type StudyModel } from './model.js';

export interface InProcessSite {
  /** Provider address (or any unique name). */
  site: string;
  research: ResearchSite;
  resources: Resource[];
}

export type SumVectors = (vectors: number[][], round: number) => number[] | Promise<number[]>;

/** Coordinate-wise sum. */
export const plainSum: SumVectors = (vectors) => vectors[0]!.map((_, j) => vectors.reduce((a, v) => a + v[j]!, 0));

export interface InProcessRun {
  model: StudyModel;
  evaluations: SiteEvaluation[];
  pooled: ReturnType<typeof combineEvaluations>;
  /** Bytes of the sites' vectors per round as JSON (before masking). */
  bytesPerRound: number;
}

export async function runStudyInProcess(study: StudyDefinition, sites: readonly InProcessSite[], sum: SumVectors = plainSum): Promise<InProcessRun> {
  const names = sites.map((s) => s.site).sort();
  let model = initialStudyModel(study, names);
  let bytes = 0;
  for (let round = 1; round <= study.model.rounds; round++) {
    const vectors = sites.map((s) => s.research.localUpdate(study, round, model, s.resources, { site: s.site, sites: names }));
    bytes += vectors.reduce((n, v) => n + JSON.stringify(v).length, 0);
    model = applyRound(study, model, await sum(vectors, round));
  }
  const evaluations = sites.map((s) => s.research.evaluate(study, model, s.resources, { site: s.site, sites: names }) as SiteEvaluation);
  return { model, evaluations, pooled: combineEvaluations(evaluations), bytesPerRound: bytes / study.model.rounds };
}
