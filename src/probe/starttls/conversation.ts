import type { Socket } from 'node:net';

/** Most any STARTTLS preamble may send before TLS (a server that talks more is hostile or confused). */
export const MAX_PREAMBLE_BYTES = 64 * 1024;

export class StartTlsError extends Error {
  override readonly name = 'StartTlsError';
  readonly code = 'CERTVET_STARTTLS_FAILED';
}

/**
 * A bounded plaintext exchange on a socket before TLS: reads accumulate until a predicate
 * is satisfied, never beyond MAX_PREAMBLE_BYTES, and all listeners are removed by `close()`
 * so the socket can be handed to TLS untouched.
 */
export class Conversation {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly onData = (d: Buffer) => {
    this.buf = Buffer.concat([this.buf, d]);
    if (this.buf.length > MAX_PREAMBLE_BYTES)
      this.fail(new StartTlsError(`the server sent more than ${MAX_PREAMBLE_BYTES} bytes before TLS`));
    this.waiter?.();
  };
  private readonly onEnd = () =>
    this.fail(new StartTlsError('the server closed the connection during the STARTTLS exchange'));
  private readonly onError = (e: Error) =>
    this.fail(new StartTlsError(`connection error during the STARTTLS exchange: ${e.message}`));

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.waiter?.();
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Waits until `extract` returns a value for the buffered bytes; consumes `consumed` bytes. */
  read<T>(extract: (buf: Buffer) => { value: T; consumed: number } | null): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        let r: { value: T; consumed: number } | null;
        try {
          r = extract(this.buf);
        } catch (e) {
          // `check` also runs from the socket's data handler: a throw there would be uncaught.
          this.waiter = null;
          reject(e);
          return;
        }
        if (r) {
          this.waiter = null;
          this.buf = this.buf.subarray(r.consumed);
          resolve(r.value);
          return;
        }
        if (this.failure) {
          this.waiter = null;
          reject(this.failure);
        }
      };
      this.waiter = check;
      check();
    });
  }

  /** Reads one text response ending in CRLF/LF whose last line satisfies `isFinal`. */
  readLines(isFinal: (line: string) => boolean): Promise<string[]> {
    return this.read((buf) => {
      const text = buf.toString('latin1');
      const lines: string[] = [];
      let pos = 0;
      for (;;) {
        const nl = text.indexOf('\n', pos);
        if (nl < 0) return null;
        const line = text.slice(pos, nl).replace(/\r$/, '');
        lines.push(line);
        pos = nl + 1;
        if (isFinal(line)) return { value: lines, consumed: pos };
      }
    });
  }

  /** Detaches from the socket; throws if the server sent bytes beyond the expected answer. */
  close(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.pause();
    if (this.buf.length)
      throw new StartTlsError(`the server sent ${this.buf.length} unexpected bytes before the TLS handshake`);
  }
}

/** Text safe to put in a message: printable ASCII only, shortened. */
export function quote(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(t.length > 120 ? `${t.slice(0, 120)}…` : t);
}
