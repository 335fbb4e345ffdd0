import { children, content, DerError, decodeOid, expectUniversal, readTlv, TAG, type Tlv } from './der.js';
import { type DistinguishedName, decodeName, decodeString } from './name.js';

/**
 * A GeneralName (RFC 5280 §4.2.1.6), decoded losslessly: an iPAddress keeps its raw bytes so
 * that a malformed length is visible, and the IA5String forms are checked to be ASCII.
 */
export type GeneralName =
  | { readonly type: 'dns'; readonly value: string }
  | { readonly type: 'email'; readonly value: string }
  | { readonly type: 'uri'; readonly value: string }
  | { readonly type: 'ip'; readonly bytes: Uint8Array }
  | { readonly type: 'dirName'; readonly name: DistinguishedName }
  | { readonly type: 'otherName'; readonly oid: string }
  | { readonly type: 'registeredID'; readonly oid: string }
  | { readonly type: 'x400Address' }
  | { readonly type: 'ediPartyName' };

export type GeneralNameType = GeneralName['type'];

function ia5(t: Tlv, what: string): string {
  if (t.constructed) throw new DerError(`${what}: constructed encoding`);
  const c = content(t);
  for (const b of c)
    if (b > 0x7f) throw new DerError(`${what} contains a non-ASCII byte (IDNs must be stored as A-labels)`);
  return Buffer.from(c).toString('latin1');
}

export function decodeGeneralName(t: Tlv): GeneralName {
  if (t.cls !== 2) throw new DerError('GeneralName: expected a context-specific tag');
  switch (t.tag) {
    case 0: {
      if (!t.constructed) throw new DerError('otherName must be constructed');
      const [oidT, valT, extra] = children(t);
      if (!oidT || !valT || extra || valT.cls !== 2 || valT.tag !== 0)
        throw new DerError('malformed otherName');
      return {
        type: 'otherName',
        oid: decodeOid(content(expectUniversal(oidT, TAG.OID, 'otherName type-id'))),
      };
    }
    case 1:
      return { type: 'email', value: ia5(t, 'rfc822Name') };
    case 2:
      return { type: 'dns', value: ia5(t, 'dNSName') };
    case 3:
      return { type: 'x400Address' };
    case 4: {
      if (!t.constructed) throw new DerError('directoryName must be constructed');
      const [inner, extra] = children(t);
      if (!inner || extra) throw new DerError('malformed directoryName');
      return { type: 'dirName', name: decodeName(inner) };
    }
    case 5:
      return { type: 'ediPartyName' };
    case 6:
      return { type: 'uri', value: ia5(t, 'uniformResourceIdentifier') };
    case 7:
      if (t.constructed) throw new DerError('iPAddress: constructed encoding');
      return { type: 'ip', bytes: content(t) };
    case 8:
      if (t.constructed) throw new DerError('registeredID: constructed encoding');
      return { type: 'registeredID', oid: decodeOid(content(t)) };
    default:
      throw new DerError(`unknown GeneralName tag [${t.tag}]`);
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName */
export function decodeGeneralNames(der: Uint8Array, what: string): GeneralName[] {
  const seq = readTlv(der, 0);
  if (seq.end !== der.length) throw new DerError(`${what}: trailing bytes`);
  expectUniversal(seq, TAG.SEQUENCE, what);
  const names = children(seq).map(decodeGeneralName);
  if (names.length === 0) throw new DerError(`${what} is empty (SIZE (1..MAX))`);
  return names;
}

/** Text form of an IP address from its bytes (RFC 5952 for IPv6). */
export function ipToText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) {
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
    // Find the longest run (first on ties) of >= 2 zero groups.
    let bestStart = -1;
    let bestLen = 0;
    for (let i = 0; i < 8; ) {
      if (groups[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > bestLen && j - i >= 2) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (bestStart < 0) return hex.join(':');
    return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
  }
  return `<${b.length}-byte address: ${Buffer.from(b).toString('hex')}>`;
}

/** Human-readable form of any GeneralName (for messages and `inspect`). */
export function generalNameText(n: GeneralName): string {
  switch (n.type) {
    case 'dns':
      return `DNS:${n.value}`;
    case 'email':
      return `email:${n.value}`;
    case 'uri':
      return `URI:${n.value}`;
    case 'ip':
      return `IP:${ipToText(n.bytes)}`;
    case 'dirName':
      return `DirName:${n.name.text}`;
    case 'otherName':
      return `othername:${n.oid}`;
    case 'registeredID':
      return `RID:${n.oid}`;
    default:
      return n.type;
  }
}

export { decodeString };
