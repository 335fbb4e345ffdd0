import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue } from '../src/lab/pki.js';
import { checkRevocation } from '../src/revocation/checkRevocation.js';
import { CrlCache } from '../src/revocation/crlCache.js';

const DAY = 86400_000;
const REASON = { unspecified: 0, keyCompromise: 1, certificateHold: 6, removeFromCRL: 8 } as const;

describe('delta CRLs: revoked is sticky, removeFromCRL lifts only a hold', () => {
  let root: IssuedCert;
  let ica: IssuedCert;
  let srv: Server;
  let url: string;
  const files: Record<string, Uint8Array> = {};
  const certs: Record<string, IssuedCert> = {};

  before(async () => {
    root = await issue({ subject: 'CN=Sticky Root', ca: true });
    ica = await issue({ subject: 'CN=Sticky CA', ca: true, issuer: root });
    srv = createServer((rq, rs) => {
      const body = files[rq.url ?? ''];
      if (body) rs.end(Buffer.from(body));
      else rs.writeHead(404).end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    // base.crl has a working delta; lonely.crl names a delta that is not there.
    for (const [name, base] of [
      ['compromised', 'base'],
      ['unspecified', 'base'],
      ['held', 'base'],
      ['held-then-compromised', 'base'],
      ['lonely-compromised', 'lonely'],
      ['lonely-held', 'lonely'],
      ['lonely-good', 'lonely'],
      ['held-on-tainted', 'tainted'],
    ] as const)
      certs[name] = await issue({ subject: `CN=${name}`, issuer: ica, crlUrls: [`${url}/${base}.crl`] });
    const ago = new Date(Date.now() - DAY);
    const serial = (n: string) => certs[n]!.parsed.serialHex;
    files['/base.crl'] = await buildCrl({
      issuer: ica,
      number: 5,
      freshestUrl: `${url}/delta.crl`,
      entries: [
        { serial: serial('compromised'), revokedAt: ago, reason: REASON.keyCompromise },
        { serial: serial('unspecified'), revokedAt: ago },
        { serial: serial('held'), revokedAt: ago, reason: REASON.certificateHold },
        { serial: serial('held-then-compromised'), revokedAt: ago, reason: REASON.certificateHold },
      ],
    });
    files['/delta.crl'] = await buildCrl({
      issuer: ica,
      number: 6,
      deltaOf: 5,
      entries: [
        { serial: serial('compromised'), revokedAt: ago, reason: REASON.removeFromCRL },
        { serial: serial('unspecified'), revokedAt: ago, reason: REASON.removeFromCRL },
        { serial: serial('held'), revokedAt: ago, reason: REASON.removeFromCRL },
        { serial: serial('held-then-compromised'), revokedAt: ago, reason: REASON.keyCompromise },
      ],
    });
    // A base that cannot vouch by itself (it lists a serial twice): its hold is heard, and a
    // delta may not lift it.
    files['/tainted.crl'] = await buildCrl({
      issuer: ica,
      number: 8,
      freshestUrl: `${url}/tainted-delta.crl`,
      entries: [0, 1].map(() => ({
        serial: serial('held-on-tainted'),
        revokedAt: ago,
        reason: REASON.certificateHold,
      })),
    });
    files['/tainted-delta.crl'] = await buildCrl({
      issuer: ica,
      number: 9,
      deltaOf: 8,
      entries: [{ serial: serial('held-on-tainted'), revokedAt: ago, reason: REASON.removeFromCRL }],
    });
    files['/lonely.crl'] = await buildCrl({
      issuer: ica,
      number: 7,
      freshestUrl: `${url}/missing-delta.crl`,
      entries: [
        { serial: serial('lonely-compromised'), revokedAt: ago, reason: REASON.keyCompromise },
        { serial: serial('lonely-held'), revokedAt: ago, reason: REASON.certificateHold },
      ],
    });
  });
  after(async () => {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  });

  const run = (name: string) =>
    checkRevocation([certs[name]!.parsed, ica.parsed, root.parsed], null, {
      mode: 'soft',
      sources: ['crl'],
      crlCache: new CrlCache({ timeoutMs: 1000, maxBytes: 1 << 20 }),
      fetch: { timeoutMs: 1000, maxOcspBytes: 1 << 20 },
      nowSec: Math.floor(Date.now() / 1000),
    });

  test("a delta's removeFromCRL does not lift a keyCompromise or unspecified revocation (it does lift a hold)", async () => {
    const compromised = await run('compromised');
    assert.equal(compromised.perCert[0]?.status, 'revoked', JSON.stringify(compromised.perCert[0]));
    assert.equal(compromised.perCert[0]?.reason, 'keyCompromise');
    assert.equal(compromised.findings[0]?.code, 'revoked');
    assert.equal(compromised.findings[0]?.severity, 'critical');
    assert.match(
      compromised.findings[0]!.message,
      /removeFromCRL is ignored: only a certificateHold can be lifted/,
    );
    const unspecified = await run('unspecified');
    assert.equal(unspecified.perCert[0]?.status, 'revoked', JSON.stringify(unspecified.perCert[0]));
    // The contrast: a hold is lifted; a hold made permanent by the delta is revoked for the new reason.
    assert.equal((await run('held')).perCert[0]?.status, 'good');
    const later = await run('held-then-compromised');
    assert.equal(later.perCert[0]?.status, 'revoked');
    assert.equal(later.perCert[0]?.reason, 'keyCompromise');
  });

  test('a delta does not lift a hold listed on a base CRL that cannot vouch by itself (malformed, out of scope)', async () => {
    const r = await run('held-on-tainted');
    assert.equal(r.perCert[0]?.status, 'revoked', JSON.stringify(r.perCert[0]));
    assert.equal(r.findings[0]?.code, 'revoked');
    assert.match(
      r.findings[0]!.message,
      /removeFromCRL is ignored: the base CRL that lists the hold .*more than once/,
    );
  });

  test('a delta CRL that cannot be fetched lifts nothing: base revocations (and holds) stand', async () => {
    const compromised = await run('lonely-compromised');
    assert.equal(compromised.perCert[0]?.status, 'revoked', JSON.stringify(compromised.perCert[0]));
    assert.equal(compromised.findings[0]?.severity, 'critical');
    assert.match(
      compromised.findings[0]!.message,
      /missing-delta\.crl: .*HTTP 404.*a revocation stands without it/,
    );
    assert.equal((await run('lonely-held')).perCert[0]?.status, 'revoked');
    // Not listed on the base: without the delta its status is unknown (the delta might revoke it).
    const good = await run('lonely-good');
    assert.equal(good.perCert[0]?.status, 'unknown');
    assert.equal(good.findings[0]?.code, 'revocation-unknown');
    assert.match(good.findings[0]!.message, /missing-delta\.crl/);
  });
});
