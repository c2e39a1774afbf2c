/**
 * "Models": every model the manager serves (`GET /api/ml/models`), each opening its model card. For any
 * signed-in user, whatever their role: what a model is for, what it learnt from and how well it does is
 * public (the cards carry no patient data), so a patient can read the card of a model before sharing
 * with a study, and a researcher can compare the models on offer.
 */
import { useState } from 'react';
import { listModelCards } from '../../lib/ml.js';
import { useLoad } from '../../lib/use.js';
import { ModelCardView } from './ModelCardView.js';
import './ml.css';

function Cards() {
  const cards = useLoad(() => listModelCards(), []);
  const [open, setOpen] = useState<string>();
  if (cards.error) return <p className="error" role="alert">The list of models could not be read: {cards.error}</p>;
  if (!cards.data) return <p className="muted">Loading…</p>;
  if (cards.data.length === 0) return <p className="muted" data-testid="models-none">This manager serves no models.</p>;
  const chosen = cards.data.find((c) => c.id === open);
  return (
    <>
      <table data-testid="models-list">
        <thead><tr><th scope="col">Model</th><th scope="col">Version</th><th scope="col">Intended use</th><th></th></tr></thead>
        <tbody>
          {cards.data.map((c) => (
            <tr key={c.id} data-testid="model-row" data-model={c.id}>
              <th scope="row">{c.name}</th>
              <td>v{c.version}</td>
              <td>{c.intendedUse}</td>
              <td>
                <button className="link" aria-expanded={open === c.id} onClick={() => setOpen(open === c.id ? undefined : c.id)}>
                  {open === c.id ? 'Hide the card' : 'Model card'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {chosen && <ModelCardView card={chosen} />}
    </>
  );
}

export function ModelsList() {
  const [shown, setShown] = useState(false);
  return (
    <section className="panel" aria-label="Models" data-testid="models">
      <h3>
        <button className="link" aria-expanded={shown} onClick={() => setShown((v) => !v)} data-testid="models-toggle">
          {shown ? 'Hide the models' : 'Models: what the EHR Manager runs, and their cards'}
        </button>
      </h3>
      {shown && <Cards />}
    </section>
  );
}
