/*
 * A dependency loaded on first use, synchronously, instead of at start-up: for packages that
 * only some runs need (the ASN.1 schemas, yaml, zod, the Public Suffix List). `require` also
 * skips what an ESM import of a CommonJS package costs at every start: Node lexing the whole
 * file for its named exports.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** A getter that requires package `id` the first time it is called and returns it after. */
export function lazyRequire<T>(id: string): () => T {
  let module: T | undefined;
  return () => {
    module ??= load(id) as T;
    return module;
  };
}
