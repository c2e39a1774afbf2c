/**
 * FHIR resources rendered for people: labs with units, ranges and flags (and a trend chart), vital
 * signs, then the chart's sections (chart/sections.tsx). `patientChart` is the patient's own view:
 * tests by the names people use (lib/lab-names.ts, the clinical name on hover and in a details
 * toggle) and every section shown, saying so when it is empty.
 */
import { useMemo, useState } from 'react';
import type { Observation } from '@medplum/fhirtypes';
import { codeOf, codeText, dateOf, day, flagOf, isLab, isVital, quantityText, rangeText, summaryOf } from '../lib/fhir.js';
import { clinicalName, displayName, plainNameOf } from '../lib/lab-names.js';
import { TrendChart } from './Chart.js';
import { ChartSections, Section } from './chart/sections.js';
import type { SourcedResource } from './chart/sourced.js';
import { TableScroll } from './chart/TableScroll.js';
import './chart/chart.css';

export type { SourcedResource };

/** How a test is named: plain (the patient's view, clinical name on hover) or as the record codes it. */
type Namer = (o: Observation) => string;
const plainNamer: Namer = (o) => displayName(o.code);
const clinicalNamer: Namer = (o) => codeText(o.code);

function TestName({ o, name }: { o: Observation; name: Namer }) {
  return <span title={clinicalName(o.code)}>{name(o)}</span>;
}

/** "What these tests mean": each test's plain name, one line on it, and its clinical name and code. */
function TestGlossary({ tests }: { tests: Observation[] }) {
  const known = tests.filter((o) => plainNameOf(o.code));
  if (known.length === 0) return null;
  return (
    <details className="glossary" data-testid="lab-names">
      <summary>What these tests mean</summary>
      <dl>
        {known.map((o) => (
          <div key={codeOf(o.code) ?? clinicalName(o.code)}>
            <dt>{plainNameOf(o.code)!.name}</dt>
            <dd>{plainNameOf(o.code)!.meaning} <span className="muted">Clinical name: {clinicalName(o.code)}</span></dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

function LabTrend({ byCode, name }: { byCode: Map<string, Observation[]>; name: Namer }) {
  const codes = [...byCode.keys()];
  const [chosen, setChosen] = useState<string | undefined>(codes.find((c) => (byCode.get(c)?.length ?? 0) > 1) ?? codes[0]);
  const series = chosen ? byCode.get(chosen) ?? [] : [];
  const first = series[0];
  return (
    <div className="chart-box">
      <label>
        Trend of{' '}
        <select value={chosen} onChange={(e) => setChosen(e.target.value)} data-testid="chart-select">
          {codes.map((c) => <option key={c} value={c}>{name(byCode.get(c)![0]!)}</option>)}
        </select>
      </label>
      {first && (
        <TrendChart
          title={name(first)}
          unit={first.valueQuantity?.unit ?? ''}
          points={series.filter((o) => o.valueQuantity?.value !== undefined).map((o) => ({ date: dateOf(o), value: o.valueQuantity!.value! }))}
          low={first.referenceRange?.[0]?.low?.value}
          high={first.referenceRange?.[0]?.high?.value}
        />
      )}
    </div>
  );
}

function LabTable({ labs, name, glossary }: { labs: SourcedResource[]; name: Namer; glossary: boolean }) {
  const byCode = useMemo(() => {
    const m = new Map<string, Observation[]>();
    for (const { resource } of labs) {
      const o = resource as Observation;
      const k = codeOf(o.code) ?? codeText(o.code);
      m.set(k, [...(m.get(k) ?? []), o]);
    }
    return m;
  }, [labs]);
  return (
    <Section title="Lab results" count={labs.length}>
      <LabTrend byCode={byCode} name={name} />
      <TableScroll label="Lab results table">
        <table data-testid="lab-table">
          <thead>
            <tr><th>Date</th><th>Test</th><th>Result</th><th>Normal range</th><th>Flag</th><th>From</th></tr>
          </thead>
          <tbody>
            {labs.map(({ resource, source }) => {
              const o = resource as Observation;
              const flag = flagOf(o);
              return (
                <tr key={`${source}/${o.id}`} className={flag && flag !== 'N' ? 'abnormal' : ''}>
                  <td>{day(dateOf(o))}</td>
                  <td><TestName o={o} name={name} /></td>
                  <td>{quantityText(o.valueQuantity) || codeText(o.valueCodeableConcept)}</td>
                  <td>{rangeText(o)}</td>
                  <td>{flag === 'H' ? 'High' : flag === 'L' ? 'Low' : flag === 'N' ? 'Normal' : ''}</td>
                  <td>{source}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableScroll>
      {glossary && <TestGlossary tests={[...byCode.values()].map((s) => s[0]!)} />}
    </Section>
  );
}

/** Measurements that are neither labs nor vital signs (an exercise test, a scan), listed with their values. */
function Measurements({ title, items, name, always }: { title: string; items: SourcedResource[]; name: Namer; always?: boolean }) {
  return (
    <Section title={title} count={items.length} always={always}>
      <TableScroll label={`${title} table`}>
        <table>
          <thead><tr><th>Date</th><th>Measurement</th><th>Value</th><th>From</th></tr></thead>
          <tbody>
            {items.slice(0, 60).map(({ resource, source }) => (
              <tr key={`${source}/${resource.id}`}>
                <td>{day(dateOf(resource))}</td>
                <td><TestName o={resource as Observation} name={name} /></td>
                <td>{summaryOf(resource).split(': ').slice(1).join(': ') || String((resource as Observation).valueBoolean ?? '')}</td>
                <td>{source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {items.length > 60 && <p className="muted">The latest 60 of {items.length}.</p>}
    </Section>
  );
}

export function Records({ items, empty = 'No records.', patientChart = false }: { items: SourcedResource[]; empty?: string; patientChart?: boolean }) {
  const sorted = [...items].sort((a, b) => dateOf(b.resource).localeCompare(dateOf(a.resource)));
  const labs = sorted.filter((i) => isLab(i.resource));
  const vitals = sorted.filter((i) => isVital(i.resource));
  const otherObservations = sorted.filter((i) => i.resource.resourceType === 'Observation' && !isLab(i.resource) && !isVital(i.resource));
  const name = patientChart ? plainNamer : clinicalNamer;
  if (items.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="records">
      {labs.length > 0 ? <LabTable labs={labs} name={name} glossary={patientChart} /> : <Section title="Lab results" count={0} always={patientChart}>{null}</Section>}
      <Measurements title="Vital signs" items={vitals} name={name} always={patientChart} />
      <Measurements title="Other test results" items={otherObservations} name={name} />
      <ChartSections items={sorted} always={patientChart} />
    </div>
  );
}
