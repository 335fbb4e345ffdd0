/**
 * Shared pieces of the adversarial (property-based) suites: byte-level mutations of real DER,
 * a per-input time limit, and the check that a parser failed only with its documented error.
 *
 * Runs are bounded (numRuns below) so that every suite stays within seconds. fast-check picks
 * a random seed per run and prints it (with the shrunk counterexample and its path) on
 * failure; set CERTVET_FUZZ_SEED to replay one, CERTVET_FUZZ_RUNS to scale the run counts
 * (e.g. 10 for a longer local session).
 */
import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject, sign, webcrypto } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { CertificateParseError } from '../../src/x509/certificate.js';
import { children, DerError, readSingle, readTlv, type Tlv, whole } from '../../src/x509/der.js';

const seedEnv = process.env.CERTVET_FUZZ_SEED;
const scale = Number(process.env.CERTVET_FUZZ_RUNS ?? '1') || 1;

/** fast-check parameters for one property: `runs` inputs (scaled), the seed if one is forced. */
export function params<T>(runs: number): fc.Parameters<T> {
  return {
    numRuns: Math.max(1, Math.round(runs * scale)),
    ...(seedEnv ? { seed: Number(seedEnv) } : {}),
    // The properties below are synchronous and cheap; a hung input is caught by `within`.
    endOnFailure: true,
    includeErrorInReport: true,
  };
}

/** Upper bound on the work one input may cause (the "never take > 1 s"). */
export const PER_INPUT_MS = 1000;

/** Runs `fn`, asserting it returns (or throws) within `ms` milliseconds. */
export function within<T>(what: string, fn: () => T, ms = PER_INPUT_MS): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    const dt = performance.now() - t0;
    assert.ok(dt < ms, `${what} took ${dt.toFixed(0)} ms (limit ${ms} ms)`);
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Calls `fn`; when it throws, the error must be one of `allowed` (never a TypeError, a
 * RangeError or anything else that would mean the parser lost track of its input). Returns
 * the value, or null when it threw an allowed error.
 */
export function parsesOrRejects<T>(what: string, fn: () => T, allowed: readonly ErrorClass[]): T | null {
  try {
    return within(what, fn);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    const ok = allowed.some((c) => e instanceof c);
    assert.ok(
      ok,
      `${what} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message} (allowed: ${allowed.map((c) => c.name).join(', ')})\n${(e as Error)?.stack}`,
    );
    return null;
  }
}

/**
 * parseCertificate's contract: a CertificateParseError whose cause is a DerError (a rule of
 * DER or of the certificate structure), never one wrapping an internal fault.
 */
export function assertCertificateRejection(e: unknown): void {
  assert.ok(e instanceof CertificateParseError, `expected CertificateParseError, got ${String(e)}`);
  const cause = (e as Error).cause;
  assert.ok(
    cause instanceof DerError || cause instanceof CertificateParseError,
    `CertificateParseError wraps ${(cause as Error)?.constructor?.name}: ${(cause as Error)?.message}\n${(cause as Error)?.stack}`,
  );
}

/** Messages that only an internal fault (not a DER rule) produces, for errors that wrap without a cause. */
export const INTERNAL_FAULT =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|Cannot convert|Invalid array length|Invalid typed array length|Invalid time value|Maximum call stack|Offset is outside|out of range of buffer|is not defined/;

// ---------------------------------------------------------------------------------------------
// Mutations

/** One edit of a byte string. Positions are taken modulo the target range at apply time. */
export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'replace'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'length'; readonly header: number; readonly edit: LengthEdit };

/** What to do to a TLV's length octets. */
export type LengthEdit = 'plus1' | 'minus1' | 'zero' | 'indefinite' | 'long-form' | 'huge' | 'random';

const lengthEdits: readonly LengthEdit[] = [
  'plus1',
  'minus1',
  'zero',
  'indefinite',
  'long-form',
  'huge',
  'random',
];

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({
    kind: fc.constant('length' as const),
    header: fc.nat(),
    edit: fc.constantFrom(...lengthEdits),
  }),
);

/** One to three mutations applied in sequence. */
export const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(mutationArb, { minLength: 1, maxLength: 3 });

/** A byte range [start, end) that mutations are confined to (the whole input by default). */
export interface Region {
  readonly start: number;
  readonly end: number;
}

/**
 * Every TLV header in `der` (recursively, and inside OCTET STRING / BIT STRING contents that
 * are themselves DER, as extension values and keys are), for the `length` mutation.
 */
