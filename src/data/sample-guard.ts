import { AdvkitError } from '../errors.js';
import type { ImageDataset } from './dataset.js';

/**
 * Refuses to take `n` images from a bundled sample that holds fewer: the full files were not found, and quietly
 * evaluating fewer images than asked would misreport the result. `what` names the request in the message, e.g.
 * '--n 5000'. Full datasets pass (their own count checks apply).
 */
export function assertSampleHolds(ds: ImageDataset, n: number, what: string): void {
  if (ds.sample === undefined || n <= ds.count) return;
  throw new AdvkitError(
    'NOT_FOUND',
    `${what} asks for ${n} images, but only the bundled sample of '${ds.name}' (${ds.split}) was found: ` +
      `${ds.sample.description} (${ds.count} available). For all ${ds.sample.fullCount}, ${ds.sample.provide}.`,
    { requested: n, available: ds.count },
  );
}
