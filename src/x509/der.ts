/**
 * Strict DER framing: tag/length/value slicing with the DER rules for lengths.
 *
 * This is not an ASN.1 schema decoder (that is @peculiar/asn1-schema's job). It exists for
 * three things the schema decoder cannot give us: the exact bytes of a structure (the signed
 * TBS, an extension value, a name), a strict DER check (definite, minimal lengths; no trailing
 * bytes), and lossless access to values the schema decoder converts (an iPAddress of the
 * wrong length, the raw bytes of an IA5String, the raw text of a Time).
 */

export class DerError extends Error {
  override readonly name = 'DerError';
  readonly code = 'CERTVET_DER_INVALID';
}

export interface Tlv {
  /** Tag class: 0 universal, 1 application, 2 context-specific, 3 private. */
  readonly cls: number;
  readonly constructed: boolean;
  /** Tag number (low-tag-number form and high-tag-number form both supported). */
  readonly tag: number;
  /** Offset of the first identifier byte within `buf`. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the last content byte. */
  readonly end: number;
  readonly buf: Uint8Array;
}

export const UNIVERSAL = 0;
export const CONTEXT = 2;

export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  PRINTABLE_STRING: 19,
  T61_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
} as const;

/**
 * The header of the TLV last read by readHeader. Module state rather than an object so that
 * the strict walk over a whole certificate (checkDerStrict) allocates nothing per value.
 */
let hCls = 0;
let hConstructed = false;
let hTag = 0;
let hContentStart = 0;
let hEnd = 0;

/** Reads one TLV header at `offset` into the h* variables; throws DerError on any framing that DER forbids. */
function readHeader(buf: Uint8Array, offset: number, limit: number): void {
  let p = offset;
  if (p >= limit) throw new DerError('unexpected end of data (expected a tag)');
  const first = buf[p++]!;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    let count = 0;
    for (;;) {
      if (p >= limit) throw new DerError('truncated high-number tag');
      const b = buf[p++]!;
      if (count === 0 && b === 0x80) throw new DerError('non-minimal high-number tag');
      tag = tag * 128 + (b & 0x7f);
      if (++count > 4) throw new DerError('tag number too large');
      if ((b & 0x80) === 0) break;
    }
    if (tag < 0x1f) throw new DerError('high-number form used for a low tag number');
  }
  if (p >= limit) throw new DerError('unexpected end of data (expected a length)');
  const lb = buf[p++]!;
  let length: number;
  if (lb < 0x80) {
    length = lb;
  } else if (lb === 0x80) {
    throw new DerError('indefinite length is not allowed in DER');
  } else {
    const n = lb & 0x7f;
    if (n > 4) throw new DerError('length field too large');
    if (p + n > limit) throw new DerError('truncated length field');
    if (buf[p] === 0) throw new DerError('non-minimal length encoding (leading zero)');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
    if (length < 0x80) throw new DerError('non-minimal length encoding (long form for a short length)');
  }
  const end = p + length;
  if (end > limit) throw new DerError(`truncated value: ${length} bytes declared, ${limit - p} available`);
  hCls = first >> 6;
  hConstructed = (first & 0x20) !== 0;
  hTag = tag;
  hContentStart = p;
  hEnd = end;
}

/** Reads one TLV at `offset`; throws DerError on any framing that DER forbids. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  readHeader(buf, offset, limit);
  return {
    cls: hCls,
    constructed: hConstructed,
    tag: hTag,
    start: offset,
    contentStart: hContentStart,
    end: hEnd,
    buf,
  };
}

/** Parses exactly one TLV that must span the whole buffer. */
export function readSingle(buf: Uint8Array): Tlv {
  const t = readTlv(buf, 0);
  if (t.end !== buf.length) throw new DerError(`${buf.length - t.end} trailing bytes after the DER value`);
  return t;
}

