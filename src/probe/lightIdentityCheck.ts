/*
 * The cross-check's identity step, without the legacy certificate object. When OpenSSL accepts
 * the chain, Node runs its own hostname check (`tls.checkServerIdentity`) on
 * `socket.getPeerCertificate(true)` — an object with every field of every certificate of the
 * rebuilt chain, fingerprints included, which cost about a tenth of a whole check's CPU. That
 * check reads two things of it: the SAN string ("DNS:a, IP Address:b", of which it uses the
 * DNS and IP entries) and the subject's CN values. For the one call Node makes during the
 * handshake, the socket answers with just those, taken from certvet's own parse of the leaf as
 * read from the wire (cached: the check parses that leaf anyway); Node's own
 * `checkServerIdentity` still decides. Node's own method answers instead when the leaf could
 * not be read from the wire or does not parse, and when a name holds a character Node would
 * quote in that string (a comma, a quote, a control character), so no name can pose as a list.
 * Afterwards the socket's method is its own again (peerChain.ts's fallback needs the real
 * chain). (Not `getPeerX509Certificate()`: on Node 20, once it has been called, the socket's
 * legacy `getPeerCertificate()` returns an empty object; and an X509Certificate costs more than
 * the parse.)
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { parseCertificateCached } from '../x509/cache.js';
import { ipToText } from '../x509/generalName.js';
import { attributeValues } from '../x509/name.js';
import { OID } from '../x509/oids.js';

/** Characters that make Node quote a SAN entry: a name holding one is left to Node. */
const NEEDS_QUOTING = /[,"\\\u0000-\u001f\u007f]/;

/** `{ subject: { CN }, subjectaltname }` as Node's object would have them, or null to let Node answer. */
function identityOf(der: Uint8Array): PeerCertificate | null {
  let cert: ReturnType<typeof parseCertificateCached>;
  try {
    cert = parseCertificateCached(der);
  } catch {
    return null;
  }
  const sans: string[] = [];
  for (const n of cert.ext.subjectAltName ?? []) {
    if (n.type === 'dns') {
      if (NEEDS_QUOTING.test(n.value)) return null;
      sans.push(`DNS:${n.value}`);
    } else if (n.type === 'ip') sans.push(`IP Address:${ipToText(n.bytes)}`);
  }
  const cn = attributeValues(cert.subject, OID.commonName);
  if (cn.some((v) => NEEDS_QUOTING.test(v))) return null;
  return {
    subject: cn.length === 0 ? {} : { CN: cn.length === 1 ? cn[0] : cn },
    ...(sans.length ? { subjectaltname: sans.join(', ') } : {}),
  } as unknown as PeerCertificate;
}

/**
 * Makes the socket's next `getPeerCertificate()` (Node's, in its handshake completion) return
 * only what `checkServerIdentity` reads. Returns the function that puts the real method back;
 * call it once the handshake has ended either way.
 */
export function lightenIdentityCheck(ts: TLSSocket, leafFromWire: () => Uint8Array | null): () => void {
  const own = ts as TLSSocket & { getPeerCertificate: TLSSocket['getPeerCertificate'] };
  const restore = () => {
    if (Object.hasOwn(own, 'getPeerCertificate')) delete (own as Partial<typeof own>).getPeerCertificate;
  };
  own.getPeerCertificate = ((detailed?: boolean): PeerCertificate => {
    restore();
    const der = leafFromWire();
    return (der && identityOf(der)) ?? ts.getPeerCertificate(detailed === true);
  }) as TLSSocket['getPeerCertificate'];
  return restore;
}
