import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue, type LabChain, makeChain } from '../src/lab/pki.js';
import { type Crl, parseCrl } from '../src/verify/crl.js';
import { loadCrls } from '../src/verify/loadCrls.js';
import { verifyCertificate } from '../src/verify/verify.js';

const DAY = 86400_000;
async function makeCrl(
  issuer: IssuedCert,
  opts: {
    serials?: string[];
    count?: number;
    number?: number | null;
    thisUpdate?: Date;
    nextUpdate?: Date;
  } = {},
): Promise<Crl> {
  const entries = (opts.serials ?? []).map((serial) => ({
    serial,
    revokedAt: new Date(Date.now() - DAY),
    reason: 1,
  }));
  for (let i = 0; i < (opts.count ?? 0); i++)
    entries.push({ serial: (0x100000 + i).toString(16), revokedAt: new Date(Date.now() - DAY), reason: 4 });
  return parseCrl(
    await buildCrl({
      issuer,
      entries,
      ...(opts.number !== undefined ? { number: opts.number } : {}),
      ...(opts.thisUpdate ? { thisUpdate: opts.thisUpdate } : {}),
      ...(opts.nextUpdate ? { nextUpdate: opts.nextUpdate } : {}),
    }),
  );
}

describe('CRLs supplied to the validator (RFC 5280 §5, §6.3)', () => {
  let c: LabChain;
  const verify = (crls: Crl[], leaf = c.leaf) =>
    verifyCertificate({
      leaf: leaf.parsed,
      intermediates: [c.intermediate.parsed],
      anchors: [c.root.parsed],
      time: Date.now(),
      crls,
    });
  before(async () => {
    c = await makeChain({ names: ['crl.example.test'] });
  });

  test('a revoked leaf: `revoked`, naming the serial, the date and the reason', async () => {
    const r = verify([await makeCrl(c.intermediate, { serials: [c.leaf.parsed.serialHex] })]);
    assert.equal(r.valid, false);
    const f = r.findings.find((x) => x.code === 'revoked')!;
    assert.ok(f);
    assert.equal(f.certIndex, 0);
    assert.match(f.message, new RegExp(c.leaf.parsed.serialHex));
    assert.match(f.message, /keyCompromise/);
    assert.match(f.message, /\d{4}-\d{2}-\d{2}T/);
  });

  test('not on the CRL: valid', async () => {
    assert.equal(verify([await makeCrl(c.intermediate, { serials: ['0BADC0DE'] })]).valid, true);
  });

  test('the same serial on a CRL of another issuer does not count', async () => {
    const other = await issue({ subject: 'CN=Other CA', ca: true });
    assert.equal(verify([await makeCrl(other, { serials: [c.leaf.parsed.serialHex] })]).valid, true);
  });

  test('a CRL without cRLNumber, or a stale one, cannot be used: fail closed, severity by revocation mode', async () => {
    const noNumber = await makeCrl(c.intermediate, { number: null });
    const soft = verify([noNumber]);
    const f = soft.findings.find((x) => x.code === 'revocation-unknown' && /cRLNumber/.test(x.message));
    assert.equal(f?.severity, 'warning', 'soft mode: a warning, never a clean pass');
    const hard = verifyCertificate({
      leaf: c.leaf.parsed,
      intermediates: [c.intermediate.parsed],
      anchors: [c.root.parsed],
      time: Date.now(),
      crls: [noNumber],
      crlPolicy: { mode: 'hard' },
    });
    assert.equal(hard.valid, false);
    assert.equal(hard.findings.find((x) => x.code === 'revocation-unknown')?.severity, 'critical');
    const stale = verify([
      await makeCrl(c.intermediate, {
        thisUpdate: new Date(Date.now() - 10 * DAY),
        nextUpdate: new Date(Date.now() - DAY),
      }),
    ]);
    assert.ok(stale.findings.some((f) => f.code === 'revocation-unknown' && /stale/.test(f.message)));
  });

  test('an intermediate revoked by the root is found too', async () => {
    const r = verify([
      await makeCrl(c.root, { serials: [c.intermediate.parsed.serialHex] }),
      await makeCrl(c.intermediate),
    ]);
    assert.ok(r.findings.some((f) => f.code === 'revoked' && f.certIndex === 1));
  });

  test('a CRL with 100,000 entries: look-up is a map access', async () => {
    const big = await makeCrl(c.intermediate, { count: 100_000, serials: [c.leaf.parsed.serialHex] });
    assert.equal(big.revoked.size, 100_001);
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) verify([big]);
    const per = (performance.now() - t0) / 100;
    assert.ok(per < 150, `verification with a 100k-entry CRL took ${per.toFixed(1)} ms`);
    assert.equal(verify([big]).findings.filter((f) => f.code === 'revoked').length, 1);
  });

  test('PEM and DER CRL files load; garbage names the file', async () => {
    const crl = await makeCrl(c.intermediate);
    const pem = `-----BEGIN X509 CRL-----\n${Buffer.from(crl.der).toString('base64')}\n-----END X509 CRL-----\n`;
    assert.equal(loadCrls(Buffer.from(pem), 'a.pem').length, 1);
    assert.equal(loadCrls(crl.der, 'a.der').length, 1);
    assert.throws(() => loadCrls(Buffer.from('nope'), 'bad.crl'), /bad\.crl: not a valid DER CRL/);
  });
});
