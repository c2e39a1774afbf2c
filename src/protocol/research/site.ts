/**
 * What a provider's gatekeeper computes for a consented study, given to it by the process that starts
 * it (like surveillance reporting), so the gatekeeper stays below the ML layer: src/ml/research
 * implements it, src/gatekeeper/http/research.ts calls it with the consenting patients' de-identified
 * records only, and only what it returns — masked by secure aggregation — leaves the site.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { StudyDefinition } from './study.js';

/** Where this site stands in a round: its provider address and every site's, sorted (a site-specific intercept needs its index). */
export interface StudySiteContext {
  site: string;
  sites: readonly string[];
}

export interface ResearchSite {
  /** This site's update for one round over its consenting patients' records, clipped and DP-noised; a flat vector of finite numbers. */
  localUpdate(study: StudyDefinition, round: number, model: unknown, resources: Resource[], context: StudySiteContext): number[];
  /** This site's held-out results for a final model (AUC, calibration, row counts: aggregates only); plain JSON. */
  evaluate(study: StudyDefinition, model: unknown, resources: Resource[], context: StudySiteContext): unknown;
}
