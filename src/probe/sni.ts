/*
 * The server name a client indicates (SNI, RFC 6066 §3) when it is not told one: the host it
 * dials, as a DNS name — without the trailing dot of an absolute name, which the HostName must
 * not carry — and none at all for an IP literal, which SNI cannot name. Servers that choose
 * their certificate by name answer a client without SNI with their default certificate, so
 * every path that connects (the probe, the checker, the verified clients) takes it from here.
 */
import { isIP } from 'node:net';

export function defaultServername(host: string): string | null {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(h) !== 0) return null;
  const name = h.endsWith('.') ? h.slice(0, -1) : h;
  return name === '' ? null : name;
}
