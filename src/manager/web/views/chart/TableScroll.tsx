/**
 * A wide table on a narrow screen: the wrapper scrolls sideways, not the page, and can be focused
 * and scrolled with the keyboard (WCAG 2.1.1; axe's scrollable-region-focusable), named for screen readers.
 */
import type { ReactNode } from 'react';

export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll chart-scroll" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
