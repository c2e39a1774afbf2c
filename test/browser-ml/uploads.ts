/** Placeholder until the uploads scenario is written (issue 15): fails so it cannot pass unbuilt. */
import type { MlBrowserContext } from './context.js';
export async function providerUploadsAScan(_ctx: MlBrowserContext): Promise<void> { throw new Error('not built yet'); }
