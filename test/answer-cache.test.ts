/**
 * The one answer cache (OCSP, CRL, AIA): TTLs chosen by the loader and measured on an injected
 * clock, failures remembered briefly and then forgotten, single-flight against a real loopback
 * HTTP server that counts requests, bounded size, and a fetch every waiter abandoned is
 * cancelled (the server sees the connection close) and not remembered.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { buildCrl } from '../src/lab/crlBuilder.js';
import { type IssuedCert, issue } from '../src/lab/pki.js';
import { AiaFetcher } from '../src/revocation/aia.js';
import { OcspCache } from '../src/revocation/checkRevocation.js';
import { CrlCache } from '../src/revocation/crlCache.js';
import type { OcspAnswer } from '../src/revocation/ocsp.js';
import { AnswerCache } from '../src/util/answerCache.js';
import { Lru } from '../src/util/lru.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIN = 60_000;

/** A clock that moves only when told (epoch ms, so CRL and OCSP dates make sense on it). */
function manualClock() {
  let t = Date.now();
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const answer = (nextUpdate: Date | null): OcspAnswer => ({
  status: 'good',
  thisUpdate: new Date(),
  nextUpdate,
  producedAt: new Date(),
  revokedAt: null,
  reason: null,
  signer: 'test',
  caveat: null,
});

describe('AnswerCache: TTLs, failures, bounds, single-flight', () => {
  test('an answer lives exactly as long as its loader said, on the injected clock', async () => {
    const clock = manualClock();
    const cache = new AnswerCache<string>({ max: 8, failureTtlMs: 1000, now: clock.now });
    const load = async () => ({ value: `v${cache.loads}`, ttlMs: 10_000 });
    assert.equal(await cache.get('k', load), 'v1');
    clock.advance(9_999);
    assert.equal(await cache.get('k', load), 'v1');
    assert.equal(cache.loads, 1);
    clock.advance(2);
    assert.equal(await cache.get('k', load), 'v2', 'expired: loaded again');
    assert.equal(cache.loads, 2);
    // A TTL of 0 (e.g. max-age=0) is not remembered at all.
    const never = async () => ({ value: 'x', ttlMs: 0 });
    await cache.get('z', never);
    await cache.get('z', never);
    assert.equal(cache.loads, 4);
  });

  test('failures are remembered for failureTtlMs, then expire', async () => {
    const clock = manualClock();
    const cache = new AnswerCache<string>({ max: 8, failureTtlMs: 30_000, now: clock.now });
    let fail = true;
    const load = async () => {
      if (fail) throw new Error(`down (${cache.loads})`);
      return { value: 'up', ttlMs: MIN };
    };
    await assert.rejects(cache.get('k', load), /down \(1\)/);
    fail = false;
    clock.advance(29_000);
    await assert.rejects(cache.get('k', load), /down \(1\)/, 'the failure is remembered');
    assert.equal(cache.loads, 1);
    clock.advance(1_001);
    assert.equal(await cache.get('k', load), 'up', 'the failure expired');
    assert.equal(cache.loads, 2);
  });

  test('bounded: the least recently used entries go first', async () => {
    const cache = new AnswerCache<string>({ max: 3, failureTtlMs: 1000 });
    const load = (v: string) => async () => ({ value: v, ttlMs: MIN });
    for (const k of ['a', 'b', 'c']) await cache.get(k, load(k));
    await cache.get('a', load('a')); // a is now the most recent
    await cache.get('d', load('d')); // evicts b
    assert.equal(cache.size, 3);
    assert.equal(cache.loads, 4);
    await cache.get('a', load('a'));
    await cache.get('c', load('c'));
    assert.equal(cache.loads, 4, 'a and c kept');
    await cache.get('b', load('b'));
    assert.equal(cache.loads, 5, 'b was evicted');
    assert.equal(cache.size, 3);
    assert.throws(() => new AnswerCache({ max: 0, failureTtlMs: 1 }), RangeError);
  });

  test('one waiter giving up does not fail the others; when all give up the load is cancelled and forgotten', async () => {
    const cache = new AnswerCache<string>({ max: 8, failureTtlMs: MIN });
    let cancelled = 0;
    const slow = (signal: AbortSignal) =>
      new Promise<{ value: string; ttlMs: number }>((resolve, reject) => {
        const t = setTimeout(() => resolve({ value: 'slow', ttlMs: MIN }), 300);
        signal.addEventListener('abort', () => {
          cancelled++;
          clearTimeout(t);
          reject(signal.reason);
        });
      });
    const a = cache.get('k', slow, AbortSignal.timeout(50));
    const b = cache.get('k', slow, AbortSignal.timeout(5000));
    await assert.rejects(a, { name: 'TimeoutError' });
    assert.equal(await b, 'slow');
    assert.equal(cache.loads, 1);
    assert.equal(cancelled, 0);
    // Alone and giving up: cancelled, not remembered as a failure.
    await assert.rejects(cache.get('j', slow, AbortSignal.timeout(50)));
    assert.equal(cancelled, 1);
    assert.equal(await cache.get('j', slow), 'slow', 'a later caller starts afresh');
    assert.equal(cache.loads, 3);
    // An already-aborted caller never starts a load.
    await assert.rejects(cache.get('i', slow, AbortSignal.abort()));
    assert.equal(cache.loads, 3);
  });

  test('Lru (pure computations) is bounded and keeps null values', () => {
    const lru = new Lru<string, string | null>(2);
    lru.set('a', null);
    lru.set('b', 'B');
    assert.equal(lru.get('a'), null);
    lru.set('c', 'C'); // evicts b (a was used last)
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('c'), 'C');
    assert.equal(lru.size, 2);
  });
});

