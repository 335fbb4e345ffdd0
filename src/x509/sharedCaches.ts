/**
 * The process-wide memos of the certificate model in one place: decoded names and
 * AlgorithmIdentifiers (by their bytes) and imported public keys (by SPKI). They make
 * repeated inputs cheap, which is what a scanner wants, and what a measurement of distinct
 * inputs must not benefit from: the limbo harness's --no-shared-caches calls this before each
 * case. Clearing never changes a result, only what it costs.
 */
import { clearNameCache } from './name.js';
import { clearKeyCache } from './publicKey.js';
import { clearAlgorithmCache } from './signatureAlgorithm.js';

export function clearSharedCaches(): void {
  clearNameCache();
  clearAlgorithmCache();
  clearKeyCache();
}
