/** Placeholder until the heart scenario is written (issue 15): fails so it cannot pass unbuilt. */
import type { MlBrowserContext } from './context.js';
export async function clinicianSeesHeartRisk(_ctx: MlBrowserContext): Promise<void> { throw new Error('not built yet'); }
export async function patientSeesOwnRisk(_ctx: MlBrowserContext): Promise<void> { throw new Error('not built yet'); }
export async function consentLimitsTheRiskPanel(_ctx: MlBrowserContext): Promise<void> { throw new Error('not built yet'); }
