/** The k de-identified training cases closest to this patient, their outcome, and on what they are close. */
import type { SimilarCase } from '../../../../ml/heart/types.js';

export function SimilarCases({ cases }: { cases: SimilarCase[] }) {
  if (cases.length === 0) return <p className="muted" data-testid="similar-cases-none">No similar cases: too few inputs could be read to compare.</p>;
  const withDisease = cases.filter((c) => c.hasDisease).length;
  return (
    <section aria-label="Similar cases">
      <h4>Similar cases</h4>
      <p>
        The {cases.length} most similar people in the model's de-identified training data (research-consented, no names or dates);{' '}
        <strong>{withDisease} of {cases.length}</strong> had coronary disease on angiography.
      </p>
      <table data-testid="similar-cases">
        <thead>
          <tr><th scope="col">#</th><th scope="col">Age</th><th scope="col">Sex</th><th scope="col">Hospital data set</th><th scope="col">Outcome</th><th scope="col">Distance</th><th scope="col">Why similar</th></tr>
        </thead>
        <tbody>
          {cases.map((c) => (
            <tr key={c.rank} data-testid="similar-case">
              <td>{c.rank}</td>
              <td>{c.ageBand}</td>
              <td>{c.sex}</td>
              <td>{c.site}</td>
              <td>{c.hasDisease ? <span className="badge error">coronary disease</span> : <span className="badge ok">no coronary disease</span>}</td>
              <td>{c.distance.toFixed(2)}</td>
              <td>{c.reasons.length ? c.reasons.join('; ') : <span className="muted">close overall</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Distance is in standardised units over the inputs that could be read (smaller is closer).</p>
    </section>
  );
}
