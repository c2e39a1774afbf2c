#!/usr/bin/env node
// Runs the compiled CLI: dist/src is built by `npm run build` (scripts/build-dist.ts), which
// `npm install`, `npm start` and `npm test` run, so no TypeScript loader is needed at run time.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('medledger: the compiled CLI (dist/src) is missing: run npm run build');
  process.exit(1);
}
await import(main.href);
