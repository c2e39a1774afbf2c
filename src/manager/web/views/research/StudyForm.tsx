/**
 * A researcher creates a study (issue 16 §1, §7): the form becomes a StudyDefinition, checked by the
 * same validateStudy the sites use, registered on chain with the researcher's key (signed here, like
 * every other action in the manager), then published on the manager so patients can read it.
 */
import { useState } from 'react';
import { HEART_FEATURES } from '../../../../ml/heart-codes.js';
import { MIN_STUDY_SITES, validateStudy, type StudyDefinition } from '../../../../protocol/research/study.js';
import { registerStudy } from '../../../../sdk/studies.js';
import type { Session } from '../../lib/session.js';
import { publishStudy, type StudyEntry } from '../../lib/studies.js';
import { useAction } from '../../lib/use.js';

const inAYear = () => new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);

export function StudyForm({ s, onCreated }: { s: Session; onCreated: (study: StudyEntry) => void }) {
  const [f, setF] = useState({
    title: '', purpose: '', inclusion: 'Adults with a heart check-up (exercise test) on record', sponsorName: s.name,
    features: HEART_FEATURES.map((x) => x.name), rounds: 10, learningRate: 0.5, siteIntercept: true,
    epsilon: 3, delta: 1e-5, clip: 1, minSites: MIN_STUDY_SITES, expires: inAYear(),
  });
  const set = <K extends keyof typeof f>(key: K, value: (typeof f)[K]) => setF((x) => ({ ...x, [key]: value }));
  const action = useAction();
  const create = () =>
    action.run(async () => {
      const definition: StudyDefinition = validateStudy({
        version: 1, title: f.title, sponsor: { name: f.sponsorName, address: s.account.address }, purpose: f.purpose,
        data: { features: f.features }, inclusion: f.inclusion,
        model: { type: 'logistic-regression', rounds: f.rounds, learningRate: f.learningRate, siteIntercept: f.siteIntercept },
        privacy: { epsilon: f.epsilon, delta: f.delta, clip: f.clip, minSites: f.minSites },
        expiresAt: `${f.expires}T00:00:00Z`,
      });
      await registerStudy(s.ledger, definition);
      onCreated(await publishStudy(definition));
      return `“${definition.title}” is registered on chain and published to patients.`;
    });
  const toggle = (name: string, on: boolean) => set('features', on ? HEART_FEATURES.map((x) => x.name).filter((n) => n === name || f.features.includes(n)) : f.features.filter((n) => n !== name));
  const num = (key: 'rounds' | 'learningRate' | 'epsilon' | 'delta' | 'clip' | 'minSites', step = 'any') => (
    <input type="number" step={step} value={f[key]} onChange={(e) => set(key, Number(e.target.value))} data-testid={`study-${key}`} />
  );
  return (
    <form className="panel study-form" data-testid="study-form" onSubmit={(e) => { e.preventDefault(); void create(); }}>
      <h4>Create a study</h4>
      <label>Title <input value={f.title} onChange={(e) => set('title', e.target.value)} data-testid="study-title" size={50} /></label>
      <label>Sponsor <input value={f.sponsorName} onChange={(e) => set('sponsorName', e.target.value)} data-testid="study-sponsor" /></label>
      <label>Purpose, in words a patient understands <textarea value={f.purpose} onChange={(e) => set('purpose', e.target.value)} data-testid="study-purpose" rows={3} cols={70} /></label>
      <label>Who can take part <input value={f.inclusion} onChange={(e) => set('inclusion', e.target.value)} data-testid="study-inclusion" size={60} /></label>
      <fieldset><legend>Data it reads</legend>
        {HEART_FEATURES.map((x) => (
          <label key={x.name} title={x.description}><input type="checkbox" checked={f.features.includes(x.name)} onChange={(e) => toggle(x.name, e.target.checked)} /> {x.name}</label>
        ))}
      </fieldset>
      <fieldset><legend>Model: logistic regression, federated</legend>
        <label>Rounds {num('rounds', '1')}</label>
        <label>Learning rate {num('learningRate')}</label>
        <label><input type="checkbox" checked={f.siteIntercept} onChange={(e) => set('siteIntercept', e.target.checked)} /> an intercept per site</label>
      </fieldset>
      <fieldset><legend>Privacy</legend>
        <label>ε for the whole study {num('epsilon')}</label>
        <label>δ {num('delta')}</label>
        <label>clip per patient {num('clip')}</label>
        <label>sites per round, at least {num('minSites', '1')}</label>
      </fieldset>
      <label>Ends on <input type="date" value={f.expires} onChange={(e) => set('expires', e.target.value)} data-testid="study-expires" /></label>
      <p><button type="submit" disabled={action.busy} data-testid="study-create">{action.busy ? 'Registering…' : 'Register on chain and publish'}</button></p>
      {action.error && <p className="error" role="alert" data-testid="study-form-error">{action.error}</p>}
      {action.message && <p className="ok" role="status">{action.message}</p>}
    </form>
  );
}