export function tlvHeaders(der: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  const walk = (start: number, end: number, depth: number) => {
    let p = start;
    while (p < end && depth < 32) {
      let t: Tlv;
      try {
        t = readTlv(der, p, end);
      } catch {
        return;
      }
      out.push(t);
      if (t.constructed) walk(t.contentStart, t.end, depth + 1);
      else if (t.cls === 0 && (t.tag === 4 || t.tag === 3)) {
        const inner = t.tag === 3 ? t.contentStart + 1 : t.contentStart;
        if (inner < t.end && (der[inner]! & 0x20) !== 0) walk(inner, t.end, depth + 1);
      }
      p = t.end;
    }
  };
  walk(0, der.length, 0);
  return out;
}

function encodeLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function editLength(der: Uint8Array, t: Tlv, edit: LengthEdit, random: number): Uint8Array {
  let idLen = 1;
  if ((der[t.start]! & 0x1f) === 0x1f) {
    idLen++;
    while (t.start + idLen - 1 < t.contentStart && (der[t.start + idLen - 1]! & 0x80) !== 0) idLen++;
  }
  const lenStart = t.start + idLen;
  const length = t.end - t.contentStart;
  let octets: number[];
  switch (edit) {
    case 'plus1':
      octets = encodeLength(length + 1);
      break;
    case 'minus1':
      octets = encodeLength(Math.max(0, length - 1));
      break;
    case 'zero':
      octets = [0];
      break;
    case 'indefinite':
      octets = [0x80];
      break;
    case 'long-form': {
      // Same length, non-minimal encoding (one leading zero octet or long form for a short length).
      const minimal = encodeLength(length);
      octets = length < 0x80 ? [0x81, length] : [minimal[0]! + 1, 0, ...minimal.slice(1)];
      break;
    }
    case 'huge':
      octets = [0x84, 0xff, 0xff, 0xff, 0xff];
      break;
    default:
      octets = [random & 0xff];
  }
  const out = new Uint8Array(der.length - (t.contentStart - lenStart) + octets.length);
  out.set(der.subarray(0, lenStart), 0);
  out.set(octets, lenStart);
  out.set(der.subarray(t.contentStart), lenStart + octets.length);
  return out;
}

/** Applies one mutation; positions fall within `region` (clamped to the current length). */
export function mutate(input: Uint8Array, m: Mutation, region?: Region): Uint8Array {
  const len = input.length;
  const start = Math.min(region?.start ?? 0, len);
  const end = Math.min(region?.end ?? len, len);
  const span = Math.max(1, end - start);
  const pos = (n: number) => Math.min(start + (n % span), Math.max(0, len - 1));
  switch (m.kind) {
    case 'flip': {
      if (len === 0) return input;
      const out = new Uint8Array(input);
      out[pos(m.at)]! ^= 1 << m.bit;
      return out;
    }
    case 'replace': {
      if (len === 0) return input;
      const out = new Uint8Array(input);
      const p = pos(m.at);
      out[p] = m.value === out[p] ? (m.value + 1) & 0xff : m.value;
      return out;
    }
    case 'truncate':
      return input.slice(0, Math.min(len - 1, start + (m.at % span)));
    case 'insert': {
      const p = Math.min(start + (m.at % (span + 1)), len);
      const out = new Uint8Array(len + m.bytes.length);
      out.set(input.subarray(0, p), 0);
      out.set(m.bytes, p);
      out.set(input.subarray(p), p + m.bytes.length);
      return out;
    }
    case 'delete': {
      if (len === 0) return input;
      const p = pos(m.at);
      const out = new Uint8Array(len - Math.min(m.count, len - p));
      out.set(input.subarray(0, p), 0);
      out.set(input.subarray(p + m.count), p);
      return out;
    }
    case 'length': {
      const headers = tlvHeaders(input).filter((t) => t.start >= start && t.start < end);
      if (headers.length === 0) return mutate(input, { kind: 'flip', at: m.header, bit: 0 }, region);
      return editLength(input, headers[m.header % headers.length]!, m.edit, m.header);
    }
  }
}

/** Applies mutations in sequence (each within `region`, which may move as lengths change). */
export function mutateAll(input: Uint8Array, ms: readonly Mutation[], region?: Region): Uint8Array {
  let out = input;
  for (const m of ms) out = mutate(out, m, region);
  return out;
}

/**
 * The three parts of a signed structure (Certificate, CertificateList, BasicOCSPResponse):
 * the signed bytes, the outer (unsigned) AlgorithmIdentifier and the signature BIT STRING.
 */
export interface SignedParts {
  readonly tbs: Region;
  readonly sigAlg: Region;
  readonly signature: Region;
}

export function signedParts(der: Uint8Array): SignedParts {
  const [tbs, alg, sig] = children(readSingle(der));
  const r = (t: Tlv | undefined): Region => ({ start: t!.start, end: t!.end });
  return { tbs: r(tbs), sigAlg: r(alg), signature: r(sig) };
}

