/**
 * The two shapes of an undici dispatch handler, and the bridge from the newer to the older.
 *
 * `dispatcher.dispatch(options, handler)` is called by whoever drives the dispatcher. certvet's
 * dispatcher is an undici 6 Agent, which speaks the callback interface (`onConnect`, `onHeaders`,
 * `onData`, `onComplete`, `onError`). Node's global `fetch` calls it with the interface of the
 * undici that Node bundles: Node 20 and 22 (undici 6) and Node 24 (undici 7) pass callback
 * handlers, but Node 26 (undici 8) passes controller handlers only (`onRequestStart`,
 * `onResponseStart`, `onResponseData`, `onResponseEnd`, `onResponseError`, each given a
 * controller that pauses, resumes and aborts, and carries the raw headers), which undici 6
 * refuses ("invalid onError method"). `toCallbackHandler` adapts such a handler; a callback
 * handler (undici's own `request`, older fetches) passes through untouched.
 *
 * As in undici, a handler with `onRequestStart` is a controller handler.
 */
import type { Duplex } from 'node:stream';
import { type Dispatcher, errors, util } from 'undici';

type Headers = Record<string, string | string[]>;

/** What a controller handler is given (undici >= 7's DispatchController, plus its raw headers). */
export interface DispatchController {
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: Error | null;
  /** The response's (or upgrade's) header lines as received: name, value, name, value, … */
  readonly rawHeaders: Buffer[] | null;
  readonly rawTrailers: Buffer[] | string[] | null;
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

/** A dispatch handler of the controller shape (undici >= 7; the only shape undici 8's fetch passes). */
export interface ControllerHandler {
  onRequestStart?(controller: DispatchController, context: unknown): void;
  onRequestUpgrade?(
    controller: DispatchController,
    statusCode: number,
    headers: Headers,
    socket: Duplex,
  ): void;
  onResponseStarted?(): void;
  onResponseStart?(
    controller: DispatchController,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void;
  onResponseData?(controller: DispatchController, chunk: Buffer): void;
  onResponseEnd?(controller: DispatchController, trailers: Headers): void;
  onResponseError?(controller: DispatchController, error: Error): void;
  onBodySent?(chunkSize: number, totalBytesSent: number): void;
  onRequestSent?(): void;
}

export function isControllerHandler(handler: object): handler is ControllerHandler {
  return typeof (handler as ControllerHandler).onRequestStart === 'function';
}

class Controller implements DispatchController {
  #abort: ((reason?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;
  rawHeaders: Buffer[] | null = null;
  rawTrailers: Buffer[] | string[] | null = null;

  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  /** A new attempt on a connection (undici may retry a request): its abort and resume. */
  connected(abort: (reason?: Error) => void): void {
    this.#abort = abort;
    if (this.#aborted) abort(this.#reason ?? undefined);
  }
  resumeWith(resume: () => void): void {
    this.#resume = resume;
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#abort?.(reason);
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }
}

/** The callback handler undici 6 drives, forwarding to a controller handler. */
export function toCallbackHandler(handler: ControllerHandler): Dispatcher.DispatchHandlers {
  if (typeof handler.onResponseError !== 'function')
    throw new errors.InvalidArgumentError('invalid onResponseError method');
  const controller = new Controller();
  const parse = (raw: Buffer[] | string[] | null): Headers =>
    raw ? util.parseHeaders(raw as (Buffer | string)[]) : {};
  return {
    onConnect(abort) {
      controller.connected(abort);
      handler.onRequestStart?.(controller, undefined);
    },
    onUpgrade(statusCode, rawHeaders, socket) {
      controller.rawHeaders = rawHeaders as Buffer[] | null;
      handler.onRequestUpgrade?.(controller, statusCode, parse(rawHeaders), socket);
    },
    onResponseStarted() {
      handler.onResponseStarted?.();
    },
    onHeaders(statusCode, rawHeaders, resume, statusText) {
      controller.resumeWith(resume);
      controller.rawHeaders = rawHeaders;
      handler.onResponseStart?.(controller, statusCode, parse(rawHeaders), statusText);
      return !controller.paused;
    },
    onData(chunk) {
      handler.onResponseData?.(controller, chunk);
      return !controller.paused;
    },
    onComplete(rawTrailers) {
      controller.rawTrailers = rawTrailers;
      handler.onResponseEnd?.(controller, parse(rawTrailers));
    },
    onError(error) {
      handler.onResponseError?.(controller, error);
    },
    onBodySent(chunkSize, totalBytesSent) {
      handler.onBodySent?.(chunkSize, totalBytesSent);
    },
    ...(handler.onRequestSent ? { onRequestSent: () => handler.onRequestSent?.() } : {}),
  };
}
