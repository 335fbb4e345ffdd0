import { fdBudget } from '../util/fdBudget.js';

/**
 * Targets checked at once: as asked, but never more than the targets nor than the process's
 * open-file budget allows (beyond it connections fail with EMFILE); at least one.
 */
export function effectiveConcurrency(requested: number, targets: number = Number.POSITIVE_INFINITY): number {
  return Math.max(1, Math.min(requested, targets || 1, fdBudget().targets));
}
