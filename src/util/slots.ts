/** Makes the error a waiter rejects with when its signal aborts while it waits. */
export type AbortReasonOf = (signal: AbortSignal) => Error;

/**
 * A counting semaphore whose waiters can give up: `acquire` resolves with a release function
 * once fewer than `max` holders remain, or rejects as soon as the caller's signal aborts (the
 * waiter leaves the queue, so an abandoned wait never takes a slot).
 */
export class Slots {
  private held = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: () => number) {}

  get inUse(): number {
    return this.held;
  }

  acquire(signal: AbortSignal | undefined, reasonOf: AbortReasonOf): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(reasonOf(signal));
    if (this.held < this.max()) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.take());
      };
      const onAbort = () => {
        const i = this.queue.indexOf(wake);
        if (i >= 0) this.queue.splice(i, 1);
        reject(reasonOf(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(wake);
    });
  }

  private take(): () => void {
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      if (this.held < this.max()) this.queue.shift()?.();
    };
  }
}
