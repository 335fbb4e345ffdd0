import { setMaxListeners } from 'node:events';
import { checkTarget, type ScanOptions, type ScanTarget } from '../check/pipeline.js';
import type { TargetResult } from '../report/result.js';
import { fdBudget } from '../util/fdBudget.js';

// The per-target pipeline lives in src/check/pipeline.ts; these names stay importable from here.
export {
  assessObservation,
  checkTarget,
  type ExtraCheck,
  type ExtraCheckContext,
  probeTarget,
  type ScanOptions,
  type ScanTarget,
} from '../check/pipeline.js';
/**
 * Targets checked at once: as asked, but never more than the targets nor than the process's
 * open-file budget allows (beyond it connections fail with EMFILE); at least one.
 */
export function effectiveConcurrency(requested: number, targets: number = Number.POSITIVE_INFINITY): number {
  return Math.max(1, Math.min(requested, targets || 1, fdBudget().targets));
}

/**
 * Checks every target with bounded concurrency. Results stream to `onResult` as they
 * complete; the returned array is in input order. Work already started finishes (each probe
 * is bounded by its own deadline); after `signal` aborts no new target starts.
 */
export async function scan(
  targets: readonly ScanTarget[],
  o: ScanOptions = {},
): Promise<(TargetResult | undefined)[]> {
  const results: (TargetResult | undefined)[] = new Array(targets.length);
  // Every in-flight probe listens on the one signal.
  if (o.signal) setMaxListeners(0, o.signal);
  const limit = effectiveConcurrency(o.concurrency ?? 32, targets.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      if (o.signal?.aborted) return;
      const i = next++;
      if (i >= targets.length) return;
      const r = await checkTarget(targets[i]!, o);
      // A target cut short by the abort was not checked: leave it out rather than report an error.
      if (o.signal?.aborted && r.status === 'error') return;
      results[i] = r;
      o.onResult?.(r, i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}
