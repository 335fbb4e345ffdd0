import type { LookupAddress, LookupAllOptions } from 'node:dns';
import type { LookupFn } from '../probe/probe.js';

/** A resolver with `dns.lookup`'s signature (as Node's `net`/`tls` `lookup` option takes). */
export type DnsLookup = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[] | string, family?: number) => void,
) => void;

/** certvet's internal form of a `dns.lookup`-style function: every address of a name. */
export function lookupFrom(lookup: DnsLookup): LookupFn {
  return (host) =>
    new Promise((resolve, reject) => {
      lookup(host, { all: true, verbatim: true }, (err, addresses) => {
        if (err) reject(err);
        else resolve(typeof addresses === 'string' ? [addresses] : addresses.map((a) => a.address));
      });
    });
}
