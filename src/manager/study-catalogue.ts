/**
 * The manager's study catalogue: the full study definitions sponsors publish, by study hash, and the
 * results they publish after a run. The chain holds only a study's hash (contracts/StudyRegistry.sol),
 * so this is where a patient's manager finds the words the hash stands for; whoever reads a definition
 * can hash it again and compare with the chain, so the catalogue needs no trust (study-routes.ts does
 * that check before it stores or serves anything).
 *
 * One JSON file per definition and per result under a folder of the manager's data directory; none
 * given = kept in memory (tests, a manager without a data directory).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import type { StudyDefinition } from '../protocol/research/study.js';

export interface StudyCatalogue {
  /** Stores a definition under its hash (the caller has checked the hash against the chain). */
  put(hash: Hex, definition: StudyDefinition): void;
  get(hash: Hex): StudyDefinition | undefined;
  /** Every stored definition with its hash. */
  list(): { hash: Hex; definition: StudyDefinition }[];
  /** A study's published results (the sponsor's signed document), by study id. */
  putResults(studyId: Hex, results: unknown): void;
  getResults(studyId: Hex): unknown;
}

const HASH = /^0x[0-9a-f]{64}$/;

export function createStudyCatalogue(dir?: string): StudyCatalogue {
  const definitions = new Map<Hex, StudyDefinition>();
  const results = new Map<Hex, unknown>();
  if (dir) {
    mkdirSync(join(dir, 'results'), { recursive: true, mode: 0o700 });
    for (const [hash, value] of readJsonFiles(dir)) definitions.set(hash, value as StudyDefinition);
    for (const [id, value] of readJsonFiles(join(dir, 'results'))) results.set(id, value);
  }
  const save = (path: string, value: unknown) => {
    if (dir) writeFileSync(join(dir, path), `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  };
  return {
    put(hash, definition) {
      const key = hash.toLowerCase() as Hex;
      if (definitions.has(key)) return;
      definitions.set(key, definition);
      save(`${key}.json`, definition);
    },
    get: (hash) => definitions.get(hash.toLowerCase() as Hex),
    list: () => [...definitions].map(([hash, definition]) => ({ hash, definition })),
    putResults(studyId, value) {
      const key = studyId.toLowerCase() as Hex;
      results.set(key, value);
      save(join('results', `${key}.json`), value);
    },
    getResults: (studyId) => results.get(studyId.toLowerCase() as Hex),
  };
}

/** The `<0x…64 hex>.json` files of a folder, by the hash in their name. */
function readJsonFiles(dir: string): [Hex, unknown][] {
  return readdirSync(dir)
    .map((f) => f.replace(/\.json$/, ''))
    .filter((name) => HASH.test(name))
    .map((name) => [name as Hex, JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'))]);
}
