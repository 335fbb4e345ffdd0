/** Raised when a step runs past its deadline. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
  constructor(
    readonly step: string,
    readonly ms: number,
  ) {
    super(`${step} did not complete within ${ms} ms`);
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
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
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
