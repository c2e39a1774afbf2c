/**
 * "Download my records": everything the Records tab shows, as one FHIR R4 Bundle of type collection
 * (https://hl7.org/fhir/R4/bundle.html) saved as a .json file made in this page (a Blob and a
 * download link: nothing is sent anywhere); and "Print summary", the browser's print of this tab
 * (chart.css's @media print leaves out the app's navigation and buttons).
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';

/** A collection Bundle of `resources` (no Bundle.entry.fullUrl: the ids are each provider's own, not one server's). */
export function recordsBundle(resources: Resource[], now = new Date()): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: now.toISOString(),
    entry: resources.map((resource) => ({ resource })),
  };
}

function save(bundle: Bundle, fileName: string): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/fhir+json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  // After the click has handed the file to the browser.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function DownloadRecords({ resources, who }: { resources: Resource[]; who: string }) {
  const fileName = `${who.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'my'}-records.json`;
  return (
    <p className="records-actions no-print">
      <button type="button" onClick={() => save(recordsBundle(resources), fileName)} disabled={resources.length === 0} data-testid="download-records">
        Download my records
      </button>{' '}
      <button type="button" className="secondary" onClick={() => window.print()}>Print summary</button>{' '}
      <span className="muted">The download is a FHIR file ({resources.length} records) that other health apps can read.</span>
    </p>
  );
}
