/*
 * A certificate's extensions by OID (the first of each; a repeated extension is a parse defect
 * reported on its own). The profile rules ask for about ten extensions of every certificate of
 * every path; one lookup table per parsed certificate (certificates are cached by their bytes,
 * src/x509/cache.ts) replaces a scan of the list per question, which also kept the rules'
 * optimised code small (each `find` with its callback was compiled into the rule's body).
 */
import type { Certificate } from './certificate.js';
import type { RawExtension } from './extensions.js';

const tables = new WeakMap<Certificate, ReadonlyMap<string, RawExtension>>();

/** The first extension of `cert` with this OID, or undefined. */
export function extensionOf(cert: Certificate, oid: string): RawExtension | undefined {
  let table = tables.get(cert);
  if (table === undefined) {
    const t = new Map<string, RawExtension>();
    for (const e of cert.extensions) if (!t.has(e.oid)) t.set(e.oid, e);
    tables.set(cert, t);
    table = t;
  }
  return table.get(oid);
}
