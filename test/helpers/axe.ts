/**
 * Accessibility checks for browser tests: axe-core (the engine behind Lighthouse's accessibility
 * audit) on the page as the user sees it, against WCAG 2.0/2.1 A and AA. Issue 18 asks for
 * 0 serious or critical violations on every view.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from '@playwright/test';

export interface AxeProblem {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * The serious and critical WCAG 2.1 A/AA violations on `page` now (empty when there are none), in
 * the whole page or only inside `include` (a CSS selector: one view, when the page around it is
 * another test's to check).
 */
export async function seriousViolations(page: Page, { include }: { include?: string } = {}): Promise<AxeProblem[]> {
  const axe = new AxeBuilder({ page });
  if (include) axe.include(include);
  const result = await axe.withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact!, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
}

/** One line per violation, for an assertion's message. */
export const describeViolations = (problems: AxeProblem[]): string =>
  problems.map((p) => `${p.impact} ${p.id}: ${p.help} — ${p.targets.join(', ')}`).join('\n');
