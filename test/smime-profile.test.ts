/*
 * The `smime` profile: the CA/Browser Forum S/MIME Baseline Requirements' extension rules on
 * top of RFC 5280 (src/verify/rules/smime.ts). Each rule is shown on a chain that RFC 5280
 * alone accepts, so the profile is what rejects it; the x509-limbo harness picks the profile
 * from the `smime::` namespace; `certvet verify --profile smime` uses it.
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runLimboCase } from '../scripts/limboCase.js';
import { type CertSpec, type IssuedCert, issue, type LabKey, x509 } from '../src/lab/pki.js';
import type { Profile } from '../src/verify/options.js';
import { subscriberKeyUsageProblem } from '../src/verify/rules/smime.js';
import { verifyCertificate } from '../src/verify/verify.js';
import type { KeyUsageBit } from '../src/x509/extensions.js';
import { OID } from '../src/x509/oids.js';
import type { KeyType } from '../src/x509/publicKey.js';
import { runCli } from './support/cli.js';

const MAILBOX = 'user@example.com';
const TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
const KU = x509.KeyUsageFlags;

let root: IssuedCert;
let rootWithEku: IssuedCert;
let ica: IssuedCert;

/** A subscriber certificate: EC, keyUsage digitalSignature (critical), EKU emailProtection, the mailbox. */
function leafSpec(over: Partial<CertSpec> = {}): CertSpec {
  return {
    subject: `CN=${MAILBOX}`,
    issuer: ica,
    emails: [MAILBOX],
    eku: ['emailProtection'],
    keyUsage: KU.digitalSignature,
    ...over,
  };
}

function verify(
  leaf: IssuedCert,
  o: {
    profile?: Profile;
    via?: IssuedCert;
    anchor?: IssuedCert;
    strictAnchors?: boolean;
    lenient?: boolean;
  } = {},
) {
  const via = o.via ?? ica;
  return verifyCertificate({
    leaf: leaf.parsed,
    intermediates: [via.parsed],
    anchors: [(o.anchor ?? root).parsed],
    time: Date.now(),
    profile: o.profile ?? 'smime',
    conformance: o.lenient ? 'warn' : 'enforce',
    purpose: 'any',
    requiredEku: [OID.emailProtection],
    expectedNames: [{ kind: 'email', value: MAILBOX }],
    strictAnchors: o.strictAnchors ?? false,
  });
}

const summary = (r: ReturnType<typeof verify>) =>
  r.findings.map((f) => `${f.code}: ${f.message}`).join(' | ');

/** Rejected under smime with `code` citing `rule`, accepted under plain RFC 5280. */
function assertOnlySmimeRejects(
  r: ReturnType<typeof verify>,
  plain: ReturnType<typeof verify>,
  code: string,
  rule: string,
) {
  assert.equal(plain.valid, true, `RFC 5280 alone accepts it: ${summary(plain)}`);
  assert.equal(r.valid, false, 'the S/MIME profile rejects it');
  const f = r.findings.find((x) => x.code === code && x.rule?.startsWith(rule));
  assert.ok(f, `a ${code} finding citing ${rule}: ${summary(r)}`);
  assert.equal(f.severity, 'critical');
}

/** Another subordinate CA under the root, with what `over` says (for the CA rules). */
const otherCa = (over: Partial<CertSpec>) =>
  issue({
    subject: 'CN=Other Issuing CA',
    ca: true,
    pathLen: 0,
    issuer: root,
    eku: ['emailProtection'],
    ...over,
  });

/** A conforming mailbox certificate from `via`: refused for `via` under smime only. */
async function assertCaRuleRejects(via: IssuedCert, code: string, rule: string) {
  const leaf = await issue(leafSpec({ issuer: via }));
  assertOnlySmimeRejects(verify(leaf, { via }), verify(leaf, { via, profile: 'rfc5280' }), code, rule);
}

before(async () => {
  root = await issue({ subject: 'CN=S/MIME Test Root', ca: true });
  rootWithEku = await issue({
    subject: 'CN=S/MIME Test Root',
    ca: true,
    key: root.key,
    eku: ['emailProtection'],
  });
  ica = await issue({
    subject: 'CN=S/MIME Test Issuing CA',
    ca: true,
    pathLen: 0,
    issuer: root,
    eku: ['emailProtection', 'clientAuth'],
  });
});

