/**
 * What a write route waits for after its store commit. By default its pointers mined (the answer
 * means "on chain"); with `publish.awaitChain: false` nothing more: the answer goes once the store
 * has committed (the publish_intents note was made before, reconcile.ts), and the note stays until
 * the transaction carrying the write's pointers is mined (trackWrites asks `publishedLater`), so a
 * kill -9 meanwhile is still repaired at the next start.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Publisher } from './publisher.js';

const later = new WeakMap<object, Promise<unknown>>();

/** Publishes what `request` wrote: waits until mined, or (awaitChain false) hands the wait to the request's note. */
export async function publishWrite(publisher: Publisher, request: object, resources: readonly Resource[]): Promise<void> {
  const mined = publisher.publish(resources);
  if (publisher.awaitChain) {
    await mined;
    return;
  }
  mined.catch(() => undefined); // heard through the note: it stays, and reconciling is scheduled
  const earlier = later.get(request);
  later.set(request, earlier ? Promise.all([earlier, mined]) : mined);
}

/** The publish a request left running (awaitChain false), if any: its note goes only once it is mined. */
export function publishedLater(request: object): Promise<unknown> | undefined {
  return later.get(request);
}
