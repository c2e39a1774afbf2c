/**
 * The heart-disease risk panel: computed here, in the reader's browser, by src/ml/heart/assess.ts from
 * exactly the records the reader's gatekeeper read returned (the caller passes them in; this panel
 * reads nothing itself, so consent is enforced as for any read) and the model fetched from the
 * manager. Shows the calibrated probability and its 95 % interval, each input's contribution, the
 * missing inputs and the source of each observed one, the operating point, similar cases (for a
 * clinician), lifestyle suggestions, and the model card.
 */
import { useMemo, useState } from 'react';
import type { Resource } from '@medplum/fhirtypes';
import { adviseHeart, assessHeartRisk, findSimilarCases } from '../../../../ml/heart/assess.js';
import type { HeartAssessment, HeartRiskModelDocument } from '../../../../ml/heart/types.js';
import { describe, useLoad } from '../../lib/use.js';
import { intervalInWords, loadHeartModel, percent } from '../../lib/ml.js';
import { ContributionChart } from './ContributionChart.js';
import { InputsTable } from './InputsTable.js';
import { ModelCardView } from './ModelCardView.js';
import { SimilarCases } from './SimilarCases.js';
import { Suggestions } from './Suggestions.js';
import './ml.css';

export type Audience = 'patient' | 'clinician';

interface Props {
  /** The records a gatekeeper read returned (undefined while reading). */
  resources?: Resource[];
  audience: Audience;
  /** Where the records came from, in words ("the records St Mary's Hospital returned for this grant"). */
  from: string;
  /** The read was refused (a revoked or expired grant): there is nothing to assess. */
  refused?: string;
}

function compute(doc: HeartRiskModelDocument, resources: Resource[]) {
  const assessment = assessHeartRisk(doc, resources);
  return { assessment, similar: assessment.enoughData ? findSimilarCases(doc, resources) : [], suggestions: adviseHeart(doc, resources, assessment) };
}

function Headline({ a, audience }: { a: HeartAssessment; audience: Audience }) {
  const op = a.operatingPoint;
  if (audience === 'patient') {
    return (
      <div className="risk-headline" data-testid="heart-headline">
        <p className="big" data-testid="heart-plain-language">{a.plainLanguage}</p>
        <p data-testid="heart-interval-words">{intervalInWords(a.interval.low, a.interval.high)}</p>
        <p className="muted">
          The model calls a result "raised" from {percent(op.threshold)}; yours is {a.aboveThreshold ? 'above' : 'below'} that. Of people who did have the disease, the model
          flags {percent(op.sensitivity)}; of those who did not, it correctly leaves {percent(op.specificity)} unflagged.
        </p>
      </div>
    );
  }
  return (
    <div className="risk-headline" data-testid="heart-headline">
      <p className="big">
        Probability of coronary artery disease: <strong data-testid="heart-probability">{percent(a.probability)}</strong>{' '}
        <span data-testid="heart-interval">(95 % interval {percent(a.interval.low)}–{percent(a.interval.high)})</span>{' '}
        <span className={`badge ${a.aboveThreshold ? 'error' : 'ok'}`} data-testid="heart-above-threshold">{a.aboveThreshold ? 'above threshold' : 'below threshold'}</span>
      </p>
      <p data-testid="heart-operating-point">
        Operating point: threshold {percent(op.threshold)}, sensitivity {percent(op.sensitivity)}, specificity {percent(op.specificity)} (on held-out cases).
      </p>
    </div>
  );
}

function Assessment({ doc, resources, audience }: { doc: HeartRiskModelDocument; resources: Resource[]; audience: Audience }) {
  const result = useMemo(() => {
    try {
      return { ok: compute(doc, resources) };
    } catch (err) {
      return { error: describe(err) };
    }
  }, [doc, resources]);
  if (result.error !== undefined) return <p className="error" role="alert">The risk could not be computed: {result.error}</p>;
  const { assessment: a, similar, suggestions } = result.ok!;
  const observed = a.inputs.filter((i) => i.status === 'observed').length;
  return (
    <>
      {a.enoughData ? <Headline a={a} audience={audience} /> : (
        <p className="warn-box" role="status" data-testid="heart-not-enough">
          Not enough of the model's inputs could be read to estimate a risk ({observed} of {a.inputs.length}); no probability is shown.
        </p>
      )}
      {a.enoughData && <ContributionChart assessment={a} />}
      <InputsTable inputs={a.inputs} audience={audience} />
      {audience === 'clinician' && a.enoughData && <SimilarCases cases={similar} />}
      <Suggestions suggestions={suggestions} audience={audience} />
    </>
  );
}

export function HeartRiskPanel({ resources, audience, from, refused }: Props) {
  const model = useLoad(() => loadHeartModel(), []);
  const [showCard, setShowCard] = useState(false);
  return (
    <section className="panel heart-risk" aria-label="Heart-disease risk" data-testid="heart-risk">
      <h3>Heart-disease risk</h3>
      <p className="muted" data-testid="heart-local-note">
        Computed in this browser from {from}; nothing computed here is sent anywhere.
      </p>
      {refused !== undefined ? (
        <p className="error" role="alert" data-testid="heart-risk-refused">No data to assess: the read was refused ({refused}).</p>
      ) : model.error ? (
        <p className="error" role="alert">The risk model could not be loaded: {model.error}</p>
      ) : !model.data || !resources ? (
        <p className="muted">Loading…</p>
      ) : resources.length === 0 ? (
        <p className="muted" data-testid="heart-risk-empty">No records to assess.</p>
      ) : (
        <Assessment doc={model.data} resources={resources} audience={audience} />
      )}
      {model.data && (
        <p>
          <button className="link" aria-expanded={showCard} onClick={() => setShowCard((v) => !v)} data-testid="heart-card-toggle">
            {showCard ? 'Hide the model card' : 'About this model: the model card'}
          </button>
        </p>
      )}
      {showCard && model.data && <ModelCardView card={model.data.card} />}
    </section>
  );
}
