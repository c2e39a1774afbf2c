/**
 * Lifestyle suggestions, those whose measure raised this patient's risk the most first (src/ml
 * orders them), each with the guideline rule that produced it so a clinician can check it.
 */
import type { Suggestion } from '../../../../ml/lifestyle.js';
import { signed } from '../../lib/ml.js';

export function Suggestions({ suggestions, audience }: { suggestions: Suggestion[]; audience: 'patient' | 'clinician' }) {
  return (
    <section aria-label="Lifestyle suggestions">
      <h4>{audience === 'patient' ? 'What you could talk to your doctor about' : 'Lifestyle suggestions'}</h4>
      {suggestions.length === 0 ? (
        <p className="muted" data-testid="heart-suggestions-none">No guideline threshold is crossed in the records read, and no changeable input raised the risk.</p>
      ) : (
        <ol className="suggestions" data-testid="heart-suggestions">
          {suggestions.map((s) => (
            <li key={s.ruleId} data-testid="heart-suggestion" data-rule={s.ruleId}>
              <p>{s.text}</p>
              <p className="muted rule">
                Rule <code>{s.ruleId}</code>: {s.source}
                {s.modelContribution !== undefined && <> · raised the risk by {signed(s.modelContribution)} log-odds</>}
              </p>
            </li>
          ))}
        </ol>
      )}
      <p className="muted">Suggestions start a conversation with a doctor; they are not a diagnosis or a treatment plan.</p>
    </section>
  );
}
