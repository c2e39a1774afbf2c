#!/usr/bin/env node
// The CLI is TypeScript; tsx compiles it on load so there is no separate build output to go stale.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
