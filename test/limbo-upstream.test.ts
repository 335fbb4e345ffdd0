/*
 * x509-limbo cases of upstream namespaces the shared vector file does not hold (smime::,
 * rfc9881::, more webpki::), rebuilt from upstream's definitions (test/fixtures/limbo-upstream),
 * run through the harness as `npm run limbo` runs a file. Every case must agree with its
 * expected result, except those docs/conformance.md names as deliberate differences.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type LimboCase, runLimboCase } from '../scripts/limboCase.js';
import { runtimeCanVerify } from '../src/x509/signatureAlgorithm.js';

const load = (name: string): LimboCase[] =>
  (
    JSON.parse(
      readFileSync(new URL(`../../test/fixtures/limbo-upstream/${name}.json`, import.meta.url), 'utf8'),
    ) as { testcases: LimboCase[] }
  ).testcases;

/**
 * Deliberate differences: S/MIME BR 7.1.2.3 (e) says keyUsage SHOULD be critical. certvet
 * warns; this case (tagged pedantic) expects a rejection, while six SUCCESS cases of the same
 * namespace carry the very same non-critical keyUsage.
 */
const DELIBERATE = new Set(['smime::ku::ee-key-usage-not-critical']);

function disagreements(cases: readonly LimboCase[]): string[] {
  const out: string[] = [];
  for (const tc of cases) {
    const r = runLimboCase(tc);
    if (r.actual_result !== tc.expected_result && !DELIBERATE.has(tc.id))
      out.push(`${tc.id}: expected ${tc.expected_result}, got ${r.actual_result} (${r.context})`);
  }
  return out;
}

describe('upstream x509-limbo namespaces beyond the shared file', () => {
  test('smime:: (S/MIME Baseline Requirements): all 46 agree but the one deliberate SHOULD', () => {
    const cases = load('smime');
    assert.equal(cases.length, 46);
    assert.deepEqual(disagreements(cases), []);
    const deliberate = cases.find((c) => DELIBERATE.has(c.id))!;
    assert.equal(runLimboCase(deliberate).actual_result, 'SUCCESS');
  });

  test('webpki::ku and the CA-EKU cases of webpki::eku agree', () => {
    assert.deepEqual(disagreements(load('extra')), []);
  });

  test('rfc9881:: (ML-DSA) agrees where this Node can check ML-DSA; elsewhere only the keyUsage cases are judged', () => {
    const cases = load('rfc9881');
    const canCheck = runtimeCanVerify({ scheme: 'ml-dsa-44' } as Parameters<typeof runtimeCanVerify>[0]);
    for (const tc of cases) {
      const r = runLimboCase(tc);
      if (canCheck || /key-(encipherment|agreement)/.test(tc.id))
        assert.equal(r.actual_result, tc.expected_result, `${tc.id}: ${r.context}`);
      else assert.equal(r.actual_result, 'SKIPPED', `${tc.id}: ${r.context}`);
    }
  });
});