/** The bytes of one part of a signed structure, or null when it no longer has that shape. */
export function partBytes(der: Uint8Array, part: keyof SignedParts): Uint8Array | null {
  try {
    const [tbs, alg, sig] = children(readSingle(der));
    const t = part === 'tbs' ? tbs : part === 'sigAlg' ? alg : sig;
    return t ? whole(t) : null;
  } catch {
    return null;
  }
}

export function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

export { fc };

// ---------------------------------------------------------------------------------------------
// Structure-aware mutations: edit the TLV tree and re-encode it with correct lengths, so the
// input gets past the framing checks and into the decoders behind them.

/** A decoded TLV: either children (constructed, or DER encapsulated in an OCTET/BIT STRING) or content. */
export interface Node {
  readonly tag: Uint8Array;
  readonly kids: Node[] | null;
  /** For a BIT STRING holding DER: the unused-bits octet kept in front of the encapsulated value. */
  readonly prefix: Uint8Array;
  readonly content: Uint8Array;
}

export function decodeTree(der: Uint8Array, start = 0, end = der.length, depth = 0): Node[] {
  const out: Node[] = [];
  let p = start;
  while (p < end) {
    const t = readTlv(der, p, end);
    const tag = der.slice(t.start, t.start + idLength(der, t.start));
    let kids: Node[] | null = null;
    let prefix = new Uint8Array(0);
    if (depth < 24 && t.constructed)
      try {
        kids = decodeTree(der, t.contentStart, t.end, depth + 1);
      } catch {
        kids = null; // kept as opaque content (grafted junk)
      }
    else if (depth < 24 && t.cls === 0 && (t.tag === 4 || t.tag === 3)) {
      const inner = t.tag === 3 ? t.contentStart + 1 : t.contentStart;
      if (inner < t.end && (t.tag === 4 || der[t.contentStart] === 0))
        try {
          kids = decodeTree(der, inner, t.end, depth + 1);
          prefix = der.slice(t.contentStart, inner);
        } catch {
          kids = null;
        }
    }
    out.push({ tag, kids, prefix, content: kids ? new Uint8Array(0) : der.slice(t.contentStart, t.end) });
    p = t.end;
  }
  return out;
}

function idLength(der: Uint8Array, at: number): number {
  if ((der[at]! & 0x1f) !== 0x1f) return 1;
  let n = 1;
  while (at + n < der.length && (der[at + n]! & 0x80) !== 0) n++;
  return n + 1;
}

export function encodeTree(nodes: readonly Node[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const n of nodes) {
    const body = n.kids ? Buffer.concat([n.prefix, encodeTree(n.kids)]) : n.content;
    parts.push(n.tag, new Uint8Array(encodeLength(body.length)), body);
  }
  return Buffer.concat(parts);
}

/** Preorder list of every node with its parent list, for picking an edit position. */
function flatten(
  nodes: Node[],
  out: { list: Node[]; index: number }[] = [],
): { list: Node[]; index: number }[] {
  nodes.forEach((n, index) => {
    out.push({ list: nodes, index });
    if (n.kids) flatten(n.kids, out);
  });
  return out;
}

export type TreeEdit =
  | { readonly kind: 'content'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'tag'; readonly at: number; readonly tag: number }
  | { readonly kind: 'drop'; readonly at: number }
  | { readonly kind: 'duplicate'; readonly at: number }
  | { readonly kind: 'swap'; readonly at: number }
  | { readonly kind: 'graft'; readonly at: number; readonly der: Uint8Array }
  | { readonly kind: 'byte'; readonly at: number; readonly offset: number; readonly value: number };

const interestingTags = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x1e, 0x30, 0x31, 0x80, 0x81, 0x82, 0x86,
  0x87, 0x88, 0xa0, 0xa1, 0xa3, 0xa4,
];

