import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { issue, type LabChain, makeChain, x509 } from '../src/lab/pki.js';
import type { VerifyOptions } from '../src/verify/options.js';
import { verifyCertificate } from '../src/verify/verify.js';

const codes = (r: { findings: readonly { code: string; severity: string }[] }) =>
  r.findings.filter((f) => f.severity === 'critical').map((f) => f.code);

describe('verifyCertificate on generated chains', () => {
  let ec: LabChain;
  let rsa: LabChain;
  before(async () => {
    ec = await makeChain({ names: ['www.example.test', '192.0.2.10'] });
    rsa = await makeChain({ names: ['rsa.example.test'], keyType: 'rsa-2048' });
  });

  const base = (c: LabChain, extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
    leaf: c.leaf.parsed,
    intermediates: [c.intermediate.parsed],
    anchors: [c.root.parsed],
    time: Date.now(),
    ...extra,
  });

  test('a good ECDSA chain validates with the path leaf → intermediate → root', () => {
    const r = verifyCertificate(base(ec, { expectedNames: [{ kind: 'dns', value: 'www.example.test' }] }));
    assert.equal(r.valid, true, JSON.stringify(r.findings));
    assert.equal(r.path.length, 3);
    assert.equal(r.path[0]!.sha256, ec.leaf.parsed.sha256);
    assert.equal(r.path[1]!.sha256, ec.intermediate.parsed.sha256);
    assert.equal(r.path[2]!.sha256, ec.root.parsed.sha256);
    assert.equal(r.anchored, true);
  });

  test('a good RSA chain validates', () => {
    const r = verifyCertificate(base(rsa, { expectedNames: [{ kind: 'dns', value: 'RSA.example.test.' }] }));
    assert.equal(r.valid, true, JSON.stringify(r.findings));
  });

  test('IP identities match only iPAddress SANs', () => {
    assert.equal(
      verifyCertificate(base(ec, { expectedNames: [{ kind: 'ip', value: '192.0.2.10' }] })).valid,
      true,
    );
    const r = verifyCertificate(base(ec, { expectedNames: [{ kind: 'ip', value: '192.0.2.11' }] }));
    assert.deepEqual(codes(r), ['hostname-mismatch']);
    assert.match(r.findings[0]!.message, /192\.0\.2\.11/);
  });

  test('a wrong host name is reported with the names the certificate has', () => {
    const r = verifyCertificate(base(ec, { expectedNames: [{ kind: 'dns', value: 'other.example.test' }] }));
    assert.equal(r.valid, false);
    const f = r.findings.find((x) => x.code === 'hostname-mismatch');
    assert.ok(f);
    assert.match(f.message, /other\.example\.test/);
    assert.match(f.message, /www\.example\.test/);
  });

  test('a missing intermediate gives untrusted, naming the issuer', () => {
    const r = verifyCertificate({ ...base(ec), intermediates: [] });
    assert.equal(r.valid, false);
    assert.deepEqual(codes(r), ['untrusted']);
    assert.match(r.findings[0]!.message, /certvet Test Intermediate/);
  });

  test('an expired leaf and an expired intermediate are both reported (every problem, not the first)', () => {
    const r = verifyCertificate(base(ec, { time: Date.now() + 4000 * 86400_000 }));
    const expired = r.findings.filter((f) => f.code === 'expired').map((f) => f.certIndex);
    assert.ok(expired.includes(0));
    assert.ok(expired.includes(1));
    assert.ok(expired.includes(2));
  });

  test('validity is inclusive and compared at one-second granularity', () => {
    const na = ec.leaf.parsed.notAfter.seconds * 1000;
    assert.equal(verifyCertificate(base(ec, { time: na + 999 })).valid, true);
    assert.deepEqual([...new Set(codes(verifyCertificate(base(ec, { time: na + 1000 }))))], ['expired']);
    const nb = ec.leaf.parsed.notBefore.seconds * 1000;
    assert.equal(verifyCertificate(base(ec, { time: nb })).valid, true);
    assert.deepEqual([...new Set(codes(verifyCertificate(base(ec, { time: nb - 1 }))))], ['not-yet-valid']);
  });

  test('a self-signed leaf that is not trusted is self-signed, and trusted directly it validates', async () => {
    const ss = await issue({ subject: 'CN=self.example.test', dns: ['self.example.test'] });
    const r = verifyCertificate({ leaf: ss.parsed, anchors: [ec.root.parsed], time: Date.now() });
    assert.deepEqual(codes(r), ['self-signed']);
    const t = verifyCertificate({
      leaf: ss.parsed,
      anchors: [ss.parsed],
      time: Date.now(),
      expectedNames: [{ kind: 'dns', value: 'self.example.test' }],
    });
    assert.equal(t.valid, true, JSON.stringify(t.findings));
  });

  test('an intermediate that is not a CA cannot issue', async () => {
    const notCa = await issue({
      subject: 'CN=Not A CA',
      issuer: ec.root,
      ca: false,
      keyUsage: x509.KeyUsageFlags.digitalSignature,
      eku: [],
    });
    const leaf = await issue({ subject: 'CN=x.example.test', dns: ['x.example.test'], issuer: notCa });
    const r = verifyCertificate({
      leaf: leaf.parsed,
      intermediates: [notCa.parsed],
      anchors: [ec.root.parsed],
      time: Date.now(),
    });
    assert.ok(codes(r).includes('basic-constraints'));
    assert.ok(codes(r).includes('key-usage'));
  });

  test('a forged signature is invalid-signature', async () => {
    const other = await issue({
      subject: 'CN=certvet Test Intermediate,O=certvet',
      ca: true,
      issuer: ec.root,
    });
    // Same issuer name, different key, and no key identifiers to tell them apart: the only
    // candidate issuer is the impostor, and the leaf's signature does not verify with its key.
    const leaf = await issue({
      subject: 'CN=y.example.test',
      dns: ['y.example.test'],
      issuer: ec.intermediate,
      omitKeyIds: true,
    });
    const r = verifyCertificate({
      leaf: leaf.parsed,
      intermediates: [other.parsed],
      anchors: [ec.root.parsed],
      time: Date.now(),
      conformance: 'warn', // the leaf's missing AKI is a profile matter, not the point here
    });
    assert.equal(r.valid, false);
    assert.deepEqual(
      r.findings.filter((f) => f.severity === 'critical').map((f) => [f.code, f.certIndex]),
      [['invalid-signature', 0]],
    );
    // With an AKI naming the real key, the impostor is no candidate at all: untrusted.
    const withAki = await issue({
      subject: 'CN=z.example.test',
      dns: ['z.example.test'],
      issuer: ec.intermediate,
    });
    const u = verifyCertificate({
      leaf: withAki.parsed,
      intermediates: [other.parsed],
      anchors: [ec.root.parsed],
      time: Date.now(),
    });
    assert.deepEqual(codes(u), ['untrusted']);
  });

  test('the serverAuth purpose rejects a clientAuth-only leaf, and clientAuth accepts it', async () => {
    const leaf = await issue({
      subject: 'CN=client',
      emails: ['alice@example.test'],
      issuer: ec.intermediate,
      eku: ['clientAuth'],
    });
    const o = {
      leaf: leaf.parsed,
      intermediates: [ec.intermediate.parsed],
      anchors: [ec.root.parsed],
      time: Date.now(),
    };
    assert.deepEqual(codes(verifyCertificate(o)), ['eku']);
    const r = verifyCertificate({
      ...o,
      purpose: 'clientAuth',
      expectedNames: [{ kind: 'email', value: 'alice@example.test' }],
    });
    assert.equal(r.valid, true, JSON.stringify(r.findings));
  });

  test('SHA-1 signatures below the anchor are weak-signature; RSA-1024 keys are weak-key', async () => {
    const root = await issue({ subject: 'CN=RSA Root', ca: true, keyType: 'rsa-2048' });
    const weak = await issue({
      subject: 'CN=weak.example.test',
      dns: ['weak.example.test'],
      issuer: root,
      keyType: 'rsa-1024',
      hash: 'SHA-1',
    });
    const r = verifyCertificate({ leaf: weak.parsed, anchors: [root.parsed], time: Date.now() });
    assert.ok(codes(r).includes('weak-signature'));
    assert.ok(codes(r).includes('weak-key'));
  });

  test('profile deviations are warnings when conformance is "warn"', async () => {
    const leaf = await issue({
      subject: 'CN=z.example.test',
      dns: ['z.example.test'],
      issuer: ec.intermediate,
      serialNumber: `01${'00'.repeat(20)}`,
    });
    const o = {
      leaf: leaf.parsed,
      intermediates: [ec.intermediate.parsed],
      anchors: [ec.root.parsed],
      time: Date.now(),
    };
    assert.ok(codes(verifyCertificate(o)).includes('profile-violation'));
    const lenient = verifyCertificate({ ...o, conformance: 'warn' });
    assert.equal(lenient.valid, true);
    assert.ok(lenient.findings.some((f) => f.code === 'profile-violation' && f.severity === 'warning'));
  });

  test('an issuer of the right name whose subjectKeyIdentifier is not the key the authorityKeyIdentifier names is not taken, and the finding says so', async () => {
    const leaf = await issue({
      subject: 'CN=k.example.test',
      dns: ['k.example.test'],
      issuer: ec.intermediate,
      omitKeyIds: true,
      extensions: [new x509.AuthorityKeyIdentifierExtension('ab'.repeat(20))],
    });
    const r = verifyCertificate({ ...base(ec), leaf: leaf.parsed });
    assert.equal(r.valid, false);
    const untrusted = r.findings.find((f) => f.code === 'untrusted');
    assert.ok(untrusted, JSON.stringify(r.findings));
    assert.match(
      untrusted.message,
      /a certificate of that name is known, but its subjectKeyIdentifier \([0-9A-F]+\) is not the key the authorityKeyIdentifier names \((AB){20}\)/,
    );
    // Without the contradicting identifier the same chain validates: the name and signature are right.
    const plain = await issue({
      subject: 'CN=k.example.test',
      dns: ['k.example.test'],
      issuer: ec.intermediate,
    });
    assert.equal(verifyCertificate({ ...base(ec), leaf: plain.parsed }).valid, true);
    // A missing issuer still reads as before.
    const orphan = verifyCertificate({ ...base(ec), intermediates: [] });
    assert.match(orphan.findings.find((f) => f.code === 'untrusted')!.message, /the chain is incomplete/);
  });

  test('the 20-octet serial limit is on the value: a positive 20-octet serial with its top bit set (21 DER bytes) conforms, 21 octets do not (RFC 5280 §4.1.2.2)', async () => {
    const serialOf = async (hex: string) => {
      const leaf = await issue({
        subject: 'CN=s.example.test',
        dns: ['s.example.test'],
        issuer: ec.intermediate,
        serialNumber: hex,
      });
      return {
        der: leaf.parsed.serial.length,
        r: verifyCertificate({ ...base(ec), leaf: leaf.parsed, profile: 'webpki' }),
      };
    };
    const twenty = await serialOf(`c1${'5a'.repeat(19)}`);
    assert.equal(twenty.der, 21, 'encoded with a 0x00 sign byte');
    assert.equal(twenty.r.valid, true, JSON.stringify(twenty.r.findings));
    assert.deepEqual(twenty.r.findings, []);
    const twentyOne = await serialOf(`c1${'5a'.repeat(20)}`);
    assert.equal(twentyOne.der, 22);
    assert.ok(
      twentyOne.r.findings.some((f) => f.code === 'profile-violation' && /21-octet serial/.test(f.message)),
      JSON.stringify(twentyOne.r.findings),
    );
  });
  test('webpki: a CA issuing TLS certificates carries no EKU a server certificate may not (BR 7.1.2.10.6); subscriber keyUsage by key type (BR 7.1.2.7.11)', async () => {
    const EKU = {
      serverAuth: '1.3.6.1.5.5.7.3.1',
      clientAuth: '1.3.6.1.5.5.7.3.2',
      codeSigning: '1.3.6.1.5.5.7.3.3',
      any: '2.5.29.37.0',
      precert: '1.3.6.1.4.1.11129.2.4.4',
    };
    const KU = x509.KeyUsageFlags;
    const judge = async (icaEku: string[] | null, leaf: { keyUsage?: number; keyType?: 'rsa-2048' } = {}) => {
      const ica = await issue({
        subject: 'CN=Issuing CA',
        ca: true,
        issuer: ec.root,
        ...(icaEku ? { eku: icaEku } : {}),
      });
      const l = await issue({
        subject: 'CN=w.example.test',
        dns: ['w.example.test'],
        issuer: ica,
        eku: [EKU.serverAuth],
        ...leaf,
      });
      const r = verifyCertificate({
        leaf: l.parsed,
        intermediates: [ica.parsed],
        anchors: [ec.root.parsed],
        time: Date.now(),
        profile: 'webpki',
        expectedNames: [{ kind: 'dns', value: 'w.example.test' }],
      });
      return { valid: r.valid, messages: r.findings.map((f) => `${f.code}: ${f.message}`).join('; ') };
    };
    for (const ok of [null, [EKU.serverAuth], [EKU.serverAuth, EKU.clientAuth]])
      assert.equal((await judge(ok)).valid, true, String(ok));
    for (const [bad, name] of [
      [EKU.codeSigning, 'codeSigning'],
      [EKU.any, 'anyExtendedKeyUsage'],
      [EKU.precert, '1.3.6.1.4.1.11129.2.4.4'],
    ] as const) {
      const r = await judge([EKU.serverAuth, bad]);
      assert.equal(r.valid, false, name);
      assert.ok(
        r.messages.includes(
          `extKeyUsage contains ${name}, which a CA issuing TLS server certificates must not`,
        ),
        r.messages,
      );
    }
    assert.equal((await judge(null, { keyUsage: KU.digitalSignature | KU.keyAgreement })).valid, true);
    const noDs = await judge(null, { keyUsage: KU.keyAgreement });
    assert.match(noDs.messages, /keyUsage lacks digitalSignature, which an ECC key must assert/);
    const ecKe = await judge(null, { keyUsage: KU.digitalSignature | KU.keyEncipherment });
    assert.match(ecKe.messages, /keyUsage asserts keyEncipherment, which a subscriber ECC key must not/);
    assert.equal(
      (await judge(null, { keyType: 'rsa-2048', keyUsage: KU.digitalSignature | KU.keyEncipherment })).valid,
      true,
    );
    // dataEncipherment is permitted for RSA (NOT RECOMMENDED); nonRepudiation is not.
    assert.equal(
      (await judge(null, { keyType: 'rsa-2048', keyUsage: KU.digitalSignature | KU.dataEncipherment })).valid,
      true,
    );
    const rsaNr = await judge(null, {
      keyType: 'rsa-2048',
      keyUsage: KU.digitalSignature | KU.nonRepudiation,
    });
    assert.match(rsaNr.messages, /keyUsage asserts nonRepudiation, which a subscriber RSA key must not/);
    const rsaKa = await judge(null, { keyType: 'rsa-2048', keyUsage: KU.digitalSignature | KU.keyAgreement });
    assert.match(rsaKa.messages, /keyUsage asserts keyAgreement, which a subscriber RSA key must not/);
  });

  test('webpki: the BR keyUsage rule is for server certificates; a cross-certificate may carry anyExtendedKeyUsage alone (BR 7.1.2.2.4)', async () => {
    const KU = x509.KeyUsageFlags;
    const client = await issue({
      subject: 'CN=client',
      issuer: ec.intermediate,
      eku: ['1.3.6.1.5.5.7.3.2'],
      keyUsage: KU.digitalSignature | KU.nonRepudiation,
    });
    const asClient = verifyCertificate({
      leaf: client.parsed,
      intermediates: [ec.intermediate.parsed],
      anchors: [ec.root.parsed],
      time: Date.now(),
      profile: 'webpki',
      purpose: 'clientAuth',
    });
    assert.ok(
      !asClient.findings.some((f) => /7\.1\.2\.7\.11/.test(f.message)),
      JSON.stringify(asClient.findings),
    );
    // root → cross-certified CA (anyExtendedKeyUsage only) → issuing CA (serverAuth) → leaf
    const cross = await issue({ subject: 'CN=Cross CA', ca: true, issuer: ec.root, eku: ['2.5.29.37.0'] });
    const ica = await issue({ subject: 'CN=TLS CA', ca: true, issuer: cross, eku: ['1.3.6.1.5.5.7.3.1'] });
    const leaf = await issue({
      subject: 'CN=x.example.test',
      dns: ['x.example.test'],
      issuer: ica,
      eku: ['1.3.6.1.5.5.7.3.1'],
    });
    const r = verifyCertificate({
      leaf: leaf.parsed,
      intermediates: [ica.parsed, cross.parsed],
      anchors: [ec.root.parsed],
      time: Date.now(),
      profile: 'webpki',
      expectedNames: [{ kind: 'dns', value: 'x.example.test' }],
    });
    assert.equal(r.valid, true, JSON.stringify(r.findings));
  });

  test('pathological cross-signed meshes finish within the budget', async () => {
    // 12 CAs with the same two names, all cross-signing each other: many paths, no anchor.
    const a0 = await issue({ subject: 'CN=Mesh A', ca: true });
    const b0 = await issue({ subject: 'CN=Mesh B', ca: true });
    const mesh = [];
    for (let i = 0; i < 6; i++) {
      mesh.push(await issue({ subject: 'CN=Mesh A', ca: true, issuer: b0, key: a0.key }));
      mesh.push(await issue({ subject: 'CN=Mesh B', ca: true, issuer: a0, key: b0.key }));
    }
    const leaf = await issue({ subject: 'CN=mesh.example.test', dns: ['mesh.example.test'], issuer: a0 });
    const t0 = performance.now();
    const r = verifyCertificate({
      leaf: leaf.parsed,
      intermediates: mesh.map((m) => m.parsed),
      anchors: [ec.root.parsed],
      time: Date.now(),
    });
    assert.equal(r.valid, false);
    assert.deepEqual(codes(r), ['untrusted']);
    assert.ok(performance.now() - t0 < 5000);
  });
});

describe('signature algorithms', () => {
  for (const keyType of ['rsa-pss-2048', 'ed25519', 'ec-p384'] as const) {
    test(`${keyType} chains verify, and a tampered signature does not`, async () => {
      const c = await makeChain({ names: ['alg.example.test'], keyType });
      const opts = {
        leaf: c.leaf.parsed,
        intermediates: [c.intermediate.parsed],
        anchors: [c.root.parsed],
        time: Date.now(),
      };
      const r = verifyCertificate(opts);
      assert.equal(r.valid, true, `${c.leaf.parsed.signatureAlgorithm.name}: ${JSON.stringify(r.findings)}`);
      const { parseCertificate } = await import('../src/x509/certificate.js');
      const der = new Uint8Array(c.leaf.der);
      der[der.length - 3]! ^= 0x01;
      const bad = verifyCertificate({ ...opts, leaf: parseCertificate(der) });
      assert.ok(bad.findings.some((f) => f.code === 'invalid-signature'));
    });
  }
});
