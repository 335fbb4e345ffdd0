/**
 * Lines of a large input (a shard's jsonl output), one at a time: never more than one line
 * (bounded by `maxLineBytes`) plus one read chunk in memory, however long the file. Standard
 * input ("-") and FIFOs give up after the idle timeout without data, as every input does.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { InputReadError } from '../util/boundedRead.js';

export interface LineReadOptions {
  readonly maxLineBytes: number;
  readonly idleTimeoutMs: number;
  /** Standard input, for "-". */
  readonly stdin?: Readable;
}

/** Yields [lineNumber, text] for every line (the last may lack its newline). */
export async function* readLines(path: string, o: LineReadOptions): AsyncGenerator<[number, string]> {
  let regular = false;
  if (path !== '-') {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputReadError(
        code === 'ENOENT'
          ? 'CERTVET_INPUT_NOT_FOUND'
          : code === 'EACCES'
            ? 'CERTVET_INPUT_PERMISSION'
            : 'CERTVET_INPUT_UNREADABLE',
        path,
        code === 'ENOENT' ? 'no such file' : (e as Error).message,
      );
    }
    if (st.isDirectory()) throw new InputReadError('CERTVET_INPUT_NOT_A_FILE', path, 'is a directory');
    regular = st.isFile();
  }
  const stream = path === '-' ? (o.stdin ?? process.stdin) : createReadStream(path);
  let timer: NodeJS.Timeout | null = null;
  const arm = () => {
    if (regular) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(
      () =>
        stream.destroy(
          new InputReadError(
            'CERTVET_INPUT_TIMEOUT',
            path,
            `no data for ${Math.round(o.idleTimeoutMs / 1000)} s`,
          ),
        ),
      o.idleTimeoutMs,
    );
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  const tooLong = () =>
    new InputReadError(
      'CERTVET_INPUT_TOO_LARGE',
      path,
      `line ${line + 1} is longer than ${o.maxLineBytes} bytes`,
      o.maxLineBytes,
    );
  try {
    arm();
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      arm();
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        const piece = chunk.subarray(start, nl);
        if (pendingBytes + piece.length > o.maxLineBytes) throw tooLong();
        const text = (pending.length ? Buffer.concat([...pending, piece]) : piece).toString('utf8');
        pending = [];
        pendingBytes = 0;
        line++;
        yield [line, text];
        start = nl + 1;
      }
      const rest = chunk.subarray(start);
      if (pendingBytes + rest.length > o.maxLineBytes) throw tooLong();
      if (rest.length) {
        pending.push(Buffer.from(rest));
        pendingBytes += rest.length;
      }
    }
    if (pendingBytes) {
      line++;
      yield [line, Buffer.concat(pending).toString('utf8')];
    }
  } catch (e) {
    if (e instanceof InputReadError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new InputReadError(
      err.code === 'EACCES' ? 'CERTVET_INPUT_PERMISSION' : 'CERTVET_INPUT_UNREADABLE',
      path,
      err.message,
    );
  } finally {
    if (timer) clearTimeout(timer);
    if (path !== '-') stream.destroy();
  }
}
