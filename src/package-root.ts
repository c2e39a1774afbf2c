/**
 * The folder holding this package's package.json, found by walking up from a module's own location.
 * Modules run from src/ (tsx: tests, bench, scripts) and from dist/src/ (compiled: the `medledger`
 * command, `npm start`), so a fixed number of `..` would point at different folders in the two;
 * files that ship beside the code (dist/web, data/) are found from here instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'medledger';
let cached: string | undefined;

/** The package root: the nearest folder above this module whose package.json is ours. */
export function packageRoot(): string {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    // Only our own package.json: a dist/ folder could one day hold one of its own.
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === NAME) {
      cached = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of ${NAME} above ${start}`);
  }
}
