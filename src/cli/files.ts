import { readFileSync, statSync } from 'node:fs';
import { InputError } from './errors.js';

/** Reads a whole input file (or stdin for "-"), refusing anything larger than `limit` bytes. */
export function readInputFile(path: string, limit: number, what = 'file'): Uint8Array {
  try {
    if (path === '-') {
      const data = readFileSync(0);
      if (data.byteLength > limit)
        throw new InputError(`standard input: larger than the ${limit}-byte limit for a ${what}`);
      return new Uint8Array(data);
    }
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError(`${path}: is a directory, not a ${what}`);
    if (st.size > limit)
      throw new InputError(`${path}: is ${st.size} bytes, larger than the ${limit}-byte limit for a ${what}`);
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (e as Error).message;
    throw new InputError(`${path}: cannot read ${what}: ${reason}`);
  }
}
