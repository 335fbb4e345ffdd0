import { Conversation, quote, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

const OID = Buffer.from('1.3.6.1.4.1.1466.20037', 'latin1');

/** LDAPMessage { messageID 1, extendedReq [APPLICATION 23] { requestName [0] StartTLS OID } } (RFC 4511 §4.14). */
function startTlsRequest(): Buffer {
  const name = Buffer.concat([Buffer.from([0x80, OID.length]), OID]);
  const ext = Buffer.concat([Buffer.from([0x77, name.length]), name]);
  const id = Buffer.from([0x02, 0x01, 0x01]);
  return Buffer.concat([Buffer.from([0x30, id.length + ext.length]), id, ext]);
}

function tlvLength(buf: Buffer, off: number): { len: number; hdr: number } | null {
  if (buf.length < off + 2) return null;
  const b = buf[off + 1]!;
  if (b < 0x80) return { len: b, hdr: 2 };
  const n = b & 0x7f;
  if (n === 0 || n > 4) throw new StartTlsError('malformed LDAP response length');
  if (buf.length < off + 2 + n) return null;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i]!;
  return { len, hdr: 2 + n };
}

/** LDAPResult codes a StartTLS refusal may carry (RFC 4511 §4.1.9, Appendix A). */
const RESULT_NAMES: Readonly<Record<number, string>> = {
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  80: 'other',
};

/**
 * The LDAPResult's diagnosticMessage, which follows resultCode and matchedDN (both OCTET
 * STRINGs), when the response holds one that is not empty; null otherwise (nothing is guessed).
 */
function diagnosticOf(msg: Buffer, matchedDnOff: number): string | null {
  try {
    if (msg[matchedDnOff] !== 0x04) return null;
    const dn = tlvLength(msg, matchedDnOff);
    if (!dn) return null;
    const off = matchedDnOff + dn.hdr + dn.len;
    if (msg[off] !== 0x04) return null;
    const d = tlvLength(msg, off);
    if (!d || off + d.hdr + d.len > msg.length) return null;
    const text = msg
      .subarray(off + d.hdr, off + d.hdr + d.len)
      .toString('utf8')
      .trim();
    return text || null;
  } catch {
    return null;
  }
}

/** LDAP StartTLS extended operation: the ExtendedResponse must carry resultCode success (0). */
export async function ldap({ socket }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  c.write(startTlsRequest());
  const msg = await c.read((buf) => {
    if (buf.length && buf[0] !== 0x30)
      throw new StartTlsError('the LDAP server did not answer with an LDAPMessage');
    const l = tlvLength(buf, 0);
    if (!l || buf.length < l.hdr + l.len) return null;
    return { value: buf.subarray(0, l.hdr + l.len), consumed: l.hdr + l.len };
  });
  // messageID INTEGER, then protocolOp: ExtendedResponse [APPLICATION 24] = 0x78. Lengths may be
  // in long form (Active Directory sends 0x84 + 4 bytes), so every offset follows the headers.
  const outer = tlvLength(msg, 0)!;
  const idLen = tlvLength(msg, outer.hdr);
  const opOff = outer.hdr + (idLen ? idLen.hdr + idLen.len : 0);
  if (msg[opOff] !== 0x78)
    throw new StartTlsError(
      `the LDAP server answered with operation tag 0x${(msg[opOff] ?? 0).toString(16)}, not an ExtendedResponse`,
    );
  const opLen = tlvLength(msg, opOff);
  const rcOff = opOff + (opLen?.hdr ?? 2);
  const rcLen = msg[rcOff] === 0x0a ? tlvLength(msg, rcOff) : null;
  if (rcLen?.len !== 1) throw new StartTlsError('malformed LDAP ExtendedResponse (no resultCode)');
  const rc = msg[rcOff + rcLen.hdr]!;
  if (rc !== 0) {
    const name = RESULT_NAMES[rc];
    const diagnostic = diagnosticOf(msg, rcOff + rcLen.hdr + rcLen.len);
    throw new StartTlsError(
      `the LDAP server refused StartTLS (resultCode ${rc}${name ? ` ${name}` : ''})${diagnostic ? `: ${quote(diagnostic)}` : ''}`,
    );
  }
  c.close();
}
