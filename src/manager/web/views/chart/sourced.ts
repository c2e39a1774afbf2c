/** A record with the provider that holds it: what every view of records lists. */
import type { Resource } from '@medplum/fhirtypes';

export interface SourcedResource {
  resource: Resource;
  /** Who holds it (provider label). */
  source: string;
}
