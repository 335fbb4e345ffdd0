/*
 * Fail-closed rules of the verification core (issue 8): EKU chaining in every profile, work
 * budgets that bound the work, the path-length cap, trust anchors trusted for their name and
 * key, and the peer chain's leaf. Everything here is generated in the test or taken from
 * Node's bundled Mozilla store.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { rootCertificates } from 'node:tls';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints } from '@peculiar/asn1-x509';
import { evaluateObservation } from '../src/check/checkObservation.js';
import { generateKey, type IssuedCert, issue, makeChain, x509 } from '../src/lab/pki.js';
import { createClientCertVerifier } from '../src/mtls/verifier.js';
import type { Observation } from '../src/probe/observation.js';
import { MAX_PATH_CERTIFICATES, type Profile } from '../src/verify/options.js';
import { verifyCertificate } from '../src/verify/verify.js';
import { parseCertificate } from '../src/x509/certificate.js';

const codes = (fs: readonly { code: string }[]) => fs.map((f) => f.code);

describe('EKU chaining applies in every profile', () => {
  const purposes = [
    { purpose: 'serverAuth', leafEku: 'serverAuth', wrongCa: ['emailProtection'], otherCa: ['clientAuth'] },
    { purpose: 'clientAuth', leafEku: 'clientAuth', wrongCa: ['emailProtection'], otherCa: ['serverAuth'] },
  ] as const;
  for (const p of purposes)
    for (const profile of ['rfc5280', 'webpki'] as Profile[])
      test(`${p.purpose}, ${profile}: an e-mail-only or ${p.otherCa[0]}-only intermediate cannot issue; anyExtendedKeyUsage can`, async () => {
        const root = await issue({ subject: 'CN=EKU Root', ca: true });
        for (const [caEku, ok] of [
          [p.wrongCa, false],
          [p.otherCa, false],
          [['any'], true],
          [[p.leafEku], true],
          [[], true],
        ] as const) {
          const intermediate = await issue({ subject: 'CN=EKU Sub CA', ca: true, issuer: root, eku: caEku });
          const leaf = await issue({
            subject: 'CN=eku.example.test',
            issuer: intermediate,
            dns: ['eku.example.test'],
            eku: [p.leafEku],
          });
          const r = verifyCertificate({
            leaf: leaf.parsed,
            intermediates: [intermediate.parsed],
            anchors: [root.parsed],
            time: Date.now(),
            profile,
            purpose: p.purpose,
          });
          // EKU chaining (a trust rule) is what this test is about; the webpki profile also
          // forbids anyExtendedKeyUsage in a CA issuing TLS certificates (BR 7.1.2.10.6).
          const brRule = /which a CA issuing TLS server certificates must not/;
          const eku = r.findings.filter((f) => f.code === 'eku' && !brRule.test(f.message));
          if (profile === 'webpki' && p.purpose === 'serverAuth' && caEku.join() === 'any')
            assert.ok(r.findings.some((f) => f.code === 'eku' && brRule.test(f.message)));
          if (ok) assert.deepEqual(eku, [], `CA EKU ${caEku.join(',') || '(none)'}`);
          else {
            assert.equal(r.valid, false, `CA EKU ${caEku.join(',')} must not issue for ${p.purpose}`);
            assert.equal(eku.length, 1);
            assert.equal(eku[0]!.severity, 'critical');
            assert.equal(eku[0]!.certIndex, 1);
            assert.match(eku[0]!.message, /restricts its extKeyUsage to .* which excludes/);
          }
        }
      });

  test('the mTLS verifier refuses clients issued under an e-mail-only or a server-only sub-CA', async () => {
    const root = await issue({ subject: 'CN=mTLS EKU Root', ca: true });
    const verifier = createClientCertVerifier({ ca: root.pem });
    for (const caEku of [['emailProtection'], ['serverAuth']]) {
      const sub = await issue({ subject: 'CN=Restricted Sub CA', ca: true, issuer: root, eku: caEku });
      const client = await issue({ subject: 'CN=client', issuer: sub, eku: ['clientAuth'] });
      const v = await verifier.verifyChain([client.der, sub.der]);
      assert.equal(v.ok, false, `a client under a ${caEku[0]}-only sub-CA`);
      assert.ok(
        v.findings.some((f) => f.code === 'eku' && f.severity === 'critical' && f.certIndex === 1),
        JSON.stringify(v.findings),
      );
    }
    const open = await issue({ subject: 'CN=Open Sub CA', ca: true, issuer: root });
    const client = await issue({ subject: 'CN=client', issuer: open, eku: ['clientAuth'] });
    assert.equal((await verifier.verifyChain([client.der, open.der])).ok, true);
  });
});

describe('path-building budgets are charged before the work', () => {
  test('1,500 CAs sharing one name: at most the signature budget is spent', async () => {
    const root = await issue({ subject: 'CN=Budget Root', ca: true });
    const sharedKey = await generateKey();
    // The real issuer is the last one: every impostor is a candidate (no key identifiers).
    const impostors: IssuedCert[] = [];
    for (let i = 0; i < 1500; i++)
      impostors.push(await issue({ subject: 'CN=Same Name CA', ca: true, issuer: root, omitKeyIds: true }));
    const real = await issue({
      subject: 'CN=Same Name CA',
      ca: true,
      issuer: root,
      key: sharedKey,
      omitKeyIds: true,
    });
    const leaf = await issue({ subject: 'CN=leaf', issuer: real, dns: ['leaf.test'], omitKeyIds: true });
    for (const budget of [16, 256]) {
      const r = verifyCertificate({
        leaf: leaf.parsed,
        intermediates: [...impostors.map((c) => c.parsed), real.parsed],
        anchors: [root.parsed],
        time: Date.now(),
        budget: { signatureChecks: budget },
        shareSignatureResults: false,
      });
      assert.ok(
        r.stats.signatureChecks <= budget,
        `${r.stats.signatureChecks} checks against a budget of ${budget}`,
      );
      assert.equal(r.stats.budgetExhausted, true);
      assert.equal(r.valid, false);
      assert.ok(codes(r.findings).includes('budget-exceeded'), JSON.stringify(codes(r.findings)));
    }
  });

  test('a cross-signed mesh: signature checks and build steps stay within their budgets', async () => {
    // depth 6, 4 CAs per level, each certified by every CA of the level above: 4^6 paths.
    const k = 4;
    const depth = 6;
    const keys = await Promise.all(Array.from({ length: depth * k }, () => generateKey()));
    let above: IssuedCert[] = [];
    for (let j = 0; j < k; j++)
      above.push(
        await issue({
          subject: `CN=Mesh L${depth}`,
          ca: true,
          key: keys[(depth - 1) * k + j]!,
          omitKeyIds: true,
        }),
      );
    const all: IssuedCert[] = [...above];
    for (let level = depth - 1; level >= 1; level--) {
      const here: IssuedCert[] = [];
      for (let j = 0; j < k; j++)
        for (const parent of above) {
          const c = await issue({
            subject: `CN=Mesh L${level}`,
            ca: true,
            issuer: parent,
            key: keys[(level - 1) * k + j]!,
            omitKeyIds: true,
          });
          here.push(c);
          all.push(c);
        }
      above = here.filter((_, i) => i % k === 0);
    }
    const leaf = await issue({
      subject: 'CN=mesh leaf',
      issuer: above[0]!,
      dns: ['mesh.test'],
      omitKeyIds: true,
    });
    const untrustedRoot = await issue({ subject: 'CN=Unrelated Root', ca: true });
    for (const budget of [{ signatureChecks: 64 }, { buildSteps: 100 }, {}]) {
      const r = verifyCertificate({
        leaf: leaf.parsed,
        intermediates: all.map((c) => c.parsed),
        anchors: [untrustedRoot.parsed],
        time: Date.now(),
        budget,
        shareSignatureResults: false,
      });
      assert.equal(r.valid, false);
      if (budget.signatureChecks || budget.buildSteps) {
        assert.equal(r.stats.budgetExhausted, true);
        assert.ok(codes(r.findings).includes('budget-exceeded'), JSON.stringify(codes(r.findings)));
      }
      assert.ok(r.stats.signatureChecks <= (budget.signatureChecks ?? 256), JSON.stringify(r.stats));
      assert.ok(r.stats.buildSteps <= (budget.buildSteps ?? 4096) + 1, JSON.stringify(r.stats));
    }
  });

  test('a chain longer than the hard cap says path-too-long, naming the cap', async () => {
    const root = await issue({ subject: 'CN=Deep Root', ca: true });
    let parent = root;
    const intermediates: IssuedCert[] = [];
    for (let i = 0; i < MAX_PATH_CERTIFICATES + 2; i++) {
      parent = await issue({ subject: `CN=Deep CA ${i}`, ca: true, issuer: parent });
      intermediates.push(parent);
    }
    const leaf = await issue({ subject: 'CN=deep.test', issuer: parent, dns: ['deep.test'] });
    const r = verifyCertificate({
      leaf: leaf.parsed,
      intermediates: intermediates.map((c) => c.parsed),
      anchors: [root.parsed],
      time: Date.now(),
    });
    assert.equal(r.valid, false);
    const f = r.findings.find((x) => x.code === 'path-too-long');
    assert.ok(f, JSON.stringify(codes(r.findings)));
    assert.match(f.message, new RegExp(`limit of ${MAX_PATH_CERTIFICATES} certificates`));
    assert.ok(!codes(r.findings).includes('untrusted'), 'not "incomplete chain or untrusted root"');
  });
});

describe('name-constraint checking has a comparison budget', () => {
  const ncExtension = (subtrees: GeneralSubtree[], excluded: boolean) =>
    new x509.Extension(
      '2.5.29.30',
      true,
      AsnConvert.serialize(
        new NameConstraints(
          excluded
            ? { excludedSubtrees: new GeneralSubtrees(subtrees) }
            : { permittedSubtrees: new GeneralSubtrees(subtrees) },
        ),
      ),
    );

  for (const excluded of [true, false])
    test(`a root with 2,048 ${excluded ? 'excluded' : 'permitted'} constraints over a leaf with 2,048 SANs and 2,048 subject attributes: budget-exceeded, quickly`, async () => {
      const subtrees = Array.from(
        { length: 2048 },
        (_, i) => new GeneralSubtree({ base: new GeneralName({ rfc822Name: `n${i}.constraint.example` }) }),
      );
      const root = await issue({
        subject: 'CN=Constrained Root',
        ca: true,
        extensions: [ncExtension(subtrees, excluded)],
      });
      const subject = Array.from({ length: 2048 }, (_, i) => `E=a${i}@subject.example`).join(', ');
      const leaf = await issue({
        subject: `${subject}, CN=nc-dos.example`,
        issuer: root,
        emails: Array.from({ length: 2048 }, (_, i) => `b${i}@san.example`),
      });
      const t0 = performance.now();
      const r = verifyCertificate({
        leaf: leaf.parsed,
        anchors: [root.parsed],
        time: Date.now(),
        purpose: 'any',
      });
      const ms = performance.now() - t0;
      assert.equal(r.valid, false);
      const f = r.findings.find((x) => x.code === 'budget-exceeded');
      assert.ok(f, JSON.stringify(codes(r.findings).slice(0, 5)));
      assert.match(f.message, /budget of 250000 comparisons/);
      // A bound on a hang, not a benchmark: without the budget this is ~8 million comparisons.
      assert.ok(ms < 2000, `verification took ${ms.toFixed(0)} ms`);
    });

  test('case variants of one excluded subtree over many names: the work and the findings stay bounded', async () => {
    const base = 'abcdefghijklmnop.example';
    const variant = (i: number) =>
      [...base].map((ch, k) => (k < 16 && (i >> k) & 1 ? ch.toUpperCase() : ch)).join('');
    const subtrees = Array.from(
      { length: 400 },
      (_, i) => new GeneralSubtree({ base: new GeneralName({ dNSName: variant(i) }) }),
    );
    const root = await issue({
      subject: 'CN=Attacker Root',
      ca: true,
      extensions: [ncExtension(subtrees, true)],
    });
    const leaf = await issue({
      subject: 'CN=x',
      issuer: root,
      dns: Array.from({ length: 400 }, (_, i) => `h${i}.${base}`),
    });
    for (const anchors of [[], [root.parsed]]) {
      const t0 = performance.now();
      const r = verifyCertificate({
        leaf: leaf.parsed,
        anchors,
        intermediates: [root.parsed],
        time: Date.now(),
      });
      const ms = performance.now() - t0;
      assert.equal(r.valid, false);
      assert.ok(r.findings.length <= 60, `${r.findings.length} findings`);
      assert.ok(r.findings.some((f) => f.code === 'name-constraints'));
      // A bound on a hang (before: 400 × 400 uncharged hits took minutes).
      assert.ok(ms < 2000, `verification took ${ms.toFixed(0)} ms`);
    }
  });

  test('many violations within the budget: summarised, not one finding each', async () => {
    const subtrees = Array.from(
      { length: 300 },
      (_, i) => new GeneralSubtree({ base: new GeneralName({ rfc822Name: `d${i}.example` }) }),
    );
    const root = await issue({
      subject: 'CN=Mail Root',
      ca: true,
      extensions: [ncExtension(subtrees, false)],
    });
    const leaf = await issue({
      subject: 'CN=m',
      issuer: root,
      emails: Array.from({ length: 300 }, (_, i) => `u${i}@elsewhere.example`),
    });
    const t0 = performance.now();
    const r = verifyCertificate({
      leaf: leaf.parsed,
      anchors: [root.parsed],
      time: Date.now(),
      purpose: 'any',
    });
    assert.ok(performance.now() - t0 < 2000);
    const nc = r.findings.filter((f) => f.code === 'name-constraints');
    assert.equal(nc.length, 51);
    assert.match(nc[50]!.message, /and 250 more name-constraint violations/);
  });

  test('an ordinary constrained chain stays well inside the budget', async () => {
    const subtrees = [new GeneralSubtree({ base: new GeneralName({ dNSName: 'corp.example' }) })];
    const root = await issue({
      subject: 'CN=Corp Root',
      ca: true,
      extensions: [ncExtension(subtrees, false)],
    });
    const leaf = await issue({
      subject: 'CN=a.corp.example',
      issuer: root,
      dns: Array.from({ length: 500 }, (_, i) => `h${i}.corp.example`),
    });
    const r = verifyCertificate({ leaf: leaf.parsed, anchors: [root.parsed], time: Date.now() });
    assert.equal(r.valid, true, JSON.stringify(r.findings));
  });
});

describe('trust anchors are trusted for their name, key and constraints, not judged for their encoding', () => {
  const roots = rootCertificates.map((pem) => ({ pem, x: new X509Certificate(pem) }));

  test('every root of Node’s bundled Mozilla store: no profile finding against the anchor, in either profile', async () => {
    const signer = await generateKey();
    const problems: string[] = [];
    for (const { pem, x } of roots) {
      const anchor = parseCertificate(new Uint8Array(x.raw));
      // A leaf naming the root as its issuer (signed by another key: its own signature fails,
      // which is reported on the leaf; the anchor's findings are what this test is about).
      const leaf = await issue({
        subject: 'CN=anchor-test.example',
        issuerName: new x509.Name(new x509.X509Certificate(pem).subjectName.toArrayBuffer()),
        issuer: { key: signer } as IssuedCert,
        dns: ['anchor-test.example'],
        omitKeyIds: true,
      });
      for (const profile of ['rfc5280', 'webpki'] as Profile[]) {
        const r = verifyCertificate({ leaf: leaf.parsed, anchors: [anchor], time: Date.now(), profile });
        assert.equal(r.anchored, true, `${x.subject}: the path reaches the anchor`);
        for (const f of r.findings)
          if (f.certIndex === 1 && f.code !== 'expired' && f.code !== 'expires-soon')
            problems.push(`${profile} ${x.subject.split('\n').join(', ')}: ${f.code}: ${f.message}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('Starfield Root Certificate Authority - G2 (serial 0) is trusted; a lab root with a 21-octet serial anchors a valid webpki chain', async () => {
    const starfield = roots.find(
      (r) => /Starfield Root Certificate Authority - G2/.test(r.x.subject) && /^0+$/.test(r.x.serialNumber),
    );
    assert.ok(starfield, 'Node’s store carries a root with serial number zero');
    const sf = parseCertificate(new Uint8Array(starfield.x.raw));
    const sfLeaf = await issue({
      subject: 'CN=starfield-test.example',
      issuerName: new x509.Name(new x509.X509Certificate(starfield.pem).subjectName.toArrayBuffer()),
      issuer: { key: await generateKey() } as IssuedCert,
      omitKeyIds: true,
    });
    const lax = verifyCertificate({
      leaf: sfLeaf.parsed,
      anchors: [sf],
      time: Date.now(),
      profile: 'webpki',
    });
    assert.ok(!lax.findings.some((f) => f.certIndex === 1), JSON.stringify(lax.findings));
    const strictSf = verifyCertificate({
      leaf: sfLeaf.parsed,
      anchors: [sf],
      time: Date.now(),
      profile: 'webpki',
      strictAnchors: true,
    });
    assert.ok(
      strictSf.findings.some((f) => f.certIndex === 1 && /serial number zero/.test(f.message)),
      'strict anchors (pyca/cryptography, x509-limbo) do judge it',
    );
    const root = await issue({
      subject: 'CN=Long Serial Root',
      ca: true,
      serialNumber: `7f${'ff'.repeat(20)}`,
    });
    assert.equal(root.parsed.serial.length, 21);
    const intermediate = await issue({ subject: 'CN=Serial Zero Sub', ca: true, issuer: root, pathLen: 0 });
    const leaf = await issue({ subject: 'CN=zero.example', issuer: intermediate, dns: ['zero.example'] });
    const base = {
      leaf: leaf.parsed,
      intermediates: [intermediate.parsed],
      anchors: [root.parsed],
      time: Date.now(),
      profile: 'webpki' as const,
      expectedNames: [{ kind: 'dns' as const, value: 'zero.example' }],
    };
    const r = verifyCertificate(base);
    assert.equal(r.valid, true, JSON.stringify(r.findings));
    assert.deepEqual(r.findings, []);
    // Strict anchors (pyca/cryptography, x509-limbo) do judge it.
    const strict = verifyCertificate({ ...base, strictAnchors: true });
    assert.ok(
      strict.findings.some((f) => f.code === 'profile-violation' && /21-octet serial/.test(f.message)),
    );
    // The anchor's validity and constraints are still enforced.
    const expiredRoot = await issue({
      subject: 'CN=Expired Root',
      ca: true,
      notBefore: new Date(Date.now() - 20 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
    });
    const sub = await issue({ subject: 'CN=Sub', ca: true, issuer: expiredRoot });
    const l2 = await issue({ subject: 'CN=l2.example', issuer: sub, dns: ['l2.example'] });
    const e = verifyCertificate({
      leaf: l2.parsed,
      intermediates: [sub.parsed],
      anchors: [expiredRoot.parsed],
      time: Date.now(),
    });
    assert.ok(e.findings.some((f) => f.code === 'expired' && f.certIndex === 2));
    const mailRoot = await issue({ subject: 'CN=Mail Only Root', ca: true, eku: ['emailProtection'] });
    const l4 = await issue({ subject: 'CN=l4.example', issuer: mailRoot, dns: ['l4.example'] });
    const mr = verifyCertificate({ leaf: l4.parsed, anchors: [mailRoot.parsed], time: Date.now() });
    assert.ok(
      mr.findings.some((f) => f.code === 'eku' && f.certIndex === 1),
      'an anchor restricted to emailProtection does not anchor a server',
    );
    const notCa = await issue({ subject: 'CN=Not A CA Root', ca: false, eku: [] });
    const l3 = await issue({ subject: 'CN=l3.example', issuer: notCa, dns: ['l3.example'] });
    const nc = verifyCertificate({ leaf: l3.parsed, anchors: [notCa.parsed], time: Date.now() });
    assert.ok(nc.findings.some((f) => f.code === 'basic-constraints' && f.certIndex === 1));
  });
});

describe('the peer chain: an unparseable leaf stops verification', () => {
  const observation = (certificates: Uint8Array[]): Observation => ({
    address: '127.0.0.1',
    port: 443,
    servername: 'leaf.example',
    certificates,
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_128_GCM_SHA256',
    alpn: null,
    ocspStaple: null,
    crossCheck: null,
    clientCert: 'not-requested',
    timings: { dnsMs: 0, connectMs: 1, starttlsMs: 0, handshakeMs: 1, totalMs: 2 },
    error: null,
  });
  const policy = (anchors: IssuedCert[]) => ({
    anchors: anchors.map((a) => a.parsed),
    profile: 'rfc5280' as const,
    conformance: 'warn' as const,
    warnDays: 30,
    critDays: 7,
    warnPercent: 0,
  });

  test('a garbled leaf followed by a valid intermediate: malformed-certificate on the leaf, nothing about the intermediate', async () => {
    const c = await makeChain({ names: ['leaf.example'] });
    const garbled = new Uint8Array(c.leaf.der);
    garbled[1] = 0x00; // the outer length no longer matches
    const ev = evaluateObservation(
      { target: 'leaf.example:443', host: 'leaf.example', port: 443 },
      observation([garbled, c.intermediate.der]),
      policy([c.root]),
      new Date(),
    );
    assert.equal(ev.result.status, 'critical');
    assert.deepEqual(codes(ev.result.findings), ['malformed-certificate']);
    assert.equal(ev.result.findings[0]!.certIndex, 0);
    assert.match(
      ev.result.findings[0]!.message,
      /the leaf certificate sent by the server .* cannot be parsed/,
    );
    assert.deepEqual(ev.result.chain, [], 'the intermediate is not described as the leaf');
    assert.equal(ev.anchored, false);
  });

  test('an unparseable extra certificate is reported without a certIndex into the path, and the path is still verified', async () => {
    const c = await makeChain({ names: ['leaf.example'] });
    const ev = evaluateObservation(
      { target: 'leaf.example:443', host: 'leaf.example', port: 443 },
      observation([c.leaf.der, new Uint8Array([0x30, 0x03, 0x02, 0x01]), c.intermediate.der]),
      policy([c.root]),
      new Date(),
    );
    const bad = ev.result.findings.filter((f) => f.code === 'malformed-certificate');
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.certIndex, undefined);
    assert.match(bad[0]!.message, /certificate #1 sent by the server/);
    assert.equal(ev.anchored, true);
    assert.equal(ev.result.chain[0]!.subject, 'CN=leaf.example');
  });
});
