/**
 * The one way certvet reads a local input: a file, a device, a FIFO or standard input ("-").
 * Reads incrementally and stops one byte past `limit`, so `/dev/zero`, an endless FIFO or an
 * endless pipe cost at most `limit` bytes of memory and are refused with a typed error. Pipes
 * and FIFOs are read through the event loop with an idle deadline, so a FIFO nobody writes to
 * (or that is never opened for writing) ends in an error rather than a hang.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { isatty } from 'node:tty';

export type InputReadErrorCode =
  | 'CERTVET_INPUT_TOO_LARGE'
  | 'CERTVET_INPUT_NOT_FOUND'
  | 'CERTVET_INPUT_PERMISSION'
  | 'CERTVET_INPUT_NOT_A_FILE'
  | 'CERTVET_INPUT_TIMEOUT'
  | 'CERTVET_INPUT_UNREADABLE';

/** An input that could not be read; `input` is the path ("-" for standard input). */
export class InputReadError extends Error {
  override readonly name = 'InputReadError';
  constructor(
    readonly code: InputReadErrorCode,
    readonly input: string,
    message: string,
    /** For CERTVET_INPUT_TOO_LARGE: the limit, and the size when it was known without reading. */
    readonly limit: number | null = null,
    readonly size: number | null = null,
  ) {
    super(message);
  }
}

export interface BoundedReadOptions {
  /** Largest accepted size in bytes; one more byte is an error. */
  readonly limit: number;
  /** For pipes and FIFOs: give up when no byte arrives for this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Default idle deadline for pipes and FIFOs. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

const CHUNK = 64 * 1024;

/** How messages name an input: its path, or "standard input" for "-". */
export function inputName(path: string): string {
  return path === '-' ? 'standard input' : path;
}

function tooLarge(path: string, limit: number, size: number | null = null): InputReadError {
  return new InputReadError(
    'CERTVET_INPUT_TOO_LARGE',
    path,
    size !== null
      ? `is ${size} bytes, larger than the ${limitText(limit)} limit`
      : `is larger than the ${limitText(limit)} limit (stopped reading after ${limit + 1} bytes)`,
    limit,
    size,
  );
}

/** A limit for messages: "16 MiB", "4 KiB" or "100-byte". */
export function limitText(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n}-byte`;
}

function classify(path: string, e: unknown): InputReadError {
  if (e instanceof InputReadError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new InputReadError('CERTVET_INPUT_NOT_FOUND', path, 'no such file');
    case 'EACCES':
    case 'EPERM':
      return new InputReadError('CERTVET_INPUT_PERMISSION', path, 'permission denied');
    case 'EISDIR':
      return new InputReadError('CERTVET_INPUT_NOT_A_FILE', path, 'is a directory');
    case 'ENXIO':
      return new InputReadError(
        'CERTVET_INPUT_NOT_A_FILE',
        path,
        'is a socket or device that cannot be read',
      );
    default:
      return new InputReadError(
        'CERTVET_INPUT_UNREADABLE',
        path,
        code ? `read error (${code})` : String((e as Error).message ?? e),
      );
  }
}

function checkKind(path: string, st: Stats, limit: number): void {
  if (st.isDirectory()) throw new InputReadError('CERTVET_INPUT_NOT_A_FILE', path, 'is a directory');
  if (st.isSocket()) throw new InputReadError('CERTVET_INPUT_NOT_A_FILE', path, 'is a socket, not a file');
  // A regular file's size is known: refuse without reading. Devices report 0 and are read.
  if (st.isFile() && st.size > limit) throw tooLarge(path, limit, st.size);
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Reads an fd to its end with blocking reads, never more than limit + 1 bytes. */
function readFdSync(fd: number, path: string, limit: number): Uint8Array {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      // A non-blocking stdin with nothing yet: wait a little and try again.
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(sleepCell, 0, 0, 5);
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) throw tooLarge(path, limit);
    chunks.push(buf.subarray(0, n));
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

function isStream(st: Stats, fd: number): boolean {
  return st.isFIFO() || st.isSocket() || isatty(fd);
}

/** Reads a pipe, FIFO or terminal through the event loop, bounded in size and idle time. */
function readStream(
  stream: NodeJS.ReadableStream & { destroy(): void },
  path: string,
  o: BoundedReadOptions,
  idle: boolean,
): Promise<Uint8Array> {
  const idleMs = o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const finish = (err: InputReadError | null) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.on('error', () => {});
      if (err) {
        stream.destroy();
        reject(err);
      } else resolve(new Uint8Array(Buffer.concat(chunks, total)));
    };
    const onIdle = () =>
      finish(
        new InputReadError(
          'CERTVET_INPUT_TIMEOUT',
          path,
          `no data for ${idleMs % 1000 === 0 ? `${idleMs / 1000} s` : `${idleMs} ms`} (a FIFO or pipe nobody writes to?)`,
        ),
      );
    const timer = idle ? setTimeout(onIdle, idleMs) : null;
    const onData = (d: Buffer | string) => {
      const b = typeof d === 'string' ? Buffer.from(d) : d;
      total += b.length;
      if (total > o.limit) return finish(tooLarge(path, o.limit));
      chunks.push(b);
      timer?.refresh();
    };
    const onEnd = () => finish(null);
    const onError = (e: unknown) => finish(classify(path, e));
    const onAbort = () => finish(new InputReadError('CERTVET_INPUT_TIMEOUT', path, 'interrupted'));
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

/**
 * Reads `path` ("-" is standard input) completely, refusing more than `limit` bytes and, for
 * pipes and FIFOs, giving up after `idleTimeoutMs` without data. Throws InputReadError.
 */
export async function readBounded(path: string, o: BoundedReadOptions): Promise<Uint8Array> {
  if (path === '-') {
    let st: Stats;
    try {
      st = fstatSync(0);
    } catch (e) {
      throw classify(path, e);
    }
    if (isStream(st, 0)) return readStream(process.stdin, path, o, !isatty(0));
    try {
      checkKind(path, st, o.limit);
      return readFdSync(0, path, o.limit);
    } catch (e) {
      throw classify(path, e);
    }
  }
  let st: Stats;
  try {
    st = statSync(path);
    checkKind(path, st, o.limit);
  } catch (e) {
    throw classify(path, e);
  }
  if (st.isFIFO()) {
    // Non-blocking open: it does not wait for a writer; the socket waits (bounded) instead.
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw classify(path, e);
    }
    return readStream(new Socket({ fd, readable: true, writable: false }), path, o, true);
  }
  return readBoundedSync(path, o);
}

/**
 * Synchronous variant for callers that cannot await (bounded in size; a FIFO is read with
 * blocking reads, so prefer readBounded where a writer may never come).
 */
export function readBoundedSync(path: string, o: Pick<BoundedReadOptions, 'limit'>): Uint8Array {
  let fd: number | null = null;
  try {
    if (path !== '-') {
      checkKind(path, statSync(path), o.limit);
      fd = openSync(path, 'r');
    }
    const use = fd ?? 0;
    checkKind(path, fstatSync(use), o.limit);
    return readFdSync(use, path, o.limit);
  } catch (e) {
    throw classify(path, e);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
