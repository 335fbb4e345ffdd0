/**
 * npm run bench:verify — how much full verification costs next to the cryptography it cannot
 * avoid. Prints figures and ratios measured in the same run; asserts nothing about timings.
 *
 * 1. Chains verified per second for a typical root → intermediate → leaf chain (RSA-2048 and
 *    ECDSA P-256), against the bare cost of the chain's two signature verifications with
 *    node:crypto on the same certificates (issuer keys imported once, outside the loop, as any
 *    verifier keeps them). certvet is measured "warm" (certificates already parsed: the
 *    scanner's case, where intermediates and roots repeat across endpoints) and "cold" (the
 *    three DER certificates parsed on every call). Both pay for both signatures on every call
 *    (shareSignatureResults: false). Targets: warm ≤ 1.5×, cold ≤ 2.5× the bare signature
 *    checks. Cold parsing still shares the process-wide memos keyed by bytes (imported keys,
 *    decoded names and AlgorithmIdentifiers), as a scanner's does.
 * 2. Every x509-limbo case in ../shared/limbo/limbo.json, timed through runLimboCase.
 * 3. Pathological inputs shaped like x509-limbo's `pathological::` cases (cycles, cross-sign
 *    meshes, 1,000+ name constraints against 500+ names), generated here because the local
 *    limbo file has none. Target: each under 50 ms.
 * 4. The limbo harness (node dist/scripts/limbo.js) as a whole process on a 10,000-case file
 *    generated from the local vectors (bench/limbo.bench.ts). Target: ≥ 2,000 cases/s,
 *    process start included.
 *
 * Environment: BENCH_SECONDS (measuring time per figure, default 1.5), BENCH_ROUNDS (default 5),
 * BENCH_LIMBO (path of limbo.json).
 */
