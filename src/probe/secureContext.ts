import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { ClientIdentity, ProbeOptions } from './options.js';

/**
 * Secure contexts are expensive to build (the CA bundle is parsed each time); targets share
 * them when they share anchors, client identity and protocol bounds.
 */
const contexts = new WeakMap<object, Map<string, SecureContext>>();
const NO_CA = {};
const NO_CLIENT = {};

export function secureContextFor(o: ProbeOptions): SecureContext {
  const caKey = (o.ca ?? NO_CA) as object;
  const clientKey = (o.client ?? NO_CLIENT) as object;
  let byCa = contexts.get(caKey);
  if (!byCa) {
    byCa = new Map();
    contexts.set(caKey, byCa);
  }
  const k = `${o.minVersion ?? 'TLSv1'}|${o.maxVersion ?? ''}|${clientIds.get(clientKey) ?? nextClientId(clientKey)}`;
  let ctx = byCa.get(k);
  if (!ctx) {
    ctx = createSecureContext({
      minVersion: o.minVersion ?? 'TLSv1',
      ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
      // The probe must complete handshakes with weak or legacy servers so their certificates are still verified.
      ciphers: 'DEFAULT:@SECLEVEL=0',
      ...(o.ca ? { ca: [...o.ca] } : {}),
      ...clientIdentityOptions(o.client),
    });
    byCa.set(k, ctx);
  }
  return ctx;
}

const clientIds = new WeakMap<object, number>();
let clientCounter = 0;
function nextClientId(o: object): number {
  clientIds.set(o, ++clientCounter);
  return clientCounter;
}

/** A client identity as secure-context options (pfx, cert, key, passphrase: those given). */
export function clientIdentityOptions(client: ClientIdentity | undefined): SecureContextOptions {
  return {
    ...(client?.pfx ? { pfx: client.pfx } : {}),
    ...(client?.cert ? { cert: client.cert } : {}),
    ...(client?.key ? { key: client.key } : {}),
    ...(client?.passphrase !== undefined ? { passphrase: client.passphrase } : {}),
  };
}
