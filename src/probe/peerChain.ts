import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

/**
 * The certificates of the peer of a TLS socket as Node exposes them (leaf first, DER), each
 * once. On a client socket these are the certificates the server sent, as OpenSSL ordered
 * them; on a server socket, the client's. Empty when there is none (or the socket is gone).
 */
export function peerChain(sock: TLSSocket): Uint8Array[] {
  let cert: DetailedPeerCertificate | undefined;
  try {
    cert = sock.getPeerCertificate(true);
  } catch {
    return [];
  }
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return out;
}
