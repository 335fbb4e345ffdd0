import {
  children,
  content,
  DerError,
  decodeOid,
  expectUniversal,
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

/** Decodes an ASN.1 character string to JS text; throws DerError on invalid encodings. */
export function decodeString(t: Tlv): string {
  const c = content(t);
  switch (t.tag) {
    case TAG.UTF8_STRING:
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
      for (const b of c) if (b > 0x7f) throw new DerError('non-ASCII byte in an ASCII string type');
      return Buffer.from(c).toString('latin1');
    default:
      // TeletexString: treated as Latin-1, as every major implementation does.
      return Buffer.from(c).toString('latin1');
  }
}

function comparisonForm(a: NameAttribute): string {
  if (a.value === null) return `${a.type}=#${a.valueHex}`;
  const folded = a.value.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
  return `${a.type}=${JSON.stringify(folded)}`;
}

function escape4514(v: string): string {
  let s = v.replace(/([\\,+"<>;=])/g, '\\$1');
  if (s.startsWith('#') || s.startsWith(' ')) s = '\\' + s;
  if (s.endsWith(' ')) s = s.slice(0, -1) + '\\ ';
  return s;
}

/** Decodes a Name (SEQUENCE OF RelativeDistinguishedName). */
export function decodeName(t: Tlv): DistinguishedName {
  expectUniversal(t, TAG.SEQUENCE, 'Name');
  const rdns: NameAttribute[][] = [];
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
      attrs.push({
        type,
        valueTag: valueT.cls === 0 ? valueT.tag : -1,
        value: isString ? decodeString(valueT) : null,
        valueHex: toHex(whole(valueT)),
      });
    }
    rdns.push(attrs);
  }
  const rdnKeys = rdns.map((rdn) => rdn.map(comparisonForm).sort().join('+'));
  const text = [...rdns]
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
  return { der: whole(t), rdns, rdnKeys, key: rdnKeys.join(','), text, isEmpty: rdns.length === 0 };
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
