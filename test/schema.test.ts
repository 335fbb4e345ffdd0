/**
 * schema/result.schema.json describes what the CLI really prints (check --format json and
 * jsonl, verify --format json, against real TLS servers on 127.0.0.1), and it cannot drift
 * from the TypeScript result model: every property of every model type (and whether it is
 * optional) and every member of the model's string unions is checked against the schema.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { FINDING_CODES, type Finding, type Severity } from '../src/findings/catalogue.js';
import { issue, makeChain, privateKeyPem } from '../src/lab/pki.js';
import type {
  CertificateSource,
  ChainEntry,
  ChainPublicKey,
  SubjectAltNames,
} from '../src/model/chainEntry.js';
import type {
  CrossCheck,
  Report,
  Status,
  Summary,
  TargetResult,
  Timings,
  TlsInfo,
  TlsVersion,
  VerificationInfo,
} from '../src/model/result.js';
import type { RevocationInfo } from '../src/model/revocation.js';
import type { Conformance, Profile } from '../src/verify/options.js';
import type { KeyType } from '../src/x509/publicKey.js';
import { runCli } from './support/cli.js';

// ajv-formats is CommonJS with a default export; under NodeNext its default import is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const runNode = async (args: readonly string[]): Promise<string> =>
  (await promisify(execFile)(process.execPath, [...args], { timeout: 30_000 })).stdout;

type JsonSchema = { [key: string]: unknown };
const SCHEMA = JSON.parse(
  readFileSync(new URL('../../schema/result.schema.json', import.meta.url), 'utf8'),
) as JsonSchema & { $id: string; $defs: Record<string, JsonSchema> };

// --- The model, spelled out so that the compiler checks the spelling -----------------------

/** Each property of T, and whether T declares it optional. */
type Presence<T> = { readonly [K in keyof T]-?: object extends Pick<T, K> ? 'optional' : 'required' };

const MODEL = {
  Report: { version: 'required', generatedAt: 'required', summary: 'required', results: 'required' },
  Summary: {
    total: 'required',
    ok: 'required',
    warning: 'required',
    critical: 'required',
    error: 'required',
  },
  TargetResult: {
    target: 'required',
    host: 'required',
    port: 'required',
    address: 'required',
    servername: 'required',
    status: 'required',
    findings: 'required',
    chain: 'required',
    durationMs: 'required',
    tls: 'optional',
    crossCheck: 'optional',
    timings: 'optional',
    verification: 'optional',
  },
  Finding: {
    code: 'required',
    severity: 'required',
    message: 'required',
    certIndex: 'optional',
    rule: 'optional',
  },
  ChainEntry: {
    subject: 'required',
    issuer: 'required',
    serialNumber: 'required',
    notBefore: 'required',
    notAfter: 'required',
    daysRemaining: 'required',
    sha256: 'required',
    subjectAltNames: 'required',
    publicKey: 'required',
    signatureAlgorithm: 'required',
    isCA: 'required',
    selfSigned: 'required',
    source: 'required',
    revocation: 'optional',
  },
  SubjectAltNames: { dns: 'required', ip: 'required', email: 'required', uri: 'required' },
  PublicKey: { type: 'required', bits: 'required', curve: 'required', spkiSha256: 'required' },
  RevocationInfo: {
    status: 'required',
    source: 'required',
    checkedAt: 'required',
    nextUpdate: 'required',
    reason: 'required',
    detail: 'required',
  },
  TlsInfo: {
    protocol: 'required',
    cipher: 'required',
    alpn: 'required',
    ocspStapled: 'required',
    clientCertificate: 'optional',
    protocols: 'optional',
  },
  Timings: {
    dnsMs: 'required',
    connectMs: 'required',
    starttlsMs: 'required',
    handshakeMs: 'required',
    totalMs: 'required',
  },
  CrossCheck: { authorized: 'required', error: 'required', certvetValid: 'required', agrees: 'required' },
  Verification: {
    valid: 'required',
    anchored: 'required',
    profile: 'required',
    conformance: 'required',
    at: 'required',
  },
} as const satisfies {
  Report: Presence<Report>;
  Summary: Presence<Summary>;
  TargetResult: Presence<TargetResult>;
  Finding: Presence<Finding>;
  ChainEntry: Presence<ChainEntry>;
  SubjectAltNames: Presence<SubjectAltNames>;
  PublicKey: Presence<ChainPublicKey>;
  RevocationInfo: Presence<RevocationInfo>;
  TlsInfo: Presence<TlsInfo>;
  Timings: Presence<Timings>;
  CrossCheck: Presence<CrossCheck>;
  Verification: Presence<VerificationInfo>;
};

/** Every member of the union T, and nothing else: a missing member does not compile. */
const members =
  <T>() =>
  <const A extends readonly T[]>(values: A & (Exclude<T, A[number]> extends never ? unknown : never)): A =>
    values;

