import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import {
  type ClientCertVerifier,
  clientCertMiddleware,
  createClientCertVerifier,
  createMtlsHttpsServer,
  createMtlsServer,
  createRequestGuard,
  gateServer,
  MtlsConfigError,
} from '../src/index.js';
import { type IssuedCert, issue } from '../src/lab/pki.js';

/**
 * JavaScript callers get no type checking: a misspelt allow-rule key used to be a rule that
 * matched nobody (or, next to a good rule, nothing at all), a misspelt option was ignored. Each
 * is a construction error now, an exported class with a stable code, naming the key.
 */

// Bypasses the compiler, as a JavaScript caller (or a YAML/JSON config) would.
const js = <T>(x: unknown): T => x as T;

function throwsConfig(fn: () => unknown, option: string, text: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MtlsConfigError, `not an MtlsConfigError: ${String(e)}`);
    assert.equal(e.code, 'CERTVET_MTLS_CONFIG');
    assert.equal(e.option, option);
    assert.match(e.message, text);
    return true;
  });
}

describe('mTLS options are validated at run time', () => {
  let root: IssuedCert;
  let verifier: ClientCertVerifier;
  before(async () => {
    root = await issue({ subject: 'CN=Options Root', ca: true });
    verifier = createClientCertVerifier({ ca: root.pem });
  });
  const make = (o: unknown) => () => createClientCertVerifier(js({ ca: root.pem, ...(o as object) }));

  test('an unknown allow-rule key is a construction error naming it', () => {
    throwsConfig(make({ allow: [{ fingerprnt: 'ab'.repeat(32) }] }), 'allow[0].fingerprnt', /fingerprnt/);
    throwsConfig(
      make({ allow: [{ san: '*@example.test' }, { spiffeDomain: 'prod.example' }] }),
      'allow[1].spiffeDomain',
      /unknown allow-rule key "spiffeDomain".*spiffeTrustDomain/,
    );
  });

  test('an allow rule with two keys, no key, a non-string value or a malformed fingerprint is refused', () => {
    throwsConfig(make({ allow: [{ san: 'a', subject: 'b' }] }), 'allow[0]', /exactly one key/);
    throwsConfig(make({ allow: [{}] }), 'allow[0]', /empty rule/);
    throwsConfig(make({ allow: ['*@example.test'] }), 'allow[0]', /expected an object/);
    throwsConfig(make({ allow: [{ san: 42 }] }), 'allow[0].san', /non-empty string/);
    throwsConfig(make({ allow: [{ fingerprint: 'sha256/abc' }] }), 'allow[0].fingerprint', /64 hex/);
    throwsConfig(make({ allow: { san: 'x' } }), 'allow', /array/);
  });

  test('an unknown option key or a value of the wrong type is a construction error naming it', () => {
    throwsConfig(make({ revocaton: 'hard' }), 'revocaton', /unknown key "revocaton"/);
    throwsConfig(make({ revocation: 'strict' }), 'revocation', /"off", "soft", "hard"/);
    throwsConfig(make({ crlMode: 'off' }), 'crlMode', /"soft", "hard"/);
    throwsConfig(make({ profile: 'cabf' }), 'profile', /rfc5280/);
    throwsConfig(make({ crlMode: 'off' }), 'crlMode', /"soft", "hard"/);
    throwsConfig(make({ clock: 1234 }), 'clock', /function/);
    throwsConfig(make({ crls: ['-----BEGIN X509 CRL-----'] }), 'crls[0]', /parsed CRL/);
    throwsConfig(make({ fetchPolicy: { allow: ['ca.example'] } }), 'fetchPolicy', /FetchPolicy/);
    throwsConfig(() => createClientCertVerifier(js({ crls: [] })), 'ca', /required/);
    throwsConfig(() => createClientCertVerifier(js({ ca: [42] })), 'ca[0]', /PEM/);
    throwsConfig(() => createClientCertVerifier(js({ ca: 'not a certificate' })), 'ca', /client CA bundle/);
    throwsConfig(() => createClientCertVerifier(js(null)), 'options', /expected an object/);
  });

  test('update() is validated the same way and leaves the trust unchanged when it throws', async () => {
    const v = createClientCertVerifier({ ca: root.pem });
    throwsConfig(() => v.update(js({ allow: [{ sna: '*' }] })), 'allow[0].sna', /sna/);
    throwsConfig(() => v.update(js({ revocation: 'hard' })), 'revocation', /unknown key/);
    const leaf = await issue({ subject: 'CN=x', issuer: root, eku: ['clientAuth'] });
    assert.equal((await v.verifyChain([leaf.der])).ok, true, 'no allow rule was installed');
  });

  test('server adapter and guard options are validated too', () => {
    throwsConfig(
      () => createMtlsHttpsServer(verifier, {}, undefined, js({ exposeFinding: true })),
      'exposeFinding',
      /unknown key "exposeFinding"/,
    );
    throwsConfig(
      () => createMtlsServer(verifier, {}, undefined, js({ exposeFindings: 'yes' })),
      'exposeFindings',
      /boolean/,
    );
    throwsConfig(
      () => gateServer(createTlsServer({}), verifier, js({ rejection: 'drop' })),
      'rejection',
      /"respond", "close"/,
    );
    throwsConfig(
      () => gateServer(createTlsServer({}), verifier, js({ rejectTimeoutMs: -1 })),
      'rejectTimeoutMs',
      /positive integer/,
    );
    throwsConfig(() => createRequestGuard(verifier, js({ expose: true })), 'expose', /unknown key/);
    throwsConfig(
      () => clientCertMiddleware(verifier, js({ exposeFindings: 1 })),
      'exposeFindings',
      /boolean/,
    );
    throwsConfig(
      () => gateServer(createTlsServer({}), js({ ca: root.pem })),
      'verifier',
      /ClientCertVerifier/,
    );
  });

  test('valid options still construct', () => {
    const v = createClientCertVerifier({
      ca: [root.pem, Buffer.from(root.pem)],
      allow: [
        { fingerprint: root.parsed.sha256.toUpperCase().replace(/(..)(?!$)/g, '$1:') },
        { san: '*@example.test' },
        { subject: 'CN=*' },
        { spiffeTrustDomain: 'prod.example' },
      ],
      revocation: 'soft',
      profile: 'webpki',
      clock: () => Date.now(),
    });
    assert.equal(v.caPem().length, 2);
    v.update({ allow: [] });
  });
});
