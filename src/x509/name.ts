import { Memo } from '../util/memo.js';
import {
  children,
  content,
  DerError,
  decodeOid,
  expectUniversal,
  latin1,
  readTlv,
  TAG,
  type Tlv,
  toHex,
  whole,
} from './der.js';
import { ATTRIBUTE_NAMES } from './oids.js';

/** One attribute of a relative distinguished name. */
export interface NameAttribute {
  readonly type: string;
  /** Universal tag of the value (e.g. 19 PrintableString, 12 UTF8String). */
  readonly valueTag: number;
  /** The value as text, or null when it is not a string type. */
  readonly value: string | null;
  /** Hex of the value's DER, for non-string values. */
  readonly valueHex: string;
}

/** An X.501 Name as found in a certificate, with the forms needed for comparison and display. */
export interface DistinguishedName {
  readonly der: Uint8Array;
  readonly rdns: readonly (readonly NameAttribute[])[];
  /** Comparison key per RDN (RFC 5280 §7.1: case-insensitive, whitespace-folded strings). */
  readonly rdnKeys: readonly string[];
  /** Comparison key of the whole name. */
  readonly key: string;
  /** RFC 4514 string, most specific RDN first. */
  readonly text: string;
  readonly isEmpty: boolean;
}

const STRING_TAGS = new Set<number>([
  TAG.UTF8_STRING,
  TAG.PRINTABLE_STRING,
  TAG.T61_STRING,
  TAG.IA5_STRING,
  TAG.BMP_STRING,
  TAG.UNIVERSAL_STRING,
  26, // VisibleString
  18, // NumericString
]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isAscii(c: Uint8Array): boolean {
  for (let i = 0; i < c.length; i++) if (c[i]! > 0x7f) return false;
  return true;
}

/** Decodes an ASN.1 character string to JS text; throws DerError on invalid encodings. */
export function decodeString(t: Tlv): string {
  const c = content(t);
  switch (t.tag) {
    case TAG.UTF8_STRING:
      // ASCII is valid UTF-8 and decodes to the same characters.
      if (isAscii(c)) return latin1(c);
      try {
        return utf8.decode(c);
      } catch {
        throw new DerError('UTF8String is not valid UTF-8');
      }
    case TAG.BMP_STRING: {
      if (c.length % 2) throw new DerError('BMPString of odd length');
      let s = '';
      for (let i = 0; i < c.length; i += 2) s += String.fromCharCode((c[i]! << 8) | c[i + 1]!);
      return s;
    }
    case TAG.UNIVERSAL_STRING: {
      if (c.length % 4) throw new DerError('UniversalString length not a multiple of 4');
      let s = '';
      for (let i = 0; i < c.length; i += 4) {
        const cp = ((c[i]! << 24) | (c[i + 1]! << 16) | (c[i + 2]! << 8) | c[i + 3]!) >>> 0;
        if (cp > 0x10ffff) throw new DerError('UniversalString code point out of range');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    case TAG.IA5_STRING:
    case TAG.PRINTABLE_STRING:
    case 26:
    case 18:
      if (!isAscii(c)) throw new DerError('non-ASCII byte in an ASCII string type');
      return latin1(c);
    default:
      // TeletexString: treated as Latin-1, as every major implementation does.
      return latin1(c);
  }
}

/**
 * Printable ASCII words separated by single spaces: NFKC leaves such text unchanged and
 * there is no whitespace to fold, so lower-casing is the whole comparison form.
 */
const FOLDED_ASCII = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

function comparisonForm(a: NameAttribute): string {
  if (a.value === null) return `${a.type}=#${a.valueHex}`;
  const folded = FOLDED_ASCII.test(a.value)
    ? a.value.toLowerCase()
    : a.value.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
  return `${a.type}=${JSON.stringify(folded)}`;
}

const NEEDS_ESCAPE = /[\\,+"<>;=]|^[# ]| $/;

function escape4514(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  let s = v.replace(/([\\,+"<>;=])/g, '\\$1');
  if (s.startsWith('#') || s.startsWith(' ')) s = '\\' + s;
  if (s.endsWith(' ')) s = s.slice(0, -1) + '\\ ';
  return s;
}

/** One decoded attribute; the hex of its DER is derived only when asked for. */
class Attribute implements NameAttribute {
  private hex: string | undefined;
  constructor(
    readonly type: string,
    readonly valueTag: number,
    readonly value: string | null,
    private readonly raw: Uint8Array,
  ) {}

  get valueHex(): string {
    if (this.hex === undefined) this.hex = toHex(this.raw);
    return this.hex;
  }

  /** The same JSON as the plain object this used to be. */
  toJSON(): NameAttribute {
    return { type: this.type, valueTag: this.valueTag, value: this.value, valueHex: this.valueHex };
  }
}

/**
 * A decoded Name. The comparison keys are computed once, here; the RFC 4514 text, needed only
 * for messages and reports, on first use.
 */
class Name implements DistinguishedName {
  private rendered: string | undefined;
  readonly key: string;
  readonly isEmpty: boolean;
  constructor(
    readonly der: Uint8Array,
    readonly rdns: readonly (readonly NameAttribute[])[],
    readonly rdnKeys: readonly string[],
  ) {
    this.key = rdnKeys.join(',');
    this.isEmpty = rdns.length === 0;
  }

  get text(): string {
    if (this.rendered === undefined) this.rendered = rfc4514(this.rdns);
    return this.rendered;
  }

  /** The same JSON as the plain object this used to be. */
  toJSON(): DistinguishedName {
    const { der, rdns, rdnKeys, key, text, isEmpty } = this;
    return { der, rdns, rdnKeys, key, text, isEmpty };
  }
}

function rfc4514(rdns: readonly (readonly NameAttribute[])[]): string {
  return [...rdns]
    .reverse()
    .map((rdn) =>
      rdn
        .map(
          (a) =>
            `${ATTRIBUTE_NAMES[a.type] ?? a.type}=${a.value === null ? `#${a.valueHex}` : escape4514(a.value)}`,
        )
        .join('+'),
    )
    .join(',');
}

/**
 * Decoded names by their exact DER bytes. A chain repeats its names (a leaf's issuer is its
 * CA's subject, a root's subject is its issuer) and a scan repeats its CAs' names across
 * thousands of leaves, so normalising each distinct name once saves most of the cost of
 * decoding names. Only successful decodings are kept, and a decoding depends on nothing but
 * the bytes, so a hit gives exactly what decoding again would (errors are never cached: the
 * same bytes throw the same DerError again).
 */
const decodedNames = new Memo<DistinguishedName>(2048);

/** Decodes a Name (SEQUENCE OF RelativeDistinguishedName). */
export function decodeName(t: Tlv): DistinguishedName {
  expectUniversal(t, TAG.SEQUENCE, 'Name');
  const id = latin1(whole(t));
  const hit = decodedNames.get(id);
  if (hit) return hit;
  // Decoded from its own copy of the bytes, so that a cached name (its DER, its attributes'
  // raw values) does not keep a certificate's buffer alive.
  const name = decodeNameUncached(readTlv(whole(t).slice(), 0));
  decodedNames.set(id, name);
  return name;
}

/** Forgets every cached name (for measurements that must not share work between inputs). */
export function clearNameCache(): void {
  decodedNames.clear();
}

function decodeNameUncached(t: Tlv): DistinguishedName {
  const rdns: NameAttribute[][] = [];
  const rdnKeys: string[] = [];
  for (const set of children(t)) {
    expectUniversal(set, TAG.SET, 'RelativeDistinguishedName');
    const attrs: NameAttribute[] = [];
    const members = children(set);
    if (members.length === 0) throw new DerError('empty RelativeDistinguishedName');
    for (const atv of members) {
      expectUniversal(atv, TAG.SEQUENCE, 'AttributeTypeAndValue');
      const [typeT, valueT, extra] = children(atv);
      if (!typeT || !valueT || extra)
        throw new DerError('AttributeTypeAndValue must have exactly two elements');
      const type = decodeOid(content(expectUniversal(typeT, TAG.OID, 'attribute type')));
      const isString = valueT.cls === 0 && !valueT.constructed && STRING_TAGS.has(valueT.tag);
      attrs.push(
        new Attribute(
          type,
          valueT.cls === 0 ? valueT.tag : -1,
          isString ? decodeString(valueT) : null,
          whole(valueT),
        ),
      );
    }
    rdns.push(attrs);
    rdnKeys.push(attrs.length === 1 ? comparisonForm(attrs[0]!) : attrs.map(comparisonForm).sort().join('+'));
  }
  return new Name(whole(t), rdns, rdnKeys);
}

/** RFC 5280 §7.1 name equality. */
export function namesEqual(a: DistinguishedName, b: DistinguishedName): boolean {
  return a.key === b.key;
}

/** True when `name` lies within the subtree rooted at `base` (directoryName constraints). */
export function nameWithin(name: DistinguishedName, base: DistinguishedName): boolean {
  if (base.rdnKeys.length > name.rdnKeys.length) return false;
  for (let i = 0; i < base.rdnKeys.length; i++) if (base.rdnKeys[i] !== name.rdnKeys[i]) return false;
  return true;
}

/** Every value of one attribute type, in order. */
export function attributeValues(name: DistinguishedName, type: string): string[] {
  const out: string[] = [];
  for (const rdn of name.rdns)
    for (const a of rdn) if (a.type === type && a.value !== null) out.push(a.value);
  return out;
}