const UNIONS: readonly { readonly at: string; readonly values: readonly (string | null)[] }[] = [
  { at: 'Status', values: members<Status>()(['ok', 'warning', 'critical', 'error']) },
  { at: 'Severity', values: members<Severity>()(['info', 'warning', 'critical', 'error']) },
  { at: 'FindingCode', values: Object.keys(FINDING_CODES) },
  {
    at: 'ChainEntry/source',
    values: members<CertificateSource>()(['peer', 'trust-store', 'aia']),
  },
  {
    at: 'PublicKey/type',
    values: members<KeyType>()([
      'rsa',
      'rsa-pss',
      'ec',
      'ed25519',
      'ed448',
      'ml-dsa-44',
      'ml-dsa-65',
      'ml-dsa-87',
      'dsa',
      'x25519',
      'x448',
      'unknown',
    ]),
  },
  {
    at: 'RevocationInfo/status',
    values: members<RevocationInfo['status']>()(['good', 'revoked', 'unknown', 'not-checked']),
  },
  {
    at: 'RevocationInfo/source',
    values: members<RevocationInfo['source']>()(['ocsp-stapled', 'ocsp', 'crl', null]),
  },
  { at: 'Verification/profile', values: members<Profile>()(['rfc5280', 'webpki', 'smime']) },
  { at: 'Verification/conformance', values: members<Conformance>()(['enforce', 'warn']) },
];
const TLS_VERSIONS = members<TlsVersion>()(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

const def = (name: string): JsonSchema & { properties: Record<string, JsonSchema>; required: string[] } => {
  const d = SCHEMA.$defs[name];
  assert.ok(d, `schema has no $defs/${name}`);
  return d as JsonSchema & { properties: Record<string, JsonSchema>; required: string[] };
};

// --- Validation ------------------------------------------------------------------------------

/**
 * The shipped schema lets later versions add properties; the test forbids any property the
 * schema does not name, so output the schema does not describe fails here.
 */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (!node || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) out[k] = closed(v);
  if (out.type === 'object' && out.properties && !('additionalProperties' in out))
    out.additionalProperties = false;
  return out;
}

function validators(): { report: ValidateFunction; result: ValidateFunction } {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(closed(SCHEMA) as JsonSchema);
  const report = ajv.getSchema(SCHEMA.$id);
  const result = ajv.getSchema(`${SCHEMA.$id}#/$defs/TargetResult`);
  assert.ok(report && result);
  return { report, result };
}

function assertValid(validate: ValidateFunction, value: unknown, what: string): void {
  const ok = validate(value);
  assert.ok(ok, `${what} does not match the schema: ${JSON.stringify(validate.errors, null, 2)}`);
}