describe('OCSP, CRL and AIA on the answer cache', () => {
  let ca: IssuedCert;
  let server: Server;
  let base: string;
  const hits: Record<string, number> = {};
  const closedEarly: Record<string, number> = {};
  const crls: Record<string, Uint8Array> = {};
  const headers: Record<string, Record<string, string>> = {};
  let issuerDer: Uint8Array;

  before(async () => {
    ca = await issue({ subject: 'CN=Answer Cache CA', ca: true });
    issuerDer = ca.der;
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '';
      hits[url] = (hits[url] ?? 0) + 1;
      res.on('close', () => {
        if (!res.writableFinished) closedEarly[url] = (closedEarly[url] ?? 0) + 1;
      });
      // Answers after 200 ms, so concurrent callers overlap; /hang never answers.
      if (url === '/hang') return;
      setTimeout(() => {
        if (url === '/issuer.der') res.end(Buffer.from(issuerDer));
        else if (url === '/down.crl') res.writeHead(503).end();
        else if (crls[url]) res.writeHead(200, headers[url] ?? {}).end(Buffer.from(crls[url]));
        else res.writeHead(404).end();
      }, 200);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const now = Date.now();
    crls['/ten-minutes.crl'] = await buildCrl({
      issuer: ca,
      entries: [],
      nextUpdate: new Date(now + 10 * MIN),
    });
    crls['/week.crl'] = await buildCrl({
      issuer: ca,
      entries: [],
      nextUpdate: new Date(now + 7 * 1440 * MIN),
    });
    crls['/stale.crl'] = await buildCrl({
      issuer: ca,
      entries: [],
      thisUpdate: new Date(now - 2 * 1440 * MIN),
      nextUpdate: new Date(now - 1440 * MIN),
    });
    crls['/no-store.crl'] = crls['/week.crl'];
    headers['/no-store.crl'] = { 'cache-control': 'max-age=0' };
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const fetchOptions = { timeoutMs: 5000, maxBytes: 1 << 20 };
  const requests = (path: string) => hits[path] ?? 0;

  test('CRL: 20 concurrent targets, one request (single-flight over real HTTP)', async () => {
    const cache = new CrlCache(fetchOptions);
    const crls = await Promise.all(Array.from({ length: 20 }, () => cache.get(`${base}/week.crl`)));
    assert.equal(new Set(crls).size, 1);
    assert.equal(requests('/week.crl'), 1);
    assert.equal(cache.fetches, 1);
    await cache.get(`${base}/week.crl`);
    assert.equal(requests('/week.crl'), 1, 'cached afterwards');
  });

  test('CRL TTL: until nextUpdate, capped at maxTtlMs; max-age=0 not kept; a stale CRL kept like a failure', async () => {
    const clock = manualClock();
    const cache = new CrlCache(fetchOptions, { now: clock.now, maxTtlMs: 60 * MIN, failureTtlMs: MIN });
    const get = (p: string) => cache.get(`${base}${p}`);
    const r0 = requests('/ten-minutes.crl');
    await get('/ten-minutes.crl');
    clock.advance(9 * MIN);
    await get('/ten-minutes.crl');
    assert.equal(requests('/ten-minutes.crl') - r0, 1, 'within nextUpdate: reused');
    clock.advance(2 * MIN);
    await get('/ten-minutes.crl');
    assert.equal(requests('/ten-minutes.crl') - r0, 2, 'past nextUpdate: fetched again');

    const w0 = requests('/week.crl');
    await get('/week.crl');
    clock.advance(59 * MIN);
    await get('/week.crl');
    assert.equal(requests('/week.crl') - w0, 1);
    clock.advance(2 * MIN);
    await get('/week.crl');
    assert.equal(
      requests('/week.crl') - w0,
      2,
      'nextUpdate a week away, yet fetched again after the 1 h cap',
    );

    await get('/no-store.crl');
    await get('/no-store.crl');
    assert.equal(requests('/no-store.crl'), 2, 'max-age=0: never reused');

    await get('/stale.crl');
    clock.advance(MIN - 1000);
    await get('/stale.crl');
    assert.equal(requests('/stale.crl'), 1, 'a stale CRL is kept briefly');
    clock.advance(2000);
    await get('/stale.crl');
    assert.equal(requests('/stale.crl'), 2, 'and then fetched again');
  });

  test('CRL failures are remembered for failureTtlMs, then expire', async () => {
    const clock = manualClock();
    const cache = new CrlCache(fetchOptions, { now: clock.now, failureTtlMs: 30_000 });
    const url = `${base}/down.crl`;
    await assert.rejects(cache.get(url), /503/);
    await assert.rejects(cache.get(url), /503/);
    assert.equal(requests('/down.crl'), 1, 'a dead distribution point is not hammered');
    clock.advance(30_001);
    await assert.rejects(cache.get(url), /503/);
    assert.equal(requests('/down.crl'), 2, 'the failure expired');
    assert.equal(cache.fetches, 2);
  });

  test('CRL bounded: maxEntries distribution points held', async () => {
    const cache = new CrlCache(fetchOptions, { maxEntries: 2 });
    await cache.get(`${base}/week.crl?a`).catch(() => {});
    await cache.get(`${base}/week.crl?b`).catch(() => {});
    await cache.get(`${base}/week.crl?c`).catch(() => {});
    assert.equal(cache.size, 2);
    await cache.get(`${base}/week.crl?a`).catch(() => {});
    assert.equal(cache.fetches, 4, 'the oldest was evicted');
  });

  test('CRL: a fetch every waiter abandoned is cancelled (the server sees the connection close) and forgotten', async () => {
    const cache = new CrlCache(fetchOptions);
    const url = `${base}/hang`;
    await Promise.all(
      [100, 150, 200].map((ms) => assert.rejects(cache.get(url, undefined, AbortSignal.timeout(ms)))),
    );
    assert.equal(requests('/hang'), 1, 'one shared request');
    for (let i = 0; i < 50 && !closedEarly['/hang']; i++) await sleep(20);
    assert.equal(closedEarly['/hang'], 1, 'the request was cancelled');
    assert.equal(cache.size, 0, 'not remembered as a failure');
    await assert.rejects(cache.get(url, undefined, AbortSignal.timeout(100)));
    assert.equal(requests('/hang'), 2, 'a later caller fetches afresh');
  });

  test('AIA: 20 concurrent targets, one request; answers kept for the fixed TTL', async () => {
    const clock = manualClock();
    const leaf = await issue({ subject: 'CN=aia leaf', issuer: ca, aiaCaIssuers: [`${base}/issuer.der`] });
    const aia = new AiaFetcher(fetchOptions, { now: clock.now, ttlMs: 10 * MIN });
    const all = await Promise.all(Array.from({ length: 20 }, () => aia.issuersOf(leaf.parsed)[0]!));
    for (const certs of all) assert.equal(certs[0]?.sha256, ca.parsed.sha256);
    assert.equal(requests('/issuer.der'), 1);
    clock.advance(10 * MIN - 1);
    await aia.issuersOf(leaf.parsed)[0];
    assert.equal(requests('/issuer.der'), 1);
    clock.advance(2);
    await aia.issuersOf(leaf.parsed)[0];
    assert.equal(requests('/issuer.der'), 2, 'fetched again after the TTL');
    assert.equal(aia.fetches, 2);
  });

  test('OCSP TTL: until nextUpdate capped at 1 h, 5 min without nextUpdate (never past a day after thisUpdate), failures 30 s', async () => {
    const clock = manualClock();
    const cache = new OcspCache({ now: clock.now });
    const at = (ms: number) => new Date(clock.now() + ms);
    const soon = answer(at(10 * MIN));
    const far = answer(at(7 * 1440 * MIN));
    const none = answer(null);
    const expect = async (key: string, a: OcspAnswer, keptMs: number) => {
      const q0 = cache.queries;
      await cache.get(key, async () => a);
      clock.advance(keptMs - 1);
      await cache.get(key, async () => a);
      assert.equal(cache.queries - q0, 1, `${key} kept ${keptMs - 1} ms`);
      clock.advance(2);
      await cache.get(key, async () => a);
      assert.equal(cache.queries - q0, 2, `${key} gone after ${keptMs} ms`);
    };
    await expect('soon', soon, 10 * MIN);
    await expect('far', far, 60 * MIN);
    await expect('none', { ...none, thisUpdate: at(0) }, 5 * MIN);
    // Without nextUpdate an answer is current for a day after thisUpdate: a nearly day-old one
    // is kept only for what is left of that day.
    await expect('old', { ...none, thisUpdate: at(-(1440 - 2) * MIN) }, 2 * MIN);
    const q0 = cache.queries;
    const failing = async (): Promise<OcspAnswer> => {
      throw new Error('tryLater');
    };
    await assert.rejects(cache.get('fail', failing), /tryLater/);
    clock.advance(29_999);
    await assert.rejects(cache.get('fail', failing), /tryLater/);
    assert.equal(cache.queries - q0, 1);
    clock.advance(2);
    await assert.rejects(cache.get('fail', failing), /tryLater/);
    assert.equal(cache.queries - q0, 2);
  });
});
