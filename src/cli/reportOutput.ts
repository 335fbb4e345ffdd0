/**
 * Where a report goes: stdout (with back-pressure, so a slow pipe slows the writer instead of
 * filling memory) or the -o file (opened at once, so a path that cannot be written fails
 * before the first target is checked). Small pieces are batched into 64 KiB writes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface ReportOutput {
  /** Queues a piece; written when 64 KiB are queued, or at flush()/close(). */
  write(chunk: string): Promise<void>;
  /** Writes what is queued now (jsonl: each result as it completes). */
  flush(): Promise<void>;
  /** Flushes and closes (the file; stdout stays open). */
  close(): Promise<void>;
  /** Closes without flushing (after a failure); harmless after close(). */
  destroy(): void;
}

const BATCH_BYTES = 64 * 1024;

export function openReportOutput(path: string | undefined, stdout: NodeJS.WritableStream): ReportOutput {
  let pending: string[] = [];
  let pendingBytes = 0;
  if (path !== undefined) {
    let fd: number | null = openSync(path, 'w', 0o644);
    const flush = () => {
      if (fd === null || pendingBytes === 0) return;
      const buf = Buffer.from(pending.join(''), 'utf8');
      pending = [];
      pendingBytes = 0;
      let put = 0;
      while (put < buf.length) put += writeSync(fd, buf, put, buf.length - put);
    };
    return {
      async write(chunk) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= BATCH_BYTES) flush();
      },
      async flush() {
        flush();
      },
      async close() {
        flush();
        if (fd !== null) closeSync(fd);
        fd = null;
      },
      destroy() {
        if (fd !== null) closeSync(fd);
        fd = null;
      },
    };
  }
  const flush = async () => {
    if (pendingBytes === 0) return;
    const text = pending.join('');
    pending = [];
    pendingBytes = 0;
    // (A stream that returns nothing from write() is taken as never full.)
    if (stdout.write(text) === false) await drained(stdout);
  };
  return {
    async write(chunk) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= BATCH_BYTES) await flush();
    },
    flush,
    close: flush,
    destroy() {
      pending = [];
      pendingBytes = 0;
    },
  };
}

/** Resolves on 'drain' (or when the stream closes or fails: nothing more can be written). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
