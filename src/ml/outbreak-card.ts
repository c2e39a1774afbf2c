/**
 * The card of the outbreak forecast the public-health view shows (outbreak-report.ts: ARIMA with
 * empirical 80 % / 95 % bands, beside the naive and seasonal-naive baselines). Its figures are the
 * benchmark's (bench/ml-outbreak.ts: 104 rolling origins per series, configuration chosen on earlier
 * origins), computed once by scripts/outbreak-card.ts and kept in
 * data/models/outbreak-forecast/card.json, so no start re-runs the evaluation (it fits thousands of
 * ARIMA models). There are no fixed parameters: the model is refitted on each series every week, so
 * the card's modelHash is the hash of the method (the candidate configurations and the interval
 * rule), and a card written for another method is refused on load. Node only (reads files).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keccak256, stringToBytes, type Hex } from 'viem';
import { canonicalJson } from '../records/hash.js';
import { wilsonInterval } from './bootstrap.js';
import type { MetricEstimate, ModelCard } from './card.js';
import { consentSetHash } from './consent-set.js';
import { dataDir } from './data-dir.js';
import { ARIMA_CANDIDATES } from './forecast.js';

export const OUTBREAK_CARD_ID = 'outbreak-forecast';

/** The series the benchmark scores, by its key in bench/results.json ml.outbreak. */
const SERIES = { flu: 'influenza, Germany 2001–06', sal: 'Salmonella Agona, UK 1990–95', campy: 'Campylobacter, Germany 2002–11' } as const;

/** What the forecast is: its hash is the card's modelHash. */
export function outbreakMethodHash(): Hex {
  const method = { candidates: ARIMA_CANDIDATES, selection: 'lowest rolling-origin MAE at 4 weeks', bands: 'empirical quantiles 0.1/0.9 and 0.025/0.975 of the past 104 origins’ errors per horizon' };
  return keccak256(stringToBytes(canonicalJson(method)));
}

/** The card from the benchmark's figures (bench/results.json ml.outbreak, as benchMlOutbreak returns them). */
export function outbreakCard(figures: Record<string, number>): ModelCard {
  const at = (key: string) => {
    const v = figures[key];
    if (typeof v !== 'number') throw new Error(`the outbreak figures have no ${key}: run the ml-outbreak bench part first`);
    return v;
  };
  const n = at('forecastTestOrigins');
  const metrics: Record<string, MetricEstimate> = {};
  for (const key of Object.keys(SERIES)) {
    for (const h of [2, 4]) {
      metrics[`${key} MAE h${h}`] = { value: at(`${key}ArimaMae${h}`), low: at(`${key}ArimaMae${h}Low`), high: at(`${key}ArimaMae${h}High`), n };
    }
    for (const level of [80, 95]) for (const h of [1, 4]) metrics[`${key} ${level} % coverage h${h}`] = wilsonInterval(at(`${key}ArimaCoverage${level}H${h}`), n);
  }
  return {
    id: OUTBREAK_CARD_ID,
    name: 'Weekly case-count forecast, 1–4 weeks ahead (ARIMA with empirical prediction bands)',
    version: '1',
    modelHash: outbreakMethodHash(),
    intendedUse: 'Show public-health staff where weekly counts of a notifiable disease are likely to go in the next 1–4 weeks, with 80 % and 95 % bands, beside the naive and seasonal-naive baselines, to help plan; the aberration alerts, not the forecast, flag outbreaks.',
    notFor: ['Decisions about an individual patient.', 'Series shorter than two years (no bands) or far from the three scored series without checking its error on them first.', 'Declaring an outbreak: use the alerts and an epidemiologist.'],
    trainingData: {
      name: 'Weekly surveillance counts: influenza (DE 2001–06), Salmonella Agona (UK 1990–95), Campylobacter (DE 2002–11)',
      source: 'R packages surveillance and EpiEstim (vendored in data/outbreaks, see its README)',
      licence: 'GPL-2 (surveillance data)',
      citation: 'Höhle, "surveillance: An R package for the monitoring of infectious diseases", Computational Statistics 22 (2007); Farrington et al., JRSS A 159 (1996)',
      rows: 312 + 312 + 522,
      population: 'Aggregate weekly counts of notified cases; no patients, no MedLedger records.',
    },
    evaluation: `bench/ml-outbreak.ts: h = weeks ahead; ${n} rolling weekly origins per series (its last two years), ARIMA refitted at every origin; its configuration chosen per series on 48 earlier origins ending ${at('forecastSelectionGap')} weeks before them. MAE intervals: 95 % moving-block bootstrap (blocks of 4 origins). Band coverage: share of actuals inside the band over the ${n} origins, with a Wilson 95 % interval (which treats origins as independent; neighbouring origins share weeks, so it is too narrow). Naive MAE at 2 / 4 weeks for comparison: ${Object.keys(SERIES).map((k) => `${k} ${at(`${k}NaiveMae2`)} / ${at(`${k}NaiveMae4`)}`).join(', ')}. Series: ${Object.entries(SERIES).map(([k, name]) => `${k} = ${name}`).join('; ')}.`,
    metrics,
    subgroups: [],
    published: [],
    limitations: [
      'Scored on three historical series; a new disease, reporting change or pandemic breaks the seasonal pattern it learns from.',
      `Bands are calibrated on past errors: coverage on the scored series is close to nominal (mean gap ${at('arimaCoverageGap80')} at 80 %, ${at('arimaCoverageGap95')} at 95 %), not guaranteed on others.`,
      'Late reports: the latest weeks of a live series are often incomplete, and the forecast then starts too low.',
    ],
    consentSetHash: consentSetHash([]),
    onChain: null,
  };
}

/** data/models/outbreak-forecast/card.json. */
export function outbreakCardPath(root = dataDir()): string {
  return join(root, 'models', OUTBREAK_CARD_ID, 'card.json');
}

/** The shipped card, refused when it describes another method than the code's. */
export function readOutbreakCard(root = dataDir()): ModelCard {
  const path = outbreakCardPath(root);
  let card: ModelCard;
  try {
    card = JSON.parse(readFileSync(path, 'utf8')) as ModelCard;
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message.split('\n')[0]} (write it with scripts/outbreak-card.ts)`);
  }
  if (card.id !== OUTBREAK_CARD_ID || card.modelHash !== outbreakMethodHash()) {
    throw new Error(`${path}: describes ${card.id} ${card.modelHash}, not the forecast method in the code (${outbreakMethodHash()}); rewrite it with scripts/outbreak-card.ts`);
  }
  return card;
}
