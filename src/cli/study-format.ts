/** The `medledger study` commands' human-readable output (the --json output is the objects themselves). */
import type { OnChainStudy } from '../sdk/studies.js';
import type { StudyDefinition } from '../protocol/research/study.js';
import type { StudyProgress, StudyRun } from '../ml/research/coordinator.js';
import { table } from './output.js';

const fixed = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '—' : v.toFixed(digits));
const when = (seconds: number) => new Date(seconds * 1000).toISOString();

/** One site's consent count, or why it could not say. */
export interface SiteCount {
  site: string;
  display?: string;
  error?: string;
}

export function formatStatus(studyId: string, chain: OnChainStudy, def: StudyDefinition | undefined, enrolled: number, sites: readonly SiteCount[]): string {
  const lines = [
    `${def ? def.title : '(definition not in this data directory)'}  ${studyId}`,
    `sponsor    ${def ? `${def.sponsor.name} ` : ''}${chain.sponsor}`,
    `expires    ${when(chain.expiresAt)}${chain.expiresAt * 1000 < Date.now() ? ' (expired)' : ''}`,
    `rounds     ${chain.rounds} opened${def ? ` of ${def.model.rounds}` : ''}; ε spent ${fixed(chain.epsilonSpent, 6)} of ${fixed(chain.epsilonBudget, 6)}; at least ${chain.minSites} sites`,
    `enrolled   ${enrolled} patients on chain`,
    `result     ${chain.result ? `model ${chain.result.modelHash}, consent set ${chain.result.consentSetHash} (after round ${chain.result.round})` : 'none yet'}`,
  ];
  if (sites.length) lines.push('', table([['site', 'consenting patients'], ...sites.map((s) => [s.site, s.display ?? `not answered: ${s.error}`])]));
  return lines.join('\n');
}

export function formatRun(run: StudyRun): string {
  const rows = run.sites.map((s) => {
    const e = s.evaluation;
    return [s.name ?? s.provider, e ? String(e.trainRows) : '—', e ? String(e.testRows) : '—', fixed(e?.auc), fixed(e?.ece), s.error ?? ''];
  });
  const dropped = run.rounds.flatMap((r) => r.dropped.map((d) => `round ${r.round}: ${d.provider} dropped at ${d.phase} (${d.reason})`));
  return [
    `study ${run.studyId}: ${run.rounds.length} rounds, ε spent ${fixed(run.epsilonSpent, 6)}`,
    '',
    table([['site', 'train rows', 'held-out rows', 'AUC', 'ECE', 'note'], ...rows]),
    '',
    `pooled held-out: AUC ${fixed(run.pooled.auc)}, ECE ${fixed(run.pooled.ece)} over ${run.pooled.testRows} patients`,
    `model hash        ${run.modelHash}`,
    `consent set hash  ${run.consentSetHash}`,
    `per round: ${Math.round(run.bytesPerRound)} bytes, ${Math.round(run.roundMs)} ms`,
    ...dropped,
  ].join('\n');
}

/** One line of progress: a bar, the step and how many sites are in. */
export function progressLine(p: StudyProgress, width = 30): string {
  const filled = Math.round((p.done / p.total) * width);
  const what = p.step === 'round' ? `round ${p.round}/${p.rounds} ${p.phase} (${p.sites} sites)` : p.step;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round((100 * p.done) / p.total)).padStart(3)} % ${what}`;
}
