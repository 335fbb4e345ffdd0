/*
 * The cross-check's identity step, without the legacy certificate object. When OpenSSL accepts
 * the chain, Node runs its own hostname check (`tls.checkServerIdentity`) on
 * `socket.getPeerCertificate(true)` — an object with every field of every certificate of the
 * rebuilt chain, fingerprints included, which cost about a tenth of a whole check's CPU. That
 * check reads two things of it: the SAN string and the subject's CN. For the one call Node makes
 * during the handshake, the socket answers with just those two, taken from an X509Certificate
 * of the leaf as read from the wire; Node's own `checkServerIdentity` still decides. When the
 * leaf could not be read from the wire, Node's own method answers. Afterwards the socket's
 * method is its own again (peerChain.ts's fallback needs the real chain). (Not
 * `getPeerX509Certificate()`: on Node 20, once it has been called, the socket's legacy
 * `getPeerCertificate()` returns an empty object.)
 * (The CN is read from OpenSSL's RFC 2253-escaped rendering, so a CN with a comma or quote
 * differs from the legacy object's raw value; such a CN is no host name either way.)
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/** The subject's CN values from an X509Certificate's multi-line subject ("CN=a\nO=b"). */
function commonNames(subject: string): string[] {
  const out: string[] = [];
  for (const line of subject.split('\n')) if (line.startsWith('CN=')) out.push(line.slice(3));
  return out;
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
    let x: X509Certificate | null = null;
    try {
      x = der ? new X509Certificate(der) : null;
    } catch {
      x = null;
    }
    if (!x) return ts.getPeerCertificate(detailed === true);
    const cn = commonNames(x.subject);
    return {
      subject: cn.length === 0 ? {} : { CN: cn.length === 1 ? cn[0] : cn },
      ...(x.subjectAltName !== undefined ? { subjectaltname: x.subjectAltName } : {}),
    } as unknown as PeerCertificate;
  }) as TLSSocket['getPeerCertificate'];
  return restore;
}
