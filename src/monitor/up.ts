import type { TargetResult } from '../model/result.js';

/**
 * Whether the endpoint answered a TLS handshake: the result holds a certificate the peer sent
 * (whatever the verdict). One definition for the store's `up` column, the API and
 * `certvet_target_up`.
 */
export function endpointUp(r: TargetResult): boolean {
  return r.chain.some((c) => c.source === 'peer');
}