describe('the smime profile', () => {
  test('a conforming chain verifies, for each use of an RSA or ECC key', async () => {
    const uses: [string, CertSpec['keyType'], number][] = [
      ['ECC signing', 'ec-p256', KU.digitalSignature],
      ['ECC signing with nonRepudiation', 'ec-p256', KU.digitalSignature | KU.nonRepudiation],
      ['ECC key management', 'ec-p256', KU.keyAgreement],
      ['ECC dual use', 'ec-p256', KU.digitalSignature | KU.keyAgreement | KU.decipherOnly],
      ['RSA signing', 'rsa-2048', KU.digitalSignature],
      ['RSA key management', 'rsa-2048', KU.keyEncipherment | KU.dataEncipherment],
      ['RSA dual use', 'rsa-2048', KU.digitalSignature | KU.keyEncipherment | KU.nonRepudiation],
      ['Ed25519 signing', 'ed25519', KU.digitalSignature],
    ];
    for (const [what, keyType, keyUsage] of uses) {
      const r = verify(await issue(leafSpec({ keyType, keyUsage })));
      assert.equal(r.valid, true, `${what}: ${summary(r)}`);
      assert.deepEqual(r.findings, [], what);
    }
  });

  test("a subscriber's extKeyUsage: present, without serverAuth, codeSigning, timeStamping or anyExtendedKeyUsage (7.1.2.3 (f))", async () => {
    for (const extra of ['serverAuth', 'codeSigning', TIME_STAMPING, 'any']) {
      const leaf = await issue(leafSpec({ eku: ['emailProtection', extra] }));
      assertOnlySmimeRejects(
        verify(leaf),
        verify(leaf, { profile: 'rfc5280' }),
        'eku',
        'S/MIME BR 7.1.2.3 (f)',
      );
    }
    const none = await issue(leafSpec({ eku: [] }));
    const r = verify(none);
    assertOnlySmimeRejects(r, verify(none, { profile: 'rfc5280' }), 'eku', 'S/MIME BR 7.1.2.3 (f)');
    assert.match(summary(r), /has no extKeyUsage extension/);
  });

  test("a subordinate CA's extKeyUsage: present, without serverAuth, codeSigning, timeStamping or anyExtendedKeyUsage (7.1.2.2 (g))", async () => {
    for (const eku of [
      ['emailProtection', 'serverAuth'],
      ['emailProtection', 'any'],
      ['emailProtection', TIME_STAMPING],
      [],
    ]) {
      await assertCaRuleRejects(await otherCa({ eku }), 'eku', 'S/MIME BR 7.1.2.2 (g)');
    }
  });

  test('a root with an extKeyUsage is refused when anchors are judged (7.1.2.1), and trusted as configured otherwise', async () => {
    const leaf = await issue(leafSpec());
    assert.equal(
      verify(leaf, { anchor: rootWithEku }).valid,
      true,
      'an anchor is trusted out of band by default',
    );
    assertOnlySmimeRejects(
      verify(leaf, { anchor: rootWithEku, strictAnchors: true }),
      verify(leaf, { anchor: rootWithEku, strictAnchors: true, profile: 'rfc5280' }),
      'eku',
      'S/MIME BR 7.1.2.1',
    );
  });

  test("a subscriber's keyUsage: present, by key type, and critical as it should be (7.1.2.3 (e))", async () => {
    const missing = await issue(leafSpec({ keyUsage: 0 }));
    assertOnlySmimeRejects(
      verify(missing),
      verify(missing, { profile: 'rfc5280' }),
      'key-usage',
      'S/MIME BR 7.1.2.3 (e)',
    );
    // "SHOULD be marked critical": a warning, never a rejection, in either conformance mode.
    const notCritical = await issue(
      leafSpec({ keyUsage: 0, extensions: [new x509.KeyUsagesExtension(KU.digitalSignature, false)] }),
    );
    const r = verify(notCritical);
    assert.equal(r.valid, true, summary(r));
    assert.deepEqual(
      r.findings.map((f) => [f.code, f.severity, f.rule]),
      [['key-usage', 'warning', 'S/MIME BR 7.1.2.3 (e)']],
    );
    assert.match(summary(r), /does not mark keyUsage critical \(it should\)/);
    const ecEncipherment = await issue(leafSpec({ keyUsage: KU.digitalSignature | KU.keyEncipherment }));
    assertOnlySmimeRejects(
      verify(ecEncipherment),
      verify(ecEncipherment, { profile: 'rfc5280' }),
      'key-usage',
      'S/MIME BR 7.1.2.3 (e)',
    );
    const certSign = await issue(leafSpec({ keyUsage: KU.digitalSignature | KU.keyCertSign }));
    assert.equal(verify(certSign).valid, false);
    assert.ok(verify(certSign).findings.some((f) => f.rule === 'S/MIME BR 7.1.2.3 (e)'));
  });

  test("a subordinate CA's keyUsage: keyCertSign and cRLSign, digitalSignature at most besides (7.1.2.2 (e))", async () => {
    for (const keyUsage of [KU.keyCertSign, KU.keyCertSign | KU.cRLSign | KU.keyEncipherment])
      await assertCaRuleRejects(await otherCa({ keyUsage }), 'key-usage', 'S/MIME BR 7.1.2.2 (e)');
    const withSigning = await otherCa({ keyUsage: KU.keyCertSign | KU.cRLSign | KU.digitalSignature });
    assert.equal(verify(await issue(leafSpec({ issuer: withSigning })), { via: withSigning }).valid, true);
  });

  test('subjectAltName: present, with a mailbox, critical only with an empty subject (7.1.2.3 (h), 7.1.4.2.1)', async () => {
    const criticalSan = (subject: string) =>
      issue(
        leafSpec({
          subject,
          emails: [],
          extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'email', value: MAILBOX }], true)],
        }),
      );
    const named = await criticalSan(`CN=${MAILBOX}`);
    assertOnlySmimeRejects(
      verify(named),
      verify(named, { profile: 'rfc5280' }),
      'profile-violation',
      'S/MIME BR 7.1.2.3 (h)',
    );
    const anonymous = await criticalSan('');
    const r = verify(anonymous);
    assert.equal(r.valid, true, `an empty subject with a critical SAN conforms: ${summary(r)}`);

    const dnsOnly = await issue(leafSpec({ emails: [], dns: ['mail.example.com'] }));
    const v = verifyCertificate({
      leaf: dnsOnly.parsed,
      intermediates: [ica.parsed],
      anchors: [root.parsed],
      time: Date.now(),
      profile: 'smime',
      purpose: 'any',
      requiredEku: [OID.emailProtection],
    });
    assert.equal(v.valid, false);
    assert.ok(
      v.findings.some((f) => f.rule === 'S/MIME BR 7.1.4.2.1' && /no mailbox address/.test(f.message)),
      summary(v),
    );
  });

  test('keys (6.1.5): RSA moduli a multiple of 8, ECDSA on P-256/P-384/P-521', async () => {
    const pair = (await webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2052,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    )) as unknown as LabKey['pair'];
    const odd = await issue(leafSpec({ key: { type: 'rsa-2048', pair }, keyUsage: KU.digitalSignature }));
    const r = verify(odd);
    assertOnlySmimeRejects(r, verify(odd, { profile: 'rfc5280' }), 'weak-key', 'S/MIME BR 6.1.5');
    assert.match(summary(r), /RSA modulus is 2052 bits, not a multiple of 8/);
    const p384 = await issue(leafSpec({ keyType: 'ec-p384' }));
    assert.equal(verify(p384).valid, true, summary(verify(p384)));
  });

  test('the library: with the smime profile and no purpose, the purpose is email protection', async () => {
    const leaf = await issue(leafSpec());
    const base = {
      leaf: leaf.parsed,
      intermediates: [ica.parsed],
      anchors: [root.parsed],
      time: Date.now(),
      expectedNames: [{ kind: 'email' as const, value: MAILBOX }],
    };
    const r = verifyCertificate({ ...base, profile: 'smime' });
    assert.equal(r.valid, true, summary(r));
    // An explicit purpose still decides (a mailbox certificate is not a TLS server's).
    assert.equal(verifyCertificate({ ...base, profile: 'smime', purpose: 'serverAuth' }).valid, false);
  });

  test('under --lenient the same rules are warnings, and the chain is valid', async () => {
    const leaf = await issue(leafSpec({ eku: ['emailProtection', 'serverAuth'] }));
    const r = verify(leaf, { lenient: true });
    assert.equal(r.valid, true, summary(r));
    assert.ok(
      r.findings.some((f) => f.code === 'eku' && f.severity === 'warning'),
      summary(r),
    );
  });

  test('subscriberKeyUsageProblem: the uses of 7.1.2.3 (e), bit by bit', () => {
    const set = (...b: KeyUsageBit[]) => new Set<KeyUsageBit>(b);
    const ok: [KeyType, KeyUsageBit[]][] = [
      ['rsa', ['digitalSignature']],
      ['rsa', ['digitalSignature', 'nonRepudiation']],
      ['rsa', ['keyEncipherment']],
      ['rsa', ['keyEncipherment', 'dataEncipherment']],
      ['rsa', ['digitalSignature', 'keyEncipherment', 'nonRepudiation', 'dataEncipherment']],
      ['ec', ['keyAgreement', 'encipherOnly']],
      ['ec', ['digitalSignature', 'keyAgreement', 'nonRepudiation']],
      ['ed448', ['digitalSignature', 'nonRepudiation']],
      ['rsa-pss', ['digitalSignature']],
    ];
    for (const [k, bits] of ok)
      assert.equal(subscriberKeyUsageProblem(k, set(...bits)), null, `${k} ${bits}`);
    const bad: [KeyType, KeyUsageBit[], RegExp][] = [
      ['rsa', ['nonRepudiation'], /neither digitalSignature nor keyEncipherment/],
      ['rsa', ['digitalSignature', 'dataEncipherment'], /dataEncipherment without keyEncipherment/],
      ['rsa', ['keyEncipherment', 'nonRepudiation'], /nonRepudiation without digitalSignature/],
      ['rsa', ['digitalSignature', 'keyAgreement'], /asserts keyAgreement, which a subscriber RSA key/],
      ['ec', ['digitalSignature', 'encipherOnly'], /encipherOnly or decipherOnly without keyAgreement/],
      ['ec', ['keyAgreement', 'encipherOnly', 'decipherOnly'], /both encipherOnly and decipherOnly/],
      ['ec', ['digitalSignature', 'keyEncipherment'], /asserts keyEncipherment, which a subscriber ECC key/],
      ['ed25519', ['keyAgreement'], /asserts keyAgreement/],
      ['rsa-pss', ['keyEncipherment'], /asserts keyEncipherment/],
      ['ml-dsa-44', ['digitalSignature', 'cRLSign'], /asserts cRLSign/],
    ];
    for (const [k, bits, re] of bad)
      assert.match(subscriberKeyUsageProblem(k, set(...bits)) ?? 'null', re, `${k} ${bits}`);
  });
});

