/**
 * npm run bench:verify — chains verified per second for a typical 3-certificate RSA-2048 chain
 * and a P-256 chain, against the same run's cost of the two signature verifications alone
 * (node:crypto on the same certificates, keys loaded once). Then every x509-limbo case is
 * timed (the pathological ones must stay far below 50 ms). Prints figures; asserts nothing.
 */
import { constants, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { type LabChain, makeChain } from '../src/lab/pki.js';
import { type LimboCase, runLimboCase } from '../src/verify/limbo.js';
import { verifyCertificate } from '../src/verify/verify.js';
import { parseCertificate } from '../src/x509/certificate.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);

function rate(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let n = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  return n / ((performance.now() - t0) / 1000);
}

function bareSignatures(c: LabChain): () => void {
  const pairs = [
    [c.leaf, c.intermediate],
    [c.intermediate, c.root],
  ] as const;
  const prepared = pairs.map(([child, issuer]) => ({
    key: createPublicKey({ key: Buffer.from(issuer.parsed.publicKey.spkiDer), format: 'der', type: 'spki' }),
    tbs: child.parsed.tbs,
    sig: child.parsed.signature,
    hash: child.parsed.signatureAlgorithm.hash,
    rsa: child.parsed.signatureAlgorithm.scheme === 'rsa-pkcs1',
  }));
  return () => {
    for (const p of prepared) {
      const ok = p.rsa
        ? cryptoVerify(p.hash, p.tbs, { key: p.key, padding: constants.RSA_PKCS1_PADDING }, p.sig)
        : cryptoVerify(p.hash, p.tbs, { key: p.key, dsaEncoding: 'der' }, p.sig);
      if (!ok) throw new Error('signature did not verify');
    }
  };
}

console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}`);
console.log('chain: root → intermediate → leaf, full RFC 5280 validation + webpki profile + name check');
console.log('');
console.log('chain     | bare signatures/s | certvet warm/s | ratio (cost) | certvet cold/s | ratio (cost)');
console.log('----------|------------------:|---------------:|-------------:|---------------:|-------------:');
for (const [label, keyType] of [
  ['RSA-2048', 'rsa-2048'],
  ['ECDSA P-256', 'ec-p256'],
] as const) {
  const c = await makeChain({ names: ['bench.example.test'], keyType });
  const opts = {
    intermediates: [c.intermediate.parsed],
    anchors: [c.root.parsed],
    profile: 'webpki' as const,
    expectedNames: [{ kind: 'dns' as const, value: 'bench.example.test' }],
    // Pay for both signatures on every call (no process-wide sharing), like the bare baseline.
    shareSignatureResults: false,
  };
  const bare = rate(bareSignatures(c));
  // Warm: certificates already parsed (the scanner's case: intermediates and roots repeat).
  const warm = rate(() => {
    const r = verifyCertificate({ ...opts, leaf: c.leaf.parsed, time: Date.now() });
    if (!r.valid) throw new Error(JSON.stringify(r.findings));
  });
  const cold = rate(() => {
    const r = verifyCertificate({
      ...opts,
      leaf: parseCertificate(c.leaf.der),
      intermediates: [parseCertificate(c.intermediate.der)],
      anchors: [parseCertificate(c.root.der)],
      time: Date.now(),
    });
    if (!r.valid) throw new Error('invalid');
  });
  console.log(
    `${label.padEnd(9)} | ${bare.toFixed(0).padStart(17)} | ${warm.toFixed(0).padStart(14)} | ${(bare / warm).toFixed(2).padStart(11)}× | ${cold.toFixed(0).padStart(14)} | ${(bare / cold).toFixed(2).padStart(11)}×`,
  );
}
console.log('');
console.log('ratio = time per certvet verification / time per bare signature pair (target ≤ 1.5× warm).');
console.log('warm: certificates parsed once; cold: the three DER certificates parsed on every call.');
console.log('Both verify both signatures on every call (shareSignatureResults: false).');

const limbo = '../shared/limbo/limbo.json';
if (existsSync(limbo)) {
  const cases = (JSON.parse(readFileSync(limbo, 'utf8')) as { testcases: LimboCase[] }).testcases;
  const times: [string, number][] = [];
  for (const tc of cases) {
    const t0 = performance.now();
    runLimboCase(tc);
    times.push([tc.id, performance.now() - t0]);
  }
  times.sort((a, b) => b[1] - a[1]);
  console.log('');
  console.log(
    `x509-limbo: ${cases.length} cases in ${times.reduce((a, [, t]) => a + t, 0).toFixed(0)} ms; slowest:`,
  );
  for (const [id, t] of times.slice(0, 5)) console.log(`  ${t.toFixed(1).padStart(7)} ms  ${id}`);
  console.log(`  cases over 50 ms: ${times.filter(([, t]) => t > 50).length}`);
}
