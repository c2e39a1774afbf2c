/**
 * The chart's sections other than labs and vital signs: health problems (current and past), medicines
 * (current and stopped), allergies, vaccines, visits, reports and documents, and anything else. Each
 * is a headed list; the statuses come from the FHIR status elements (Condition.clinicalStatus,
 * MedicationRequest.status / MedicationStatement.status, https://hl7.org/fhir/R4/valueset-medicationrequest-status.html).
 */
import type { AllergyIntolerance, Condition, Encounter, Immunization, MedicationRequest, MedicationStatement, Resource } from '@medplum/fhirtypes';
import type { ReactNode } from 'react';
import { codeOf, codeText, dateOf, day, summaryOf } from '../../lib/fhir.js';
import type { SourcedResource } from './sourced.js';

/** Condition.clinicalStatus codes that mean the problem is still there. */
const ACTIVE_PROBLEM = new Set(['active', 'recurrence', 'relapse']);
/** Medication statuses that mean the patient is (or will be) taking it. */
const CURRENT_MEDICINE = new Set(['active', 'on-hold', 'draft', 'intended']);

export const isProblem = (r: Resource): r is Condition => r.resourceType === 'Condition';
export const isMedicine = (r: Resource): r is MedicationRequest | MedicationStatement => r.resourceType === 'MedicationRequest' || r.resourceType === 'MedicationStatement';
const isDocument = (r: Resource) => r.resourceType === 'DiagnosticReport' || r.resourceType === 'DocumentReference';
/** The types the sections below show (labs, vitals and other observations are shown by Records). */
export const SECTION_TYPES = new Set(['Condition', 'MedicationRequest', 'MedicationStatement', 'AllergyIntolerance', 'Immunization', 'Encounter', 'DiagnosticReport', 'DocumentReference', 'Patient', 'Observation']);

const slug = (title: string) => `section-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;

/** A headed section; when empty it says so (`always`) or is left out. */
export function Section({ title, count, always, children }: { title: string; count: number; always?: boolean; children: ReactNode }) {
  if (count === 0 && !always) return null;
  const id = slug(title);
  return (
    <section aria-labelledby={id} data-testid={id} className="chart-section">
      <h3 id={id}>{title}</h3>
      {count === 0 ? <p className="muted">None recorded.</p> : children}
    </section>
  );
}

function Items({ items, line }: { items: SourcedResource[]; line: (r: Resource) => ReactNode }) {
  return (
    <ul className="timeline">
      {items.map(({ resource, source }) => (
        <li key={`${source}/${resource.resourceType}/${resource.id}`}>
          <span className="date">{day(dateOf(resource))}</span> {line(resource)} <span className="muted">· {source}</span>
        </li>
      ))}
    </ul>
  );
}

/** Two lists under one heading: what is current and what is past. */
function Split({ title, items, current, labels, always, line }: { title: string; items: SourcedResource[]; current: (r: Resource) => boolean; labels: [string, string]; always?: boolean; line: (r: Resource) => ReactNode }) {
  const now = items.filter((i) => current(i.resource));
  const past = items.filter((i) => !current(i.resource));
  return (
    <Section title={title} count={items.length} always={always}>
      {now.length > 0 && <><h4>{labels[0]} ({now.length})</h4><Items items={now} line={line} /></>}
      {past.length > 0 && <><h4>{labels[1]} ({past.length})</h4><Items items={past} line={line} /></>}
    </Section>
  );
}

const problemLine = (r: Resource) => {
  const c = r as Condition;
  return <><strong>{codeText(c.code)}</strong>{c.abatementDateTime ? ` (until ${day(c.abatementDateTime)})` : ''}</>;
};
const medicineLine = (r: Resource) => {
  const m = r as MedicationRequest | MedicationStatement;
  const how = m.resourceType === 'MedicationRequest' ? m.dosageInstruction?.[0]?.text : m.dosage?.[0]?.text;
  return <><strong>{codeText(m.medicationCodeableConcept)}</strong>{how ? ` — ${how}` : ''}{CURRENT_MEDICINE.has(m.status ?? '') ? '' : ` (${m.status})`}</>;
};
const allergyLine = (r: Resource) => {
  const a = r as AllergyIntolerance;
  const reaction = a.reaction?.[0]?.manifestation?.map((m) => codeText(m)).join(', ');
  return <><strong>{codeText(a.code)}</strong>{reaction ? ` — reaction: ${reaction}` : ''}{a.criticality === 'high' ? ' (serious)' : ''}</>;
};
const vaccineLine = (r: Resource) => <strong>{codeText((r as Immunization).vaccineCode)}</strong>;
const visitLine = (r: Resource) => {
  const e = r as Encounter;
  const why = e.reasonCode?.map((c) => codeText(c)).join(', ');
  return <><strong>{codeText(e.type?.[0])}</strong>{why ? ` — for ${why}` : ''}</>;
};

/** Every section of the chart but labs and vitals; `always` shows the empty ones too (the patient's own chart). */
export function ChartSections({ items, always }: { items: SourcedResource[]; always?: boolean }) {
  const of = (test: (r: Resource) => boolean) => items.filter((i) => test(i.resource));
  const rest = of((r) => !SECTION_TYPES.has(r.resourceType));
  return (
    <>
      <Split title="Health problems" items={of(isProblem)} always={always} labels={['Current', 'Past (resolved)']} current={(r) => ACTIVE_PROBLEM.has(codeOf((r as Condition).clinicalStatus) ?? '')} line={problemLine} />
      <Split title="Medicines" items={of(isMedicine)} always={always} labels={['Taking now', 'Stopped']} current={(r) => CURRENT_MEDICINE.has((r as MedicationRequest).status ?? '')} line={medicineLine} />
      <Section title="Allergies" count={of((r) => r.resourceType === 'AllergyIntolerance').length} always={always}>
        <Items items={of((r) => r.resourceType === 'AllergyIntolerance')} line={allergyLine} />
      </Section>
      <Section title="Vaccines" count={of((r) => r.resourceType === 'Immunization').length} always={always}>
        <Items items={of((r) => r.resourceType === 'Immunization')} line={vaccineLine} />
      </Section>
      <Section title="Visits" count={of((r) => r.resourceType === 'Encounter').length} always={always}>
        <Items items={of((r) => r.resourceType === 'Encounter')} line={visitLine} />
      </Section>
      <Section title="Reports and documents" count={of(isDocument).length}>
        <Items items={of(isDocument)} line={(r) => summaryOf(r)} />
      </Section>
      <Section title="Other records" count={rest.length}>
        <Items items={rest} line={(r) => summaryOf(r)} />
      </Section>
    </>
  );
}
