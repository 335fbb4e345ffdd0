/*
 * BetterTLS's name-constraint and path-building suites, rebuilt (test/support/betterTls.ts) and
 * run through the x509-limbo harness as x509-limbo's `bettertls::` namespace runs them. The
 * expected results come from BetterTLS's own rules, restated there, not from certvet.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runLimboCase } from '../scripts/limboCase.js';
import {
  type BetterTlsCase,
  type NameConstraintShape,
  nameConstraintCase,
  nameConstraintShapes,
  nameConstraintVerdict,
  pathCase,
  pathScenarios,
  pathVerdict,
} from './support/betterTls.js';

function disagreements(cases: readonly BetterTlsCase[]): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const r = runLimboCase(c);
    if (r.actual_result !== c.expected_result)
      out.push(
        `${c.id}: expected ${c.expected_result}, got ${r.actual_result} (${r.context}) for ${c.description}`,
      );
  }
  return out;
}

describe('BetterTLS suites, rebuilt', () => {
  test('path building: all 81 scenarios, a valid path among invalid ones is found and no invalid edge is used', () => {
    const scenarios = pathScenarios();
    assert.equal(scenarios.length, 81);
    const cases = scenarios.map((s, i) => pathCase(s, `bettertls::pathbuilding::tc${i}`));
    const accepted = cases.filter((c) => c.expected_result === 'SUCCESS').length;
    assert.ok(accepted > 20 && accepted < 70, `${accepted} of 81 expected to pass`);
    assert.deepEqual(disagreements(cases), []);
    // The expired edge is what refuses those cases (validated when the rest is current).
    scenarios.forEach((s, i) => {
      if (s.reason !== 'expired' || pathVerdict(s)) return;
      assert.match(runLimboCase(cases[i]!).context ?? '', /\bexpired\b/, cases[i]!.id);
    });
  });

  test('path-building verdicts: a bridge path around an invalid cross-certificate, none when the only way in is invalid', () => {
    const [linear] = pathScenarios();
    assert.equal(pathVerdict(linear!), true);
    const byInvalid = (graph: string, edge: string) =>
      pathScenarios().find((s) => s.graph === graph && s.invalid.map((e) => e.join('>')).join() === edge)!;
    assert.equal(pathVerdict(byInvalid('bridge', 'TA X>Bridge CA')), true, 'irrelevant to TA Z');
    assert.equal(pathVerdict(byInvalid('bridge', 'TA Z>Bridge CA')), false, 'the only way from TA Z');
    assert.equal(pathVerdict(byInvalid('figureSeven', 'Trust Anchor>C,A>B')), true, 'TA → A → C → B');
  });

  test('name constraints: every leaf shape under each single constraint (BetterTLS never applies constraints to the CN)', () => {
    const cases: BetterTlsCase[] = [];
    let i = 0;
    for (const s of nameConstraintShapes()) {
      const constraints = [s.dnsPermitted, s.ipPermitted, s.dnsExcluded, s.ipExcluded].filter(
        (t) => t !== 'none',
      );
      if (constraints.length <= 1) cases.push(nameConstraintCase(s, `bettertls::nameconstraints::tc${i}`));
      i++;
    }
    assert.equal(i, 2 * 2 * 3 ** 7);
    assert.equal(cases.length, 2 * 2 * 27 * 9);
    const accepted = cases.filter((c) => c.expected_result === 'SUCCESS').length;
    assert.ok(accepted > 50 && accepted < cases.length / 2, `${accepted} expected to pass`);
    assert.deepEqual(disagreements(cases), []);
  });

  test('name-constraint verdicts: hostname in a SAN of its type, no SAN outside a constraint; a CN outside one is allowed', () => {
    const base: NameConstraintShape = {
      host: 'dns',
      cnKind: 'dns',
      cn: 'valid',
      dnsSan: 'valid',
      ipSan: 'none',
      dnsPermitted: 'none',
      ipPermitted: 'none',
      dnsExcluded: 'none',
      ipExcluded: 'none',
    };
    assert.equal(nameConstraintVerdict(base), true);
    assert.equal(nameConstraintVerdict({ ...base, dnsSan: 'none' }), false, 'the hostname only in the CN');
    assert.equal(nameConstraintVerdict({ ...base, dnsPermitted: 'invalid' }), false);
    assert.equal(nameConstraintVerdict({ ...base, ipSan: 'invalid', ipExcluded: 'valid' }), false);
    assert.equal(
      nameConstraintVerdict({ ...base, cn: 'invalid', dnsPermitted: 'valid' }),
      true,
      'only the CN is outside',
    );
    assert.equal(
      nameConstraintVerdict({ ...base, host: 'ip', dnsSan: 'none', ipSan: 'valid', ipPermitted: 'valid' }),
      true,
    );
  });
});
