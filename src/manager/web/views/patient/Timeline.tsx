/** Everything the patient's providers hold for them, read through each gatekeeper, checked against the chain. */
import type { Resource } from '@medplum/fhirtypes';
import { hashResultSet, type ResourceLike } from '../../../../records/hash.js';
import type { RelationshipState, Summary } from '../../../../sdk/summary.js';
import { resourcesOf } from '../../lib/fhir.js';
import type { Session } from '../../lib/session.js';
import { useLoad } from '../../lib/use.js';
import { Records, type SourcedResource } from '../Records.js';

export interface ProviderRecords {
  provider: string;
  resources: Resource[];
  verified?: boolean;
  error?: string;
}

/**
 * Reads the patient's records at one provider, and checks them independently of the gatekeeper: each
 * pointer's query is run, and the keccak256 of its canonical result set is compared, here in the
 * browser, with the data hash on chain.
 */
export async function recordsAt(s: Session, rel: RelationshipState): Promise<ProviderRecords> {
  const label = s.nameOf(rel.provider);
  try {
    const gk = s.gatekeeper(rel.provider);
    const me = resourcesOf((await gk.get('/fhir/R4/Patient')).body)[0];
    if (!me?.id) return { provider: label, resources: [], error: 'this provider has not linked your record yet' };
    const everything = resourcesOf((await gk.get(`/fhir/R4/Patient/${me.id}/$everything`)).body);
    const checks = await Promise.all(
      rel.pointers.map(async (p) => {
        const r = await gk.get(`/fhir/R4/${p.query}${p.query.includes('?') ? '&' : '?'}_count=1000`);
        return hashResultSet(resourcesOf(r.body) as ResourceLike[]) === p.dataHash;
      }),
    );
    return { provider: label, resources: everything, verified: checks.every(Boolean) };
  } catch (err) {
    return { provider: label, resources: [], error: (err as Error).message };
  }
}

export function Timeline({ s, summary, version }: { s: Session; summary: Summary; version: number }) {
  const rels = summary.relationships.filter((r) => r.status !== 'rejected');
  const providers = rels.map((r) => r.provider);
  const { data, loading, error } = useLoad(() => Promise.all(rels.map((r) => recordsAt(s, r))), [summary.blockNumber, version]);
  if (error) return <p className="error">{error}</p>;
  if (!data) return <p className="muted">Gathering your records from {providers.length} providers…</p>;
  const items: SourcedResource[] = data.flatMap((d) => d.resources.map((resource) => ({ resource, source: d.provider })));
  return (
    <div>
      <ul className="sources">
        {data.map((d) => (
          <li key={d.provider}>
            <strong>{d.provider}</strong>: {d.error ? <span className="error">{d.error}</span> : `${d.resources.length} resources`}{' '}
            {d.verified === true && <span className="badge ok" title="keccak256 of each pointer's data equals the hash on chain">matches the chain</span>}
            {d.verified === false && <span className="badge error">does NOT match the chain</span>}
          </li>
        ))}
      </ul>
      {loading && <p className="muted">refreshing…</p>}
      <Records items={items} empty="No records yet." />
    </div>
  );
}
