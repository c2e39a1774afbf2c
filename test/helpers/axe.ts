/**
 * Accessibility checks for browser tests: axe-core (the engine behind Lighthouse's accessibility
 * audit) on the page as the user sees it, against WCAG 2.0/2.1 A and AA. Issue 18 asks for
 * 0 serious or critical violations on every view.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';

export interface AxeProblem {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** The serious and critical WCAG 2.1 A/AA violations on `page` now (empty when there are none). */
export async function seriousViolations(page: Page): Promise<AxeProblem[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact!, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
}

/** One line per violation, for an assertion's message. */
export const describeViolations = (problems: AxeProblem[]): string =>
  problems.map((p) => `${p.impact} ${p.id}: ${p.help} — ${p.targets.join(', ')}`).join('\n');
