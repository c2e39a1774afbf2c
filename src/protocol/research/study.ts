/**
 * A research study's definition (issue 16): who sponsors it, why, which data it reads, whom it
 * includes, the model it trains, its privacy parameters and when it ends. Patients consent to its hash
 * (studyHash), which the sponsor registers on chain (contracts/StudyRegistry.sol); the full definition
 * travels with every site request, and each site hashes it and compares with the chain before it
 * computes anything. Browser-safe: the EHR Manager shows and hashes definitions too.
 */
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { keccak256Hex } from '../keccak.js';

export interface StudyDefinition {
  version: 1;
  /** e.g. "Heart-disease risk across hospitals". */
  title: string;
  sponsor: { name: string; address: Address };
  /** Plain words, shown to patients. */
  purpose: string;
  /** Heart feature names, as src/ml/heart-codes.ts and uci-fhir.ts name them. */
  data: { features: string[] };
  /** Plain words ("adults with a heart work-up"). */
  inclusion: string;
  model: { type: 'logistic-regression'; rounds: number; learningRate: number; siteIntercept: boolean };
  /** (ε, δ) for the whole study (ε is the on-chain budget), per-patient clipping norm, sites per round. */
  privacy: { epsilon: number; delta: number; clip: number; minSites: number };
  /** ISO 8601 date-time with a zone (Z or ±hh:mm). */
  expiresAt: string;
}

/** Fewest sites a round may have: with two, each site could subtract its own update from the sum. */
export const MIN_STUDY_SITES = 3;
/** Largest ε a study may state (and that fits the contract's micro-ε counter with room to spare). */
export const MAX_STUDY_EPSILON = 1_000;
export const MAX_STUDY_ROUNDS = 1_000;

/** JSON text with object keys sorted (by UTF-16 code unit) and no whitespace. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/**
 * The text whose hash is the study's identity: keys sorted, no whitespace, the sponsor's address
 * checksummed (so "0xabc…" and "0xABC…" name the same study).
 */
export function canonicalStudyJson(def: StudyDefinition): string {
  return canonical({ ...def, sponsor: { ...def.sponsor, address: getAddress(def.sponsor.address) } });
}

/** keccak256 of the canonical JSON's UTF-8: what patients consent to and the chain holds. */
export function studyHash(def: StudyDefinition): Hex {
  return keccak256Hex(canonicalStudyJson(def));
}

/** The expiry as Unix seconds (what the contract stores). */
export function studyExpiresAtSeconds(def: Pick<StudyDefinition, 'expiresAt'>): number {
  return Math.floor(Date.parse(def.expiresAt) / 1000);
}

/** ε as the contract counts it: an integer number of micro-ε (1e-6), rounded to nearest. */
export function toMicroEpsilon(epsilon: number): bigint {
  return BigInt(Math.round(epsilon * 1e6));
}

/** Micro-ε from the contract back to ε. */
export function fromMicroEpsilon(micro: bigint | number): number {
  return Number(micro) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Validation: one plain message per problem, naming the field.

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const FEATURE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function fail(message: string): never {
  throw new Error(`invalid study: ${message}`);
}

function record(value: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${field} must be an object`);
  const extra = Object.keys(value).filter((k) => !keys.includes(k));
  // Patients consent to the hash of everything in it, so nothing may ride along unseen.
  if (extra.length > 0) fail(`${field} has unknown field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string, max = 2_000): string {
  if (typeof value !== 'string' || value.trim() === '') fail(`${field} must be non-empty text`);
  if (value.length > max) fail(`${field} is longer than ${max} characters`);
  return value;
}

function number(value: unknown, field: string, min: number, max: number, opts: { integer?: boolean; exclusiveMin?: boolean } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${field} must be a number`);
  if (opts.integer && !Number.isInteger(value)) fail(`${field} must be a whole number`);
  if (opts.exclusiveMin ? value <= min : value < min) fail(`${field} must be ${opts.exclusiveMin ? 'greater than' : 'at least'} ${min}`);
  if (value > max) fail(`${field} must be at most ${max}`);
  return value;
}

function features(value: unknown): string[] {
  const data = record(value, 'data', ['features']);
  const list = data.features;
  if (!Array.isArray(list) || list.length === 0) fail('data.features must list at least one feature');
  for (const f of list) if (typeof f !== 'string' || !FEATURE_NAME.test(f)) fail(`data.features has an invalid name ${JSON.stringify(f)}`);
  if (new Set(list).size !== list.length) fail('data.features lists a feature twice');
  return [...(list as string[])];
}

function model(value: unknown): StudyDefinition['model'] {
  const m = record(value, 'model', ['type', 'rounds', 'learningRate', 'siteIntercept']);
  if (m.type !== 'logistic-regression') fail('model.type must be "logistic-regression"');
  if (typeof m.siteIntercept !== 'boolean') fail('model.siteIntercept must be true or false');
  return {
    type: 'logistic-regression',
    rounds: number(m.rounds, 'model.rounds', 1, MAX_STUDY_ROUNDS, { integer: true }),
    learningRate: number(m.learningRate, 'model.learningRate', 0, 100, { exclusiveMin: true }),
    siteIntercept: m.siteIntercept,
  };
}

function privacy(value: unknown): StudyDefinition['privacy'] {
  const p = record(value, 'privacy', ['epsilon', 'delta', 'clip', 'minSites']);
  const epsilon = number(p.epsilon, 'privacy.epsilon', 0, MAX_STUDY_EPSILON, { exclusiveMin: true });
  if (toMicroEpsilon(epsilon) === 0n) fail('privacy.epsilon must be at least 0.000001');
  const delta = number(p.delta, 'privacy.delta', 0, 1, { exclusiveMin: true });
  if (delta >= 1) fail('privacy.delta must be less than 1');
  return {
    epsilon,
    delta,
    clip: number(p.clip, 'privacy.clip', 0, 1e6, { exclusiveMin: true }),
    minSites: number(p.minSites, 'privacy.minSites', MIN_STUDY_SITES, 65_535, { integer: true }),
  };
}

function expiry(value: unknown): string {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    fail('expiresAt must be an ISO 8601 date-time with a zone, e.g. 2027-06-30T00:00:00Z');
  }
  const seconds = Math.floor(Date.parse(value) / 1000);
  if (seconds <= 0 || seconds >= 2 ** 40) fail('expiresAt is out of range');
  return value;
}

/**
 * Checks that `def` is a complete, well-formed study definition and returns it (a fresh object with
 * only the known fields). Throws an Error whose message says what is wrong in plain words. It does
 * not check the expiry against the clock: the chain and each site do that at the time it matters.
 */
export function validateStudy(def: unknown): StudyDefinition {
  const d = record(def, 'the study', ['version', 'title', 'sponsor', 'purpose', 'data', 'inclusion', 'model', 'privacy', 'expiresAt']);
  if (d.version !== 1) fail('version must be 1');
  const sponsor = record(d.sponsor, 'sponsor', ['name', 'address']);
  if (typeof sponsor.address !== 'string' || !isAddress(sponsor.address, { strict: false })) fail('sponsor.address must be an Ethereum address');
  return {
    version: 1,
    title: text(d.title, 'title', 200),
    sponsor: { name: text(sponsor.name, 'sponsor.name', 200), address: getAddress(sponsor.address) },
    purpose: text(d.purpose, 'purpose'),
    data: { features: features(d.data) },
    inclusion: text(d.inclusion, 'inclusion'),
    model: model(d.model),
    privacy: privacy(d.privacy),
    expiresAt: expiry(d.expiresAt),
  };
}
