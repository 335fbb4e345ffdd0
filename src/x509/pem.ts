/**
 * PEM reading: any number of blocks, junk text between them (as in `openssl x509 -text`
 * output or chain files with comments), CRLF or LF line ends, and any block label.
 */

export interface PemBlock {
  /** The label between BEGIN and END, e.g. "CERTIFICATE" or "X509 CRL". */
  readonly label: string;
  readonly der: Uint8Array;
  /** 1-based line number of the BEGIN line, for messages. */
  readonly line: number;
}

export class PemError extends Error {
  override readonly name = 'PemError';
}

const BEGIN = /^-----BEGIN ([A-Z0-9 #_-]+)-----\s*$/;
const END = /^-----END ([A-Z0-9 #_-]+)-----\s*$/;
const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;

/** True when the bytes look like PEM text rather than binary DER. */
export function looksLikePem(data: Uint8Array): boolean {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, 1 << 20)).toString(
    'latin1',
  );
  return head.includes('-----BEGIN ');
}

/**
 * Given text of base64 characters and '=' only (every body line passed BASE64_LINE), whether
 * the '=' are at most two and only at the very end: /^[A-Za-z0-9+/]*={0,2}$/ with indexOf
 * instead of a second regex pass over the whole body (the longest step of reading a block).
 */
function paddedAtEnd(b64: string): boolean {
  const eq = b64.indexOf('=');
  if (eq < 0) return true;
  const n = b64.length;
  return eq === n - 1 || (eq === n - 2 && b64.charCodeAt(n - 1) === 0x3d);
}

/**
 * Extracts every PEM block. Text outside blocks is ignored; a block that is not closed or
 * whose body is not base64 is an error naming its line, never silently skipped.
 */
export function readPemBlocks(text: string): PemBlock[] {
  const lines = text.split(/\r\n|\n|\r/);
  const out: PemBlock[] = [];
  let label: string | null = null;
  let startLine = 0;
  let body: string[] = [];
  let inHeaders = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (label === null) {
      const m = BEGIN.exec(line);
      if (m) {
        label = m[1]!;
        startLine = i + 1;
        body = [];
        inHeaders = true;
      }
      continue;
    }
    const end = END.exec(line);
    if (end) {
      if (end[1] !== label)
        throw new PemError(`line ${i + 1}: END ${end[1]} does not close BEGIN ${label} (line ${startLine})`);
      const b64 = body.join('');
      if (b64.length === 0) throw new PemError(`line ${startLine}: empty ${label} block`);
      if (!paddedAtEnd(b64) || b64.length % 4 !== 0)
        throw new PemError(`line ${startLine}: ${label} block is not valid base64`);
      const der = new Uint8Array(Buffer.from(b64, 'base64'));
      out.push({ label, der, line: startLine });
      label = null;
      continue;
    }
    if (line.startsWith('-----BEGIN '))
      throw new PemError(`line ${i + 1}: BEGIN inside the ${label} block of line ${startLine}`);
    // RFC 1421 encapsulated headers (Proc-Type, DEK-Info) appear in legacy encrypted keys.
    if (inHeaders && /^[A-Za-z-]+:/.test(line)) continue;
    inHeaders = false;
    if (line === '') continue;
    if (!BASE64_LINE.test(line))
      throw new PemError(`line ${i + 1}: unexpected text inside the ${label} block`);
    body.push(line);
  }
  if (label !== null) throw new PemError(`line ${startLine}: ${label} block is never closed (no END line)`);
  return out;
}

/** Encodes DER as one PEM block (RFC 7468: base64 in 64-character lines). */
export function writePem(der: Uint8Array, label: 'CERTIFICATE' | 'X509 CRL'): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
