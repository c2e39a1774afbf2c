/**
 * The provider's FHIR query against its own store, through its gatekeeper. A refusal shows the
 * OperationOutcome's own words (provider/words.ts), not only a status.
 */
import { useState } from 'react';
import type { Resource } from '@medplum/fhirtypes';
import { resourcesOf } from '../../lib/fhir.js';
import type { Session } from '../../lib/session.js';
import { useAction } from '../../lib/use.js';
import { Records } from '../Records.js';
import { refusalText } from './words.js';

export function QueryBox({ s }: { s: Session }) {
  const [path, setPath] = useState('Observation?category=laboratory&_count=20');
  const action = useAction();
  const [result, setResult] = useState<{ resources: Resource[]; hash?: string }>();
  const run = () =>
    action.run(async () => {
      setResult(undefined);
      try {
        const r = await s.gatekeeper(s.account.address).get(`/fhir/R4/${path.replace(/^\/+/, '')}`);
        setResult({ resources: resourcesOf(r.body), hash: r.dataHash });
      } catch (err) {
        throw new Error(refusalText('the search', err));
      }
    });
  return (
    <fieldset className="query-box" data-testid="query-box">
      <legend>Search your store (FHIR query)</legend>
      <span className="query-path">
        <label htmlFor="provider-query">FHIR search, after /fhir/R4/</label>
        <input id="provider-query" value={path} onChange={(e) => setPath(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && run()} data-testid="query-path" aria-describedby={action.error ? 'provider-query-error' : undefined} />
        <button onClick={run} disabled={action.busy} data-testid="query-run">Run</button>
      </span>
      {action.error && <p className="error" role="alert" id="provider-query-error" data-testid="query-error">{action.error}</p>}
      {result && (
        <div className="muted">
          <p data-testid="query-count">{result.resources.length} resources found.</p>
          <details className="provider-details"><summary>Details</summary>Data hash the gatekeeper computed: <code>{result.hash}</code></details>
        </div>
      )}
      {result && <Records items={result.resources.map((resource) => ({ resource, source: s.name }))} />}
    </fieldset>
  );
}
