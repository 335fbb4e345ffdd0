import { abortReason } from '../probe/deadline.js';
import { untilAborted } from './untilAborted.js';

/**
 * One in-flight load (a fetch) shared by several waiters, each with its own AbortSignal — the
 * single-flight entry of a cache. The load runs under its own signal, never a waiter's: one
 * waiter's abort (its deadline, Ctrl-C) rejects only that waiter. When every waiter has given
 * up before the load settles, the load is cancelled and `onAbandoned` lets the cache forget the
 * entry at once, so a later caller starts afresh instead of inheriting the cancellation.
 * Waiters without a signal never give up.
 */
export class SharedLoad<T> {
  /** The load's own outcome. */
  readonly promise: Promise<T>;
  private readonly controller = new AbortController();
  private waiting = 0;
  private settled = false;

  constructor(
    load: (signal: AbortSignal) => Promise<T>,
    private readonly onAbandoned: () => void,
  ) {
    this.promise = load(this.controller.signal);
    this.promise.then(
      () => {
        this.settled = true;
      },
      () => {
        this.settled = true;
      },
    );
  }

  /** True once cancelled because every waiter gave up. */
  get abandoned(): boolean {
    return this.controller.signal.aborted;
  }

  join(signal?: AbortSignal): Promise<T> {
    if (this.settled) return this.promise;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    this.waiting++;
    if (!signal) return this.promise;
    return untilAborted(this.promise, signal, () => {
      this.leave();
      throw abortReason(signal);
    });
  }

  private leave(): void {
    this.waiting--;
    if (this.waiting > 0 || this.settled || this.abandoned) return;
    this.controller.abort(new Error('every waiter gave up'));
    this.onAbandoned();
  }
}