/** The children of a constructed TLV. */
export function children(t: Tlv): Tlv[] {
  if (!t.constructed) throw new DerError('expected a constructed value');
  const out: Tlv[] = [];
  let p = t.contentStart;
  while (p < t.end) {
    const c = readTlv(t.buf, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function content(t: Tlv): Uint8Array {
  return t.buf.subarray(t.contentStart, t.end);
}

export function whole(t: Tlv): Uint8Array {
  return t.buf.subarray(t.start, t.end);
}

export function isUniversal(t: Tlv, tag: number): boolean {
  return t.cls === UNIVERSAL && t.tag === tag;
}

export function expectUniversal(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || !isUniversal(t, tag)) throw new DerError(`${what}: unexpected ASN.1 type`);
  return t;
}

/**
 * Walks the whole value recursively and checks DER framing everywhere, including the rules
 * on BOOLEAN (0x00/0xFF), minimal INTEGER encoding and SET OF ordering.
 */
export function checkDerStrict(t: Tlv, depth = 0, maxDepth = 64): void {
  checkValue(t.buf, t.cls, t.constructed, t.tag, t.contentStart, t.end, depth, maxDepth);
}

function checkValue(
  buf: Uint8Array,
  cls: number,
  constructed: boolean,
  tag: number,
  contentStart: number,
  end: number,
  depth: number,
  maxDepth: number,
): void {
  if (depth > 64) throw new DerError('nesting too deep');
  if (depth >= maxDepth) return;
  if (cls === UNIVERSAL) {
    const len = end - contentStart;
    if (tag === TAG.BOOLEAN) {
      const b = buf[contentStart];
      if (len !== 1 || (b !== 0 && b !== 0xff)) throw new DerError('BOOLEAN not DER-encoded');
    } else if (tag === TAG.INTEGER) {
      if (len === 0) throw new DerError('empty INTEGER');
      const b0 = buf[contentStart]!;
      const b1 = buf[contentStart + 1]!;
      if (len > 1 && ((b0 === 0 && (b1 & 0x80) === 0) || (b0 === 0xff && (b1 & 0x80) !== 0)))
        throw new DerError('INTEGER not minimally encoded');
    } else if (tag === TAG.NULL && len !== 0) {
      throw new DerError('NULL with content');
    } else if ((tag === TAG.SEQUENCE || tag === TAG.SET) && !constructed) {
      throw new DerError('SEQUENCE/SET must be constructed');
    } else if (constructed && tag !== TAG.SEQUENCE && tag !== TAG.SET) {
      throw new DerError('constructed encoding of a primitive type is not allowed in DER');
    }
  }
  if (!constructed) return;
  // Every child's framing first (as children() would), then each child's own rules, so
  // that the first problem reported is the same whatever order the checks run in.
  for (let p = contentStart; p < end; p = hEnd) readHeader(buf, p, end);
  for (let p = contentStart; p < end; ) {
    readHeader(buf, p, end);
    const next = hEnd;
    checkValue(buf, hCls, hConstructed, hTag, hContentStart, hEnd, depth + 1, maxDepth);
    p = next;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The bytes as Latin-1 text, one character per byte: a cheap exact key for memos over DER
 * values and the text of ASCII strings. Short inputs are converted by hand, longer ones by
 * Buffer (whose fixed cost is lower past a few dozen bytes).
 */
export function latin1(c: Uint8Array): string {
  if (c.length > 24) return Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1');
  let s = '';
  for (let i = 0; i < c.length; i++) s += String.fromCharCode(c[i]!);
  return s;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Decodes an OBJECT IDENTIFIER's content octets to dotted form. */
export function decodeOid(c: Uint8Array): string {
  if (c.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  let out = '';
  let v = 0;
  let started = false;
  let first = true;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (!started && b === 0x80) throw new DerError('non-minimal OBJECT IDENTIFIER arc');
    started = true;
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) throw new DerError('OBJECT IDENTIFIER arc too large');
    if ((b & 0x80) === 0) {
      if (first) {
        const a = v < 80 ? Math.floor(v / 40) : 2;
        out = `${a}.${v - a * 40}`;
        first = false;
      } else out += `.${v}`;
      v = 0;
      started = false;
    } else if (i === c.length - 1) {
      throw new DerError('truncated OBJECT IDENTIFIER');
    }
  }
  return out;
}

export function decodeBoolean(t: Tlv): boolean {
  const c = content(t);
  if (c.length !== 1) throw new DerError('bad BOOLEAN');
  return c[0] !== 0;
}

/** Decodes a small non-negative INTEGER (for versions, path lengths, skip certs). */
export function decodeSmallInteger(t: Tlv): number {
  const c = content(t);
  if (c.length === 0 || c.length > 6) throw new DerError('INTEGER out of range');
  if ((c[0]! & 0x80) !== 0) throw new DerError('negative INTEGER where a non-negative one is required');
  let v = 0;
  for (const b of c) v = v * 256 + b;
  return v;
}

/** BIT STRING content as { unusedBits, bytes }. */
export function decodeBitString(t: Tlv): { unusedBits: number; bytes: Uint8Array } {
  const c = content(t);
  if (c.length === 0) throw new DerError('empty BIT STRING');
  const unusedBits = c[0]!;
  if (unusedBits > 7 || (c.length === 1 && unusedBits !== 0)) throw new DerError('bad BIT STRING padding');
  const bytes = c.subarray(1);
  if (unusedBits && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0)
    throw new DerError('BIT STRING padding bits not zero');
  return { unusedBits, bytes };
}
