import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Most server bytes kept for parsing the handshake (certificate chains are far smaller). */
export const MAX_CAPTURE_BYTES = 512 * 1024;

/**
 * What Node's TLS layer is given instead of the TCP socket, so that it keeps a copy of the first
 * bytes the server sends: the Certificate message can then be read exactly as sent (order,
 * extra and unrelated certificates included) — Node's getPeerCertificate() rebuilds the chain.
 *
 * Why not a `stream.Duplex`: a socket that is not a `net.Socket` with a native handle reaches
 * TLS through Node's JSStreamSocket, and that adapter uses only `on`/`once`/`removeListener`
 * ('data', 'end', 'error', 'close'), `pause`, `resume`, `cork`, `uncork`, `write(chunk, cb)`,
 * `end(cb)`, `destroy`, and the `readable`, `writable`, `readableObjectMode` and (TLSSocket)
 * `allowHalfOpen` properties (the same on Node 20 through 26). A Duplex between the two added
 * its own readable and writable state machines to every connection for nothing: about 0.09 ms
 * of CPU a handshake here, 5 % of one, measured in one process against the same nginx
 * endpoints, warmed up, blocks of 1,000 handshakes interleaved (a plain socket 1.89 ms, this
 * 1.89 ms, the Duplex 1.98 ms; as whole commands the difference was inside the host's noise:
 * docs/performance.md). So this forwards those calls straight to the TCP socket.
 * Every probe runs through it, on every Node major in CI: should a Node release need more of
 * the stream interface, handshakes would fail (an error, or the probe's deadline), never pass
 * silently.
 */
export class CapturingStream extends EventEmitter {
  /** As a Duplex's default: TLS does not end its own side when the server ends its side. */
  readonly allowHalfOpen = true;
  readonly readableObjectMode = false;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (d: Buffer) => {
      if (this.size < MAX_CAPTURE_BYTES) {
        this.chunks.push(d);
        this.size += d.length;
      }
      this.emit('data', d);
    });
    socket.once('end', () => this.emit('end'));
    // TLS listens from the moment it wraps this (right after construction); the guard keeps
    // an error that arrives while nothing listens (tls.connect threw before wrapping) from
    // being thrown by the emitter: the socket's own listeners and the probe's cleanup see it.
    socket.on('error', (e: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
    socket.once('close', () => this.emit('close'));
  }

  /** This object where Node's typings want a Duplex (`tls.connect({ socket })`): see above. */
  asDuplex(): Duplex {
    return this as unknown as Duplex;
  }

  get readable(): boolean {
    return this.socket.readable;
  }

  get writable(): boolean {
    return this.socket.writable;
  }

  pause(): this {
    this.socket.pause();
    return this;
  }

  resume(): this {
    this.socket.resume();
    return this;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  write(chunk: Uint8Array, cb?: (e?: Error | null) => void): boolean {
    return this.socket.write(chunk, cb);
  }

  end(cb?: () => void): this {
    this.socket.end(cb);
    return this;
  }

  destroy(): this {
    this.socket.destroy();
    return this;
  }

  /** How many bytes have been captured so far. */
  capturedBytes(): number {
    return this.size;
  }

  /** Everything captured from the server so far. */
  captured(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
