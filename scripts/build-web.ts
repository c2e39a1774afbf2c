/**
 * Builds the EHR Manager web app (Vite) into dist/web, unless its inputs are unchanged since the last
 * build (a hash of the web app, the modules it imports from src/, and the lockfile is stamped there).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'web');
const stamp = join(out, '.inputs-hash');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const inputs = [...files(join(root, 'src')), join(root, 'package-lock.json')].filter((f) => /\.(tsx?|css|html|json)$/.test(f)).sort();
const hash = createHash('sha256');
for (const f of inputs) hash.update(relative(root, f)).update(readFileSync(f));
const digest = hash.digest('hex');

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest && existsSync(join(out, 'index.html'))) {
  process.exit(0);
}
const { build } = await import('vite');
const started = Date.now();
await build({ configFile: join(root, 'src', 'manager', 'web', 'vite.config.ts') });
writeFileSync(stamp, digest);
console.log(`built the EHR Manager into dist/web in ${((Date.now() - started) / 1000).toFixed(1)} s`);
