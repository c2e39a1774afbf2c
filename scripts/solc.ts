/**
 * The project's one way to run the Solidity compiler: contracts/*.sol with the solc npm package,
 * OpenZeppelin imports from node_modules, the settings below. Used by scripts/build-contracts.ts (ABIs
 * and bytecode) and test/natspec.test.ts (NatSpec output).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const solc = require('solc') as { version(): string; compile(input: string, opts: object): string };

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const contractsDir = join(root, 'contracts');

/** Compiler settings (no outputSelection: each caller picks what it needs). */
export const settings = {
  evmVersion: 'cancun',
  optimizer: { enabled: true, runs: 1_000_000 },
};

/** contracts/*.sol by file name. */
export function readSources(): Record<string, { content: string }> {
  const sources: Record<string, { content: string }> = {};
  for (const file of readdirSync(contractsDir).filter((f) => f.endsWith('.sol')).sort()) {
    sources[file] = { content: readFileSync(join(contractsDir, file), 'utf8') };
  }
  return sources;
}

function findImports(path: string): { contents: string } | { error: string } {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') };
  } catch {
    return { error: `import not found: ${path}` };
  }
}

export interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  sources?: Record<string, { ast?: unknown }>;
  contracts: Record<string, Record<string, Record<string, unknown> & { abi: unknown[] }>>;
}

/**
 * Compiles `sources` selecting `outputs` (e.g. `abi`, `evm.bytecode.object`, `devdoc`) for every
 * contract, and `sourceOutputs` (e.g. `ast`) for every source file.
 */
export function compile(sources: Record<string, { content: string }>, outputs: string[], sourceOutputs: string[] = []): SolcOutput {
  const input = { language: 'Solidity', sources, settings: { ...settings, outputSelection: { '*': { '*': outputs, '': sourceOutputs } } } };
  return JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;
}
