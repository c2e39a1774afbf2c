/**
 * The breast-cytology (WDBC) panel, beside the heart panel in the clinician views: the probability
 * that an aspirated breast mass is malignant, computed here, in the reader's browser, by
 * src/ml/breast/assess.ts from exactly the records the reader's gatekeeper read returned and the
 * model fetched from the manager (`GET /api/ml/models/breast-cytology`). Shown only where those
 * records carry a cytology report's nuclear features (src/ml/breast/codes.ts): a patient without
 * such a report has nothing for this model to read, and a panel of 30 stand-in values would mislead.
 */
import { useMemo, useState } from 'react';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { assessBreastCytology } from '../../../../ml/breast/assess.js';
import { WDBC_SYSTEM } from '../../../../ml/breast/codes.js';
import type { BreastCytologyAssessment, BreastCytologyModelDocument } from '../../../../ml/breast/types.js';
import { describe, useLoad } from '../../lib/use.js';
import { loadBreastCytologyModel, percent } from '../../lib/ml.js';
import { ContributionChart } from './ContributionChart.js';
import { InputsTable } from './InputsTable.js';
import { ModelCardView } from './ModelCardView.js';
import './ml.css';

/** Whether any record is a cytology feature Observation (coded in the WDBC system). */
export const carriesCytology = (resources: readonly Resource[] | undefined): boolean =>
  (resources ?? []).some((r) => r.resourceType === 'Observation' && ((r as Observation).code?.coding ?? []).some((c) => c.system === WDBC_SYSTEM));

function Headline({ a }: { a: BreastCytologyAssessment }) {
  const op = a.operatingPoint;
  return (
    <div className="risk-headline">
      <p className="big">
        Probability that the aspirated mass is malignant: <strong data-testid="breast-probability">{percent(a.probability)}</strong>{' '}
        <span data-testid="breast-interval">(95 % interval {percent(a.interval.low)}–{percent(a.interval.high)})</span>{' '}
        <span className={`badge ${a.aboveThreshold ? 'error' : 'ok'}`} data-testid="breast-above-threshold">{a.aboveThreshold ? 'above threshold' : 'below threshold'}</span>
      </p>
      <p data-testid="breast-operating-point">
        Operating point: threshold {percent(op.threshold)}, sensitivity {percent(op.sensitivity)}, specificity {percent(op.specificity)} (on held-out cases).
      </p>
    </div>
  );
}

function Assessment({ doc, resources }: { doc: BreastCytologyModelDocument; resources: Resource[] }) {
  const result = useMemo(() => {
    try {
      return { ok: assessBreastCytology(doc, resources) };
    } catch (err) {
      return { error: describe(err) };
    }
  }, [doc, resources]);
  if (result.error !== undefined) return <p className="error" role="alert">The estimate could not be computed: {result.error}</p>;
  const a = result.ok!;
  return (
    <>
      {a.enoughData ? <Headline a={a} /> : <p className="warn-box" role="status" data-testid="breast-not-enough">{a.plainLanguage}</p>}
      {a.enoughData && <ContributionChart assessment={a} />}
      <InputsTable inputs={a.inputs} audience="clinician" />
    </>
  );
}

/** Renders nothing unless `resources` carry cytology features; `from` says where they came from. */
export function BreastCytologyPanel({ resources, from }: { resources?: Resource[]; from: string }) {
  const shown = carriesCytology(resources);
  const model = useLoad(async () => (shown ? loadBreastCytologyModel() : undefined), [shown]);
  const [showCard, setShowCard] = useState(false);
  if (!shown || !resources) return null;
  return (
    <section className="panel heart-risk" aria-label="Breast cytology: probability of malignancy" data-testid="breast-cytology">
      <h3>Breast cytology: probability of malignancy</h3>
      <p className="muted">
        Computed in this browser from {from} (the nuclear features of a fine-needle aspirate's cytology report); nothing computed here is sent anywhere.
      </p>
      {model.error ? (
        <p className="error" role="alert">The cytology model could not be loaded: {model.error}</p>
      ) : !model.data ? (
        <p className="muted">Loading…</p>
      ) : (
        <Assessment doc={model.data} resources={resources} />
      )}
      {model.data && (
        <p>
          <button className="link" aria-expanded={showCard} onClick={() => setShowCard((v) => !v)} data-testid="breast-card-toggle">
            {showCard ? 'Hide the model card' : 'About this model: the model card'}
          </button>
        </p>
      )}
      {showCard && model.data && <ModelCardView card={model.data.card} />}
    </section>
  );
}