describe('schema/result.schema.json', () => {
  test('is valid draft 2020-12 under strict mode, and its root is the Report', () => {
    assert.equal(SCHEMA.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(SCHEMA.$ref, '#/$defs/Report');
    validators(); // compiles (strict: unknown keywords and formats are errors)
  });

  test('every property of the TypeScript model is in the schema, required exactly when not optional', () => {
    for (const [name, props] of Object.entries(MODEL)) {
      const d = def(name);
      assert.deepEqual(
        Object.keys(d.properties).sort(),
        Object.keys(props).sort(),
        `$defs/${name} properties`,
      );
      const required = Object.entries(props)
        .filter(([, p]) => p === 'required')
        .map(([k]) => k);
      assert.deepEqual([...d.required].sort(), required.sort(), `$defs/${name} required`);
    }
    const protocols = def('TlsInfo').properties.protocols as { properties: Record<string, unknown> };
    assert.deepEqual(Object.keys(protocols.properties).sort(), [...TLS_VERSIONS].sort());
  });

  test('every enumeration matches its TypeScript union (finding codes: the catalogue)', () => {
    for (const u of UNIONS) {
      const [name, prop] = u.at.split('/') as [string, string | undefined];
      const node = (prop ? def(name).properties[prop] : SCHEMA.$defs[name]) as { enum?: unknown[] };
      assert.ok(node?.enum, `${u.at} has an enum`);
      assert.deepEqual([...node.enum].sort(), [...u.values].sort(), u.at);
    }
    const code = def('Finding').properties.code as { anyOf: JsonSchema[] };
    assert.deepEqual(code.anyOf[0], { $ref: '#/$defs/FindingCode' });
    assert.equal(code.anyOf[1]?.pattern, '^custom:.+');
  });
});

describe('real CLI output validates against the schema', () => {
  let dir: string;
  const servers: Server[] = [];
  let good: number;
  let expired: number;
  let closedPort: number;
  const f = (n: string) => join(dir, n);

  const listen = async (cert: string, key: string): Promise<number> => {
    const s = createServer({ cert, key }, (sock) => {
      sock.on('error', () => {});
      sock.end();
    });
    s.on('tlsClientError', () => {});
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-schema-'));
    const chain = await makeChain({ names: ['127.0.0.1'] });
    const old = await issue({
      subject: 'CN=127.0.0.1',
      issuer: chain.intermediate,
      ips: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 100 * 86400_000),
      notAfter: new Date(Date.now() - 10 * 86400_000),
    });
    writeFileSync(f('ca.pem'), chain.root.pem);
    writeFileSync(f('int.pem'), chain.intermediate.pem);
    writeFileSync(f('leaf.pem'), chain.leaf.pem);
    good = await listen(chain.leaf.pem + chain.intermediate.pem, await privateKeyPem(chain.leaf.key));
    expired = await listen(old.pem + chain.intermediate.pem, await privateKeyPem(old.key));
    // A port that was just listening and is now closed: connection refused (an error result).
    const gone = createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    closedPort = (gone.address() as AddressInfo).port;
    await new Promise<void>((r) => gone.close(() => r()));
  });

  after(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });

  const checkArgs = (format: string) => [
    'check',
    `127.0.0.1:${good}`,
    `127.0.0.1:${expired}`,
    `127.0.0.1:${closedPort}`,
    '--ca',
    f('ca.pem'),
    '--probe-protocols',
    '--timeout',
    '5s',
    '--format',
    format,
    '--quiet',
  ];

  test('check --format json: a good, an expired and an unreachable endpoint', async () => {
    const run = await runCli(checkArgs('json'));
    assert.equal(run.code, 2, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assertValid(validators().report, report, 'check --format json');
    const [ok, exp, down] = report.results;
    // The output really covers what the schema describes.
    assert.notEqual(ok?.status, 'critical', JSON.stringify(ok?.findings));
    assert.notEqual(ok?.status, 'error');
    assert.equal(ok?.chain.length, 3);
    assert.ok(ok?.tls?.protocols && Object.keys(ok.tls.protocols).length > 0, 'tls.protocols present');
    assert.equal(ok?.crossCheck?.agrees, true);
    assert.ok(ok?.timings);
    assert.ok(
      ok?.chain.some((e) => e.revocation),
      'a chain entry carries revocation info',
    );
    assert.equal(exp?.status, 'critical');
    assert.ok(exp?.findings.some((x) => x.code === 'expired' && x.certIndex === 0));
    assert.equal(down?.status, 'error');
    assert.equal(down?.findings[0]?.code, 'connect-failed');
    assert.deepEqual(down?.chain, []);
  });

  test('docs/check.md: the validation example runs as written, on a real report', async () => {
    const run = await runCli(checkArgs('json'));
    const doc = readFileSync(new URL('../../docs/check.md', import.meta.url), 'utf8');
    const block = /<!-- schema-example -->\s*```js\n([\s\S]*?)```\s*<!-- \/schema-example -->/.exec(doc);
    assert.ok(block, 'the example block is in docs/check.md');
    // Inside the package (dist/), so that 'certvet/…' resolves to this package by its own name.
    const script = fileURLToPath(new URL(`./schema-example-${process.pid}.mjs`, import.meta.url));
    writeFileSync(f('report.json'), run.stdout);
    writeFileSync(
      script,
      `${block![1]}
import { readFileSync } from 'node:fs';
const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
console.log(JSON.stringify([validateReport(report), ...report.results.map((r) => validateResult(r)),
  validateResult(report), validateReport({ ...report, version: 2 })]));
`,
    );
    try {
      const out = await runNode([script, f('report.json')]);
      assert.deepEqual(JSON.parse(out), [true, true, true, true, false, false]);
    } finally {
      rmSync(script, { force: true });
    }
  });

  test('check --format jsonl: every line is a TargetResult', async () => {
    const run = await runCli(checkArgs('jsonl'));
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    const { result, report } = validators();
    for (const line of lines) assertValid(result, JSON.parse(line), `jsonl line ${line.slice(0, 60)}`);
    // A line is a result, not a report.
    assert.equal(report(JSON.parse(lines[0]!)), false);
  });

  test('verify --format json (with its verification block)', async () => {
    const run = await runCli([
      'verify',
      f('leaf.pem'),
      '--chain',
      f('int.pem'),
      '--ca',
      f('ca.pem'),
      '--ip',
      '127.0.0.1',
      '--format',
      'json',
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    assertValid(validators().report, report, 'verify --format json');
    assert.equal(report.results[0]?.verification?.valid, true);
    assert.equal(report.results[0]?.chain[2]?.source, 'trust-store');
  });

  test('output the schema does not describe is refused (the test validator is closed)', () => {
    const { result } = validators();
    const base = {
      target: 'x',
      host: null,
      port: null,
      address: null,
      servername: null,
      status: 'ok',
      findings: [],
      chain: [],
      durationMs: 1,
    };
    assert.equal(result(base), true);
    assert.equal(result({ ...base, surprise: 1 }), false);
    assert.equal(result({ ...base, status: 'fine' }), false);
    assert.equal(
      result({ ...base, findings: [{ code: 'no-such-code', severity: 'info', message: '' }] }),
      false,
    );
    assert.equal(
      result({ ...base, findings: [{ code: 'custom:mine', severity: 'info', message: '' }] }),
      true,
    );
  });
});
