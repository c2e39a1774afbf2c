/** Placeholder until the public-health scenario is written (issue 15): fails so it cannot pass unbuilt. */
import type { MlBrowserContext } from './context.js';
export async function publicHealthSeesForecast(_ctx: MlBrowserContext): Promise<void> { throw new Error('not built yet'); }
