/**
 * Compiles src/ to dist/src with tsc (tsconfig.build.json), so the `medledger` command and
 * `npm start` run plain JavaScript and need no TypeScript loader at run time. Skips the compile when
 * the inputs are unchanged since the last build (a hash stamp in dist/src, as scripts/build-web.ts
 * does for dist/web). The new output is emitted beside the old and swapped in, under a lock, so test
 * processes that build on demand (test/helpers/cli.ts) never run a half-written tree.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'src');
const stampFile = join(out, '.inputs-hash');
const lockDir = join(root, 'dist', '.build-lock');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (path === join(root, 'src', 'manager', 'web')) return [];
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function inputsHash(): string {
  const inputs = [...files(join(root, 'src')).filter((f) => f.endsWith('.ts')), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => join(root, f))];
  const hash = createHash('sha256');
  for (const f of inputs.sort()) hash.update(relative(root, f)).update('\0').update(readFileSync(f));
  return hash.digest('hex');
}

const uncheckedFile = join(out, '.type-errors');

/** dist/src was built from these inputs (and, unless `lenient`, without type errors). */
const upToDate = (digest: string, lenient: boolean) =>
  existsSync(join(out, 'cli', 'main.js')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === digest && (lenient || !existsSync(uncheckedFile));

/** Holds dist/.build-lock while `fn` runs; a lock left by a process that died is taken over. */
function withLock<T>(fn: () => T): T {
  mkdirSync(join(root, 'dist'), { recursive: true });
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      const holder = Number(existsSync(join(lockDir, 'pid')) ? readFileSync(join(lockDir, 'pid'), 'utf8') : NaN);
      // No pid yet: its holder just took it, or died before writing it (then it is old).
      const dead = Number.isInteger(holder) ? !alive(holder) : ageMs(lockDir) > 60_000;
      if (dead) rmSync(lockDir, { recursive: true, force: true });
      else Atomics.wait(wait, 0, 0, 200);
    }
  }
  writeFileSync(join(lockDir, 'pid'), String(process.pid));
  // Staging folders of builds that were killed.
  for (const name of readdirSync(join(root, 'dist'))) {
    const pid = /^\.build-(\d+)$/.exec(name)?.[1];
    if (pid && !alive(Number(pid))) rmSync(join(root, 'dist', name), { recursive: true, force: true });
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Brings dist/src up to date with src/. Returns whether it compiled; throws with tsc's output when
 * the sources do not typecheck (the previous output, if any, stays in place). `lenient` (the tests
 * that spawn the CLI) accepts what tsc emitted despite type errors, as tsx would have run it:
 * `npm test` typechecks separately, and a type error elsewhere in the tree should not stop them.
 */
export function buildDist(options: { lenient?: boolean } = {}): { compiled: boolean; ms: number } {
  const started = Date.now();
  const lenient = options.lenient ?? false;
  if (upToDate(inputsHash(), lenient)) return { compiled: false, ms: Date.now() - started };
  return withLock(() => {
    // Hashed again under the lock: another process may have built it while this one waited.
    const digest = inputsHash();
    if (upToDate(digest, lenient)) return { compiled: false, ms: Date.now() - started };
    const staging = join(root, 'dist', `.build-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', staging], { cwd: root, encoding: 'utf8' });
    // tsc exits 2 when it found type errors but emitted every file anyway.
    const emitted = run.status === 2 && existsSync(join(staging, 'src', 'cli', 'main.js'));
    if (run.status !== 0 && !(lenient && emitted)) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`tsc -p tsconfig.build.json failed:\n${run.stdout}${run.stderr}`);
    }
    if (run.status !== 0) {
      writeFileSync(join(staging, 'src', '.type-errors'), `${run.stdout}${run.stderr}`);
      console.error(`build-dist: src/ has type errors; using tsc's output anyway (see dist/src/.type-errors)`);
    }
    writeFileSync(join(staging, 'src', '.inputs-hash'), digest);
    rmSync(out, { recursive: true, force: true });
    renameSync(join(staging, 'src'), out);
    rmSync(staging, { recursive: true, force: true });
    return { compiled: true, ms: Date.now() - started };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { compiled, ms } = buildDist();
    if (compiled) console.log(`compiled src/ into dist/src in ${(ms / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