describe('where the smime profile is used', () => {
  let dir: string;
  let serverAuthLeaf: IssuedCert;
  let goodLeaf: IssuedCert;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'certvet-smime-'));
    serverAuthLeaf = await issue(leafSpec({ eku: ['emailProtection', 'serverAuth'] }));
    goodLeaf = await issue(leafSpec());
    writeFileSync(join(dir, 'root.pem'), root.pem);
    writeFileSync(join(dir, 'ica.pem'), ica.pem);
    writeFileSync(join(dir, 'good.pem'), goodLeaf.pem);
    writeFileSync(join(dir, 'bad.pem'), serverAuthLeaf.pem);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the x509-limbo harness judges smime:: cases by the S/MIME profile, other namespaces by their own', () => {
    const kase = (id: string) =>
      runLimboCase({
        id,
        validation_kind: 'CLIENT',
        trusted_certs: [root.pem],
        untrusted_intermediates: [ica.pem],
        peer_certificate: serverAuthLeaf.pem,
        validation_time: null,
        extended_key_usage: ['emailProtection'],
        expected_peer_names: [{ kind: 'RFC822', value: MAILBOX }],
        expected_result: 'FAILURE',
      });
    const smime = kase('smime::leaf-with-server-auth');
    assert.equal(smime.actual_result, 'FAILURE');
    assert.match(smime.context ?? '', /S\/MIME|serverAuth/);
    assert.equal(kase('rfc5280::leaf-with-server-auth').actual_result, 'SUCCESS');
  });

  test('certvet verify --profile smime checks the mailbox and emailProtection, and reports the profile', async () => {
    const args = (leaf: string) => [
      'verify',
      join(dir, leaf),
      '--chain',
      join(dir, 'ica.pem'),
      '--ca',
      join(dir, 'root.pem'),
    ];
    const good = await runCli([
      ...args('good.pem'),
      '--profile',
      'smime',
      '--email',
      MAILBOX,
      '--format',
      'json',
    ]);
    assert.equal(good.code, 0, good.stderr + good.stdout);
    const report = JSON.parse(good.stdout) as {
      results: { verification: { profile: string }; status: string }[];
    };
    assert.equal(report.results[0]!.verification.profile, 'smime');
    assert.equal(report.results[0]!.status, 'ok');

    const bad = await runCli([...args('bad.pem'), '--profile', 'smime', '--email', MAILBOX]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /serverAuth, which an S\/MIME certificate must not/);
    // The same certificate for another mailbox fails on the name; as a TLS client certificate
    // (RFC 5280, purpose client) it is not an S/MIME question, and the purpose decides.
    const other = await runCli([...args('good.pem'), '--profile', 'smime', '--email', 'other@example.com']);
    assert.notEqual(other.code, 0);
    const asClient = await runCli([...args('good.pem'), '--purpose', 'client', '--email', MAILBOX]);
    assert.notEqual(asClient.code, 0, 'emailProtection is not clientAuth');
    assert.match(asClient.stdout, /clientAuth/);
    const emailPurpose = await runCli([...args('good.pem'), '--purpose', 'email', '--email', MAILBOX]);
    assert.equal(emailPurpose.code, 0, emailPurpose.stdout);
    // A purpose the profile can never pass is a usage error, not a verdict.
    const contradiction = await runCli([...args('good.pem'), '--profile', 'smime', '--purpose', 'server']);
    assert.equal(contradiction.code, 64);
    assert.match(contradiction.stderr, /--profile smime .*--purpose server cannot pass it/);
  });
});