import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type LimboCase, type LimboResult, runLimboCase } from '../scripts/limboCase.js';
import {
  generateKey,
  type IssuedCert,
  issue,
  type LabChain,
  type LabKey,
  makeChain,
  x509,
} from '../src/lab/pki.js';
import type { VerifyOptions } from '../src/verify/options.js';
import { verifyCertificate } from '../src/verify/verify.js';
import { parseCertificate } from '../src/x509/certificate.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const WARMUP_MS = 300;
const TARGET_RATIO = 1.5;
const TARGET_COLD_RATIO = 2.5;
const LIMIT_MS = 50;
const LIMBO =
  process.env.BENCH_LIMBO ?? fileURLToPath(new URL('../../../shared/limbo/limbo.json', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Measurement helpers

/** Calls per second of `fn`, measured for about `ms` milliseconds. */
function opsPerSecond(fn: () => void, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  let t = t0;
  do {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    t = performance.now();
  } while (t < end);
  return n / ((t - t0) / 1000);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Measured {
  /** Median calls per second over the rounds. */
  readonly ops: number;
  /** Per round, this function's cost divided by the baseline's cost in the same round. */
  readonly ratios: readonly number[];
}

/**
 * Measures the baseline and each contender in ROUNDS interleaved rounds (order rotated each
 * round), so that a ratio compares figures taken moments apart: CPU frequency and neighbours
 * on a shared machine drift over seconds.
 */
function compare(baseline: () => void, contenders: Record<string, () => void>): Record<string, Measured> {
  const fns: [string, () => void][] = [['baseline', baseline], ...Object.entries(contenders)];
  for (const [, fn] of fns) opsPerSecond(fn, WARMUP_MS);
  const ops = new Map<string, number[]>(fns.map(([k]) => [k, []]));
  const slice = (SECONDS * 1000) / ROUNDS;
  for (let r = 0; r < ROUNDS; r++)
    for (let j = 0; j < fns.length; j++) {
      const [k, fn] = fns[(r + j) % fns.length]!;
      ops.get(k)!.push(opsPerSecond(fn, slice));
    }
  const base = ops.get('baseline')!;
  const out: Record<string, Measured> = {};
  for (const [k, v] of ops) out[k] = { ops: median(v), ratios: v.map((o, r) => base[r]! / o) };
  return out;
}

const fmtInt = (x: number): string => Math.round(x).toLocaleString('en-US');
const fmtRatio = (m: Measured): string => `${median(m.ratios).toFixed(2)}×`;
const fmtSpread = (m: Measured): string =>
  `${Math.min(...m.ratios).toFixed(2)}–${Math.max(...m.ratios).toFixed(2)}`;

function table(head: readonly string[], rows: readonly (readonly string[])[], left = 1): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < left ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

// ---------------------------------------------------------------------------------------------
// 1. Typical chains: certvet against the bare signature checks

interface Prepared {
  readonly key: KeyObject;
  readonly tbs: Uint8Array;
  readonly sig: Uint8Array;
  readonly hash: string;
  readonly rsa: boolean;
}

/** The bare crypto: leaf-by-intermediate and intermediate-by-root, keys imported once. */
function bareSignatures(c: LabChain): () => void {
  const prepared: Prepared[] = (
    [
      [c.leaf, c.intermediate],
      [c.intermediate, c.root],
    ] as const
  ).map(([child, issuer]) => {
    const alg = child.parsed.signatureAlgorithm;
    if (!alg.hash || (alg.scheme !== 'rsa-pkcs1' && alg.scheme !== 'ecdsa'))
      throw new Error(`unexpected signature algorithm ${alg.name}`);
    return {
      key: createPublicKey({
        key: Buffer.from(issuer.parsed.publicKey.spkiDer),
        format: 'der',
        type: 'spki',
      }),
      tbs: child.parsed.tbs,
      sig: child.parsed.signature,
      hash: alg.hash,
      rsa: alg.scheme === 'rsa-pkcs1',
    };
  });
  return () => {
    for (const p of prepared) {
      const ok = p.rsa
        ? cryptoVerify(p.hash, p.tbs, { key: p.key, padding: constants.RSA_PKCS1_PADDING }, p.sig)
        : cryptoVerify(p.hash, p.tbs, { key: p.key, dsaEncoding: 'der' }, p.sig);
      if (!ok) throw new Error('signature did not verify');
    }
  };
}

const cpu = cpus();
console.log(
  `machine: ${cpu[0]?.model ?? '?'}, ${cpu.length} cores; ${platform()} ${release()} ${arch()}; ` +
    `Node ${process.version}, OpenSSL ${process.versions.openssl}`,
);
console.log(
  `method: ${ROUNDS} interleaved rounds, ${SECONDS} s per figure in all, after ${WARMUP_MS} ms of warm-up; ` +
    'figures are medians over the rounds',
);
console.log('');
console.log('1. root → intermediate → leaf: full verification (path building, RFC 5280 §6.1,');
console.log('   webpki profile, name check) vs. the two signature verifications alone');
console.log('');

const NAME = 'bench.example.test';
const rows: string[][] = [];
const verdicts: string[] = [];
let allMet = true;
for (const [label, keyType] of [
  ['RSA-2048', 'rsa-2048'],
  ['ECDSA P-256', 'ec-p256'],
] as const) {
  const c = await makeChain({ names: [NAME], keyType });
  const now = Date.now();
  const base = {
    anchors: [c.root.parsed],
    intermediates: [c.intermediate.parsed],
    time: now,
    profile: 'webpki' as const,
    expectedNames: [{ kind: 'dns' as const, value: NAME }],
    // Pay for both signatures on every call (no process-wide sharing), like the baseline.
    shareSignatureResults: false,
  } satisfies Omit<VerifyOptions, 'leaf'>;
  const check = (r: ReturnType<typeof verifyCertificate>): void => {
    // Not a timing assertion: the comparison is only fair if certvet did the same crypto.
    if (!r.valid) throw new Error(`${label}: chain did not verify: ${JSON.stringify(r.findings)}`);
    if (r.stats.signatureChecks !== 2)
      throw new Error(`${label}: ${r.stats.signatureChecks} signature checks`);
  };
  const warm = () => check(verifyCertificate({ ...base, leaf: c.leaf.parsed }));
  const cold = () =>
    check(
      verifyCertificate({
        ...base,
        leaf: parseCertificate(c.leaf.der),
        intermediates: [parseCertificate(c.intermediate.der)],
        anchors: [parseCertificate(c.root.der)],
      }),
    );
  const m = compare(bareSignatures(c), { warm, cold });
  const b = m['baseline']!;
  const w = m['warm']!;
  const k = m['cold']!;
  const overheadUs = (1 / w.ops - 1 / b.ops) * 1e6;
  rows.push([
    label,
    fmtInt(b.ops),
    fmtInt(w.ops),
    fmtRatio(w),
    fmtSpread(w),
    overheadUs.toFixed(1),
    fmtInt(k.ops),
    fmtRatio(k),
    fmtSpread(k),
  ]);
  const met = median(w.ratios) <= TARGET_RATIO;
  const coldMet = median(k.ratios) <= TARGET_COLD_RATIO;
  allMet &&= met && coldMet;
  verdicts.push(
    `${label} warm ${fmtRatio(w)} (${met ? 'met' : 'NOT met'}), cold ${fmtRatio(k)} (${coldMet ? 'met' : 'NOT met'})`,
  );
}
table(
  [
    'chain',
    'bare sig pairs/s',
    'warm chains/s',
    'ratio',
    '(rounds)',
    'µs/chain beyond crypto',
    'cold chains/s',
    'ratio',
    '(rounds)',
  ],
  rows,
);
console.log('');
console.log('ratio = time per certvet verification ÷ time per bare signature pair, same round.');
console.log('warm: certificates parsed once; cold: the three DER certificates parsed on every call.');
console.log('Both check both signatures on every call; issuer keys stay imported (by SPKI) across calls.');
console.log(
  `verdict (targets: warm ≤ ${TARGET_RATIO}×, cold ≤ ${TARGET_COLD_RATIO}× the bare signature checks): ${allMet ? 'MET' : 'NOT MET'} — ${verdicts.join('; ')}`,
);

// ---------------------------------------------------------------------------------------------
// 2. x509-limbo

interface Timed {
  readonly id: string;
  readonly ms: number;
  readonly result: LimboResult;
  readonly expected?: string;
}

function timeCase(tc: LimboCase): Timed {
  const t0 = performance.now();
  const result = runLimboCase(tc);
  return { id: tc.id, ms: performance.now() - t0, result, expected: tc.expected_result };
}

const outcome = (t: Timed): string =>
  `${t.result.actual_result}${t.expected && t.result.actual_result !== t.expected ? ` (expected ${t.expected})` : ''}`;

console.log('');
if (existsSync(LIMBO)) {
  const cases = (JSON.parse(readFileSync(LIMBO, 'utf8')) as { testcases: LimboCase[] }).testcases;
  // One pass: the first (and only) run of each case pays for all its parsing and signatures.
  const times = cases.map(timeCase).sort((a, b) => b.ms - a.ms);
  const total = times.reduce((a, t) => a + t.ms, 0);
  const dos = cases.filter((c) => c.features?.includes('denial-of-service')).map((c) => c.id);
  console.log(
    `2. x509-limbo (${LIMBO}): ${cases.length} cases in ${total.toFixed(0)} ms, ` +
      `median ${median(times.map((t) => t.ms)).toFixed(2)} ms; slowest:`,
  );
  for (const t of times.slice(0, 5))
    console.log(`  ${t.ms.toFixed(1).padStart(7)} ms  ${t.id}  ${outcome(t)}`);
  console.log(`  cases over ${LIMIT_MS} ms: ${times.filter((t) => t.ms > LIMIT_MS).length}`);
  console.log(
    `  cases tagged denial-of-service: ${dos.length ? dos.join(', ') : 'none in this file (see the pathological inputs below)'}`,
  );
} else {
  console.log(`2. x509-limbo: ${LIMBO} not found; skipped (set BENCH_LIMBO).`);
}

// ---------------------------------------------------------------------------------------------
// 3. Pathological inputs, run through the limbo harness (runLimboCase)

/** DER TLV with a definite length. */
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : null;
  if (!len) throw new Error('too long');
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

/** NameConstraints with dNSName subtrees (RFC 5280 §4.2.1.10). */
function dnsNameConstraints(permitted: readonly string[], excluded: readonly string[]): x509.Extension {
  const subtree = (name: string) => tlv(0x30, tlv(0x82, Buffer.from(name, 'latin1')));
  const value = tlv(0x30, tlv(0xa0, ...permitted.map(subtree)), tlv(0xa1, ...excluded.map(subtree)));
  return new x509.Extension('2.5.29.30', true, value);
}

function limboCase(
  id: string,
  o: {
    trusted: readonly IssuedCert[];
    intermediates?: readonly IssuedCert[];
    leaf: IssuedCert;
    expected: 'SUCCESS' | 'FAILURE';
    name?: string;
  },
): LimboCase {
  return {
    id,
    validation_kind: 'SERVER',
    trusted_certs: o.trusted.map((c) => c.pem),
    untrusted_intermediates: (o.intermediates ?? []).map((c) => c.pem),
    peer_certificate: o.leaf.pem,
    validation_time: null,
    expected_result: o.expected,
    expected_peer_name: { kind: 'DNS', value: o.name ?? 'leaf.example.test' },
  };
}

const leafSpec = { subject: 'CN=leaf.example.test', dns: ['leaf.example.test'] };

/** A self-signed stand-in that only lends `key` and `subject` to issue() (for cycles). */
async function signerOf(subject: string, key: LabKey): Promise<IssuedCert> {
  return issue({ subject, key, ca: true });
}

/** Two CAs that sign each other; the leaf hangs off the cycle, the trusted root is elsewhere. */
async function cycle(id: string, s1: string, s2: string): Promise<LimboCase> {
  const root = await issue({ subject: 'CN=Pathological Root', ca: true });
  const [k1, k2] = [await generateKey(), await generateKey()];
  const ica1 = await issue({ subject: s1, key: k1, ca: true, issuer: await signerOf(s2, k2) });
  const ica2 = await issue({ subject: s2, key: k2, ca: true, issuer: ica1 });
  const leaf = await issue({ ...leafSpec, issuer: ica1 });
  return limboCase(id, { trusted: [root], intermediates: [ica1, ica2], leaf, expected: 'FAILURE' });
}

/** Two trusted roots; an expired cross-certificate of root 1 by root 2 must not get in the way. */
async function expiredCross(): Promise<LimboCase> {
  const root = await issue({ subject: 'CN=Pathological Root', ca: true });
  const root2 = await issue({ subject: 'CN=Pathological Root 2', ca: true });
  const cross = await issue({
    subject: root.subject,
    key: root.key,
    ca: true,
    pathLen: 1,
    issuer: root2,
    notBefore: new Date('1980-01-01T00:00:00Z'),
    notAfter: new Date('1988-11-25T00:00:00Z'),
  });
  const leaf = await issue({ ...leafSpec, issuer: root });
  return limboCase('multiple-chains-expired-intermediate', {
    trusted: [root, root2],
    intermediates: [cross],
    leaf,
    expected: 'SUCCESS',
  });
}

/** `copies` CAs named A (one key) signed by B and as many named B signed by A: no anchor. */
async function mesh(copies: number): Promise<LimboCase> {
  const root = await issue({ subject: 'CN=Pathological Root', ca: true });
  const a0 = await issue({ subject: 'CN=Mesh A', ca: true });
  const b0 = await issue({ subject: 'CN=Mesh B', ca: true });
  const certs: IssuedCert[] = [];
  for (let i = 0; i < copies; i++) {
    certs.push(await issue({ subject: 'CN=Mesh A', ca: true, issuer: b0, key: a0.key }));
    certs.push(await issue({ subject: 'CN=Mesh B', ca: true, issuer: a0, key: b0.key }));
  }
  const leaf = await issue({ ...leafSpec, issuer: a0 });
  return limboCase(`cross-sign-mesh-${copies}x2`, {
    trusted: [root],
    intermediates: certs,
    leaf,
    expected: 'FAILURE',
  });
}

/** 513 + 1 permitted and 513 excluded dNSName subtrees against a leaf with those 514 SANs. */
async function ncDos(): Promise<LimboCase> {
  const permitted = [...Array.from({ length: 513 }, (_, i) => `t${i}.test`), '.test'];
  const excluded = Array.from({ length: 513 }, (_, i) => `x${i}.test`);
  const root = await issue({
    subject: 'CN=Pathological NC Root',
    ca: true,
    extensions: [dnsNameConstraints(permitted, excluded)],
  });
  const leaf = await issue({
    subject: '',
    issuer: root,
    extensions: [
      new x509.SubjectAlternativeNameExtension(
        permitted.map((value) => ({ type: 'dns' as const, value })),
        true,
      ),
    ],
  });
  return limboCase('nc-dos-1', { trusted: [root], leaf, expected: 'FAILURE', name: 't0.test' });
}

const REPEATS = 5;
const builders: [string, () => Promise<LimboCase>][] = [
  ['multiple-chains-expired-intermediate', expiredCross],
  [
    'intermediate-cycle-distinct-cas',
    () => cycle('intermediate-cycle-distinct-cas', 'CN=Cycle CA 1', 'CN=Cycle CA 2'),
  ],
  [
    'intermediate-cycle-same-logical-ca',
    () => cycle('intermediate-cycle-same-logical-ca', 'CN=Cycle CA', 'CN=Cycle CA'),
  ],
  ['cross-sign mesh, 6+6 CAs', () => mesh(6)],
  ['cross-sign mesh, 16+16 CAs (past the budget)', () => mesh(16)],
  ['nc-dos-1 (1,027 constraints × 514 names)', ncDos],
];

console.log('');
console.log(
  `3. pathological inputs (ECDSA P-256, shaped like x509-limbo's pathological:: cases), through runLimboCase;`,
);
console.log(
  `   each generated ${REPEATS} times with fresh keys, so no run reuses another's signature results`,
);
const prow: string[][] = [];
let over = 0;
for (const [label, build] of builders) {
  const runs: Timed[] = [];
  for (let r = 0; r < REPEATS; r++) runs.push(timeCase(await build()));
  const worst = Math.max(...runs.map((t) => t.ms));
  if (worst > LIMIT_MS) over++;
  const last = runs[runs.length - 1]!;
  const codes = new Set((last.result.context ?? '').split(' | ').map((f) => f.split(':')[0]!));
  const why = [...codes].filter(Boolean).join(', ');
  prow.push([
    label,
    median(runs.map((t) => t.ms)).toFixed(1),
    worst.toFixed(1),
    `${outcome(last)}${why ? ` (${why})` : ''}`,
  ]);
}
table(['case', 'median ms', 'worst ms', 'result'], prow);
console.log(`   over ${LIMIT_MS} ms: ${over} of ${builders.length}`);

// ---------------------------------------------------------------------------------------------
// 4. The limbo harness as a whole process on a 10,000-case file (bench/limbo.bench.ts, which
//    also runs on its own: node dist/bench/limbo.bench.js)

await import('./limbo.bench.js');