/** Small DER values worth grafting: empty things, big lengths, odd integers, nested emptiness. */
const graftArb = fc.oneof(
  fc.constantFrom(
    new Uint8Array([0x05, 0x00]),
    new Uint8Array([0x30, 0x00]),
    new Uint8Array([0x31, 0x00]),
    new Uint8Array([0x02, 0x01, 0x00]),
    new Uint8Array([0x02, 0x01, 0xff]),
    new Uint8Array([0x02, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    new Uint8Array([0x01, 0x01, 0xff]),
    new Uint8Array([0x01, 0x01, 0x00]),
    new Uint8Array([0x03, 0x01, 0x00]),
    new Uint8Array([0x03, 0x02, 0x07, 0x80]),
    new Uint8Array([0x04, 0x00]),
    new Uint8Array([0x06, 0x03, 0x55, 0x1d, 0x13]),
    new Uint8Array([0x06, 0x01, 0x00]),
    new Uint8Array([0x17, 0x0d, ...Buffer.from('991231235959Z')]),
    new Uint8Array([0x18, 0x0f, ...Buffer.from('00000101000000Z')]),
    new Uint8Array([0x18, 0x0f, ...Buffer.from('99991231235959Z')]),
    new Uint8Array([0xa0, 0x00]),
    new Uint8Array([0x30, 0x02, 0x30, 0x00]),
  ),
  fc.uint8Array({ minLength: 2, maxLength: 12 }).map((b) => new Uint8Array([0x30, b.length, ...b])),
);

export const treeEditArb: fc.Arbitrary<TreeEdit> = fc.oneof(
  fc.record({ kind: fc.constant('content' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({ kind: fc.constant('tag' as const), at: fc.nat(), tag: fc.constantFrom(...interestingTags) }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('graft' as const), at: fc.nat(), der: graftArb }),
  fc.record({
    kind: fc.constant('byte' as const),
    at: fc.nat(),
    offset: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
);

export const treeEditsArb: fc.Arbitrary<TreeEdit[]> = fc.array(treeEditArb, { minLength: 1, maxLength: 3 });

/**
 * Applies tree edits to `der` and re-encodes it. `scope` restricts the edits to the subtree
 * at that path of child indexes (e.g. [0] for the TBS of a signed structure).
 */
export function editTree(
  der: Uint8Array,
  edits: readonly TreeEdit[],
  scope: readonly number[] = [],
): Uint8Array {
  const roots = decodeTree(der);
  let parent: Node[] = roots;
  let idx = 0;
  for (let k = 0; k < scope.length; k++) {
    const n = parent[idx];
    if (!n?.kids) return der;
    parent = n.kids;
    idx = scope[k]!;
  }
  if (!parent[idx]) return der;
  for (const e of edits) {
    const top = parent[idx]!;
    const flat = [{ list: parent, index: idx }, ...(top.kids ? flatten(top.kids) : [])];
    const pick = e.at % flat.length;
    const { list, index } = flat[pick]!;
    const n = list[index]!;
    // The scope root itself only changes in place: its position in its parent is fixed.
    const inPlaceOnly = pick === 0;
    switch (e.kind) {
      case 'content':
        list[index] = { tag: n.tag, kids: null, prefix: new Uint8Array(0), content: e.bytes };
        break;
      case 'tag':
        list[index] =
          e.tag & 0x20
            ? { ...n, tag: new Uint8Array([e.tag]) }
            : {
                tag: new Uint8Array([e.tag]),
                kids: null,
                prefix: new Uint8Array(0),
                content: n.kids ? encodeTree(n.kids) : n.content,
              };
        break;
      case 'drop':
        if (!inPlaceOnly) list.splice(index, 1);
        break;
      case 'duplicate':
        if (!inPlaceOnly) list.splice(index, 0, n);
        break;
      case 'swap':
        if (!inPlaceOnly && index + 1 < list.length) [list[index], list[index + 1]] = [list[index + 1]!, n];
        break;
      case 'graft':
        if (!inPlaceOnly) list.splice(index, 0, ...decodeTree(e.der));
        else if (n.kids) n.kids.unshift(...decodeTree(e.der));
        break;
      case 'byte':
        if (!n.kids && n.content.length) {
          const c = new Uint8Array(n.content);
          c[e.offset % c.length] = e.value;
          list[index] = { ...n, content: c };
        }
        break;
    }
  }
  return encodeTree(roots);
}

/** A lab certificate's private key as a node:crypto KeyObject (for re-signing edited TBS bytes). */
export async function privateKeyOf(c: {
  key: { pair: { privateKey: webcrypto.CryptoKey } };
}): Promise<KeyObject> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', c.key.pair.privateKey);
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
}

/**
 * A signed structure (certificate, CRL, basic OCSP response) with `tbs` as its signed part,
 * signed for real with `key` under the structure's existing outer algorithm (SHA-256 or Ed25519).
 * Anything after the signature (the OCSP `certs` field) is kept.
 */
export function resign(der: Uint8Array, tbs: Uint8Array, key: KeyObject): Uint8Array {
  const [, alg, , ...rest] = children(readSingle(der));
  const t = key.asymmetricKeyType;
  const sig =
    t === 'ed25519'
      ? sign(null, tbs, key)
      : t === 'ec'
        ? sign('sha256', tbs, { key, dsaEncoding: 'der' })
        : sign('sha256', tbs, key);
  const body = Buffer.concat([
    tbs,
    whole(alg!),
    new Uint8Array([0x03, ...encodeLength(sig.length + 1), 0x00]),
    sig,
    ...rest.map((r) => whole(r)),
  ]);
  return Buffer.concat([new Uint8Array([0x30, ...encodeLength(body.length)]), body]);
}
