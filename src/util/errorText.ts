/**
 * Error text from Node and OpenSSL made fit for a person: no OpenSSL source locations
 * (`../deps/openssl/openssl/ssl/statem/statem_clnt.c:396`), no error-queue prefixes
 * (`C0B7E3F5F67F0000:error:0A000086:SSL routines:`), no fractional milliseconds
 * (`within 2999.837 ms` → `within 3000 ms`). The meaning is kept.
 */

/**
 * One OpenSSL error-queue entry: `[thread:]error:CODE:library:function:reason[:file.c:line][:data]`
 * (OpenSSL 3 leaves the function empty). Replaced by `reason (data)`.
 */
const QUEUE_ENTRY =
  /(?:\b[0-9A-F]{8,16}:)?\berror:[0-9A-F]{8}:[^:\n]*:[^:\n]*:([^:\n]*)(?::[^:\s]*\.c:\d+)?(?::([^\n]*))?/g;
/** A C source location left anywhere else: `../deps/openssl/openssl/ssl/statem/statem_clnt.c:396`. */
const SOURCE_PATH = /:?\s*(?:\.{0,2}\/)?(?:[\w.+-]+\/)+[\w.+-]+\.c:\d+:?/g;
/** `2999.8374 ms`, `3000.123ms`. */
const FRACTIONAL_MS = /(?<![\d.])(\d+)\.\d+(\s?ms)\b/g;

/** Rounds fractional milliseconds in a message to whole ones. */
export function roundMilliseconds(s: string): string {
  return s.replace(FRACTIONAL_MS, (m: string, _int: string, unit: string) => {
    const n = Math.round(Number.parseFloat(m));
    return `${n}${unit}`;
  });
}

/** Removes OpenSSL error-queue prefixes, library/function names and source locations. */
export function stripOpenSslNoise(s: string): string {
  return s
    .replace(QUEUE_ENTRY, (_m: string, reason: string, data: string | undefined) =>
      data?.trim() ? `${reason.trim()} (${data.trim()})` : reason.trim(),
    )
    .replace(SOURCE_PATH, '')
    .trim();
}

/** Both of the above: the text of an error as certvet shows it. */
export function tidyErrorMessage(s: string): string {
  return roundMilliseconds(stripOpenSslNoise(s));
}
