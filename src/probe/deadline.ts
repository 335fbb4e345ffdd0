import { setMaxListeners } from 'node:events';

/** Raised when a step runs past its deadline (also the abort reason of a deadline's signal). */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
  readonly code = 'CERTVET_DEADLINE_EXCEEDED';
  constructor(
    readonly step: string,
    readonly ms: number,
  ) {
    super(`${step} did not complete within ${Math.round(ms)} ms`);
  }
}

/** Races `p` against a timer and an abort signal; `onCancel` releases what `p` holds. */
export function withDeadline<T>(
  p: Promise<T>,
  ms: number,
  step: string,
  signal?: AbortSignal,
  onCancel?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () =>
      finish(() => {
        onCancel?.();
        reject(abortReason(signal));
      });
    const timer = setTimeout(
      () =>
        finish(() => {
          onCancel?.();
          reject(new DeadlineError(step, ms));
        }),
      Math.max(0, ms),
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}

/** The error an aborted signal stands for (its reason when that is an Error). */
export function abortReason(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** One deadline for a whole unit of work, combined with the caller's signal (e.g. Ctrl-C). */
export interface Deadline {
  /** Aborts when the deadline passes (reason: a DeadlineError) or the parent signal aborts (its reason). */
  readonly signal: AbortSignal;
  /** Milliseconds left (0 once passed). */
  remainingMs(): number;
  /** Stops the timer and detaches from the parent signal. */
  dispose(): void;
}

export function startDeadline(ms: number, step: string, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  // Every fetch and probe step of the unit listens on this one signal.
  setMaxListeners(0, controller.signal);
  const ends = performance.now() + ms;
  // No timer for a deadline beyond what setTimeout can express (~24.8 days): none, in effect.
  const timer =
    ms <= 2 ** 31 - 1
      ? setTimeout(() => controller.abort(new DeadlineError(step, ms)), Math.max(0, ms))
      : null;
  const onParentAbort = () => controller.abort(abortReason(parent));
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    remainingMs: () => Math.max(0, ends - performance.now()),
    dispose: () => {
      if (timer) clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
