import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** Most server bytes kept for parsing the handshake (certificate chains are far smaller). */
export const MAX_CAPTURE_BYTES = 512 * 1024;

/**
 * A Duplex between a TCP socket and Node's TLS layer that keeps a copy of the first bytes the
 * server sends, so the Certificate message can be read exactly as sent (order, extra and
 * unrelated certificates included) — Node's getPeerCertificate() rebuilds the chain instead.
 */
export class CapturingStream extends Duplex {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly socket: Socket) {
    super();
    socket.on('data', (d: Buffer) => {
      if (this.size < MAX_CAPTURE_BYTES) {
        this.chunks.push(d);
        this.size += d.length;
      }
      if (!this.push(d)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (e) => this.destroy(e));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
    socket.resume();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
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
