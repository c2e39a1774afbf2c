/** FHIR resources rendered for people: labs with units, ranges and flags (and a trend chart), vitals, conditions, medications, and the rest. */
import { useMemo, useState } from 'react';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { codeOf, codeText, dateOf, day, flagOf, isLab, isVital, quantityText, rangeText, summaryOf } from '../lib/fhir.js';
import { TrendChart } from './Chart.js';

export interface SourcedResource {
  resource: Resource;
  /** Who holds it (provider label). */
  source: string;
}

function LabTable({ labs }: { labs: SourcedResource[] }) {
  const byCode = useMemo(() => {
    const m = new Map<string, Observation[]>();
    for (const { resource } of labs) {
      const o = resource as Observation;
      const k = codeOf(o.code) ?? codeText(o.code);
      m.set(k, [...(m.get(k) ?? []), o]);
    }
    return m;
  }, [labs]);
  const codes = [...byCode.keys()];
  const [chosen, setChosen] = useState<string | undefined>(codes.find((c) => (byCode.get(c)?.length ?? 0) > 1) ?? codes[0]);
  const series = chosen ? byCode.get(chosen) ?? [] : [];
  const first = series[0];
  return (
    <section>
      <h3>Lab results</h3>
      {codes.length > 0 && (
        <div className="chart-box">
          <label>
            Trend of{' '}
            <select value={chosen} onChange={(e) => setChosen(e.target.value)} data-testid="chart-select">
              {codes.map((c) => (
                <option key={c} value={c}>{codeText(byCode.get(c)![0]!.code)}</option>
              ))}
            </select>
          </label>
          {first && (
            <TrendChart
              title={codeText(first.code)}
              unit={first.valueQuantity?.unit ?? ''}
              points={series.filter((o) => o.valueQuantity?.value !== undefined).map((o) => ({ date: dateOf(o), value: o.valueQuantity!.value! }))}
              low={first.referenceRange?.[0]?.low?.value}
              high={first.referenceRange?.[0]?.high?.value}
            />
          )}
        </div>
      )}
      <table data-testid="lab-table">
        <thead>
          <tr><th>Date</th><th>Test</th><th>Result</th><th>Reference range</th><th>Flag</th><th>From</th></tr>
        </thead>
        <tbody>
          {labs.map(({ resource, source }) => {
            const o = resource as Observation;
            const flag = flagOf(o);
            return (
              <tr key={`${source}/${o.id}`} className={flag && flag !== 'N' ? 'abnormal' : ''}>
                <td>{day(dateOf(o))}</td>
                <td>{codeText(o.code)}</td>
                <td>{quantityText(o.valueQuantity) || codeText(o.valueCodeableConcept)}</td>
                <td>{rangeText(o)}</td>
                <td>{flag === 'H' ? 'High' : flag === 'L' ? 'Low' : flag === 'N' ? 'Normal' : ''}</td>
                <td>{source}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export function Records({ items, empty = 'No records.' }: { items: SourcedResource[]; empty?: string }) {
  const sorted = [...items].sort((a, b) => dateOf(b.resource).localeCompare(dateOf(a.resource)));
  const labs = sorted.filter((i) => isLab(i.resource));
  const vitals = sorted.filter((i) => isVital(i.resource));
  const rest = sorted.filter((i) => !isLab(i.resource) && !isVital(i.resource) && i.resource.resourceType !== 'Patient');
  if (items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="records">
      {labs.length > 0 && <LabTable labs={labs} />}
      {vitals.length > 0 && (
        <section>
          <h3>Vital signs</h3>
          <table>
            <thead><tr><th>Date</th><th>Measurement</th><th>Value</th><th>From</th></tr></thead>
            <tbody>
              {vitals.slice(0, 60).map(({ resource, source }) => (
                <tr key={`${source}/${resource.id}`}><td>{day(dateOf(resource))}</td><td>{codeText((resource as Observation).code)}</td><td>{summaryOf(resource).split(': ').slice(1).join(': ')}</td><td>{source}</td></tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {rest.length > 0 && (
        <section>
          <h3>Conditions, medications, visits and more</h3>
          <ul className="timeline">
            {rest.map(({ resource, source }) => (
              <li key={`${source}/${resource.resourceType}/${resource.id}`}>
                <span className="date">{day(dateOf(resource))}</span> <span className={`kind kind-${resource.resourceType}`}>{resource.resourceType}</span> {summaryOf(resource)} <span className="muted">· {source}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
