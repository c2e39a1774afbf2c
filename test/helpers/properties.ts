/**
 * Shared by the property tests: every property runs at least this many cases (issue 7: ≥ 1,000 in
 * CI), and a failure's report carries the failing assertion's message.
 */
export const RUNS = { numRuns: Math.max(1000, Number(process.env.PROP_RUNS) || 0), includeErrorInReport: true } as const;
