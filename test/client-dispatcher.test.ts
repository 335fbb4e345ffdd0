/*
 * createDispatcher with Node's built-in fetch (and undici's request) against real TLS servers on
 * 127.0.0.1: a good endpoint answers; expired, wrong-host, untrusted, revoked-by-CRL and
 * pin-mismatch endpoints fail with a fetch error whose cause is the CertificateVerificationError,
 * and the server receives no byte; resumed sessions are verified again.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { createChecker } from '../src/check/checker.js';
import { CertificateVerificationError } from '../src/check/errors.js';
import { spkiPin } from '../src/check/expectations.js';
import { createDispatcher, type DispatcherOptions } from '../src/client/dispatcher.js';
import { createHttpsAgent } from '../src/client/httpsAgent.js';
import type { TargetResult } from '../src/model/result.js';
import { bigBody, type ClientLab, endpoint, lookup, startClientLab } from './support/clientLab.js';

async function refusedFetch(url: string, dispatcher: unknown): Promise<CertificateVerificationError> {
  try {
    // Node's global fetch: `dispatcher` is an undici extension its types do not declare.
    await fetch(url, { dispatcher } as RequestInit);
  } catch (e) {
    assert.ok(e instanceof TypeError, `fetch rejects with TypeError, got ${e}`);
    const cause = (e as { cause?: unknown }).cause;
    assert.ok(
      cause instanceof CertificateVerificationError,
      `cause is CertificateVerificationError, got ${cause}`,
    );
    assert.equal(cause.code, 'CERTVET_VERIFICATION_FAILED');
    return cause;
  }
  assert.fail('the fetch was not refused');
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('createDispatcher', () => {
  let lab: ClientLab;
  let opts: DispatcherOptions;

  before(async () => {
    lab = await startClientLab();
    opts = { ca: lab.root.pem, lookup, revocation: 'soft', timeout: 5000 };
  });
  after(() => lab.close());

  test('global fetch through a good endpoint: the request arrives and the body comes back', async () => {
    const dispatcher = createDispatcher(opts);
    const seen: TargetResult[] = [];
    dispatcher.onVerified((r) => seen.push(r));
    const ep = lab.endpoints.good;
    const res = await fetch(`https://good.test:${ep.port}/via-fetch`, { dispatcher } as RequestInit);
    assert.equal(res.status, 200);
    assert.equal(res.statusText, 'OK');
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('content-length'), '5');
    assert.equal(await res.text(), 'hello');
    assert.match(ep.received.at(-1)!.toString(), /^GET \/via-fetch HTTP\/1\.1\r\n/);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.status, 'ok', JSON.stringify(seen[0]!.findings));
    await dispatcher.close();
  });

  test('global fetch streams a large body read slowly (back-pressure), intact, with its headers', async () => {
    const dispatcher = createDispatcher(opts);
    const n = 4 * 1024 * 1024;
    const res = await fetch(`https://good.test:${lab.endpoints.good.port}/big/${n}`, {
      dispatcher,
    } as RequestInit);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-certvet-test'), 'big');
    assert.equal(res.headers.get('content-length'), String(n));
    const chunks: Uint8Array[] = [];
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value);
      // A slow reader: the response outruns it, so the dispatcher is paused and resumed.
      if (chunks.length % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.ok(Buffer.concat(chunks).equals(bigBody(n)), 'the body arrived intact');
    await dispatcher.close();
  });

  test("undici's request through the same kind of dispatcher", async () => {
    const dispatcher = createDispatcher(opts);
    const ep = lab.endpoints.good;
    const res = await request(`https://good.test:${ep.port}/via-undici`, { dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'hello');
    assert.match(ep.received.at(-1)!.toString(), /^GET \/via-undici HTTP\/1\.1\r\n/);
    const ep2 = lab.endpoints.expired;
    await assert.rejects(
      request(`https://expired.test:${ep2.port}/`, { dispatcher }),
      (e: unknown) =>
        e instanceof CertificateVerificationError && e.findings.some((f) => f.code === 'expired'),
    );
    await dispatcher.close();
  });

  for (const [name, code] of [
    ['expired', 'expired'],
    ['wronghost', 'hostname-mismatch'],
    ['untrusted', 'untrusted'],
    ['revoked', 'revoked'],
    ['ocsprevoked', 'revoked'],
    ['stapledrevoked', 'revoked'],
  ] as const) {
    test(`${name}: fetch fails, cause CertificateVerificationError with ${code}; no byte reaches the server`, async () => {
      const ep = lab.endpoints[name];
      const dispatcher = createDispatcher(opts);
      const tcp = ep.tcpConnections;
      const withData = ep.connectionsWithData;
      const e = await refusedFetch(`https://${name}.test:${ep.port}/secret`, dispatcher);
      assert.ok(
        e.findings.some((f) => f.code === code),
        `${code} in ${e.findings.map((f) => f.code)}`,
      );
      assert.equal(e.target, `${name}.test:${ep.port}`);
      await settle();
      assert.ok(ep.tcpConnections > tcp, 'the server was reached');
      assert.equal(ep.connectionsWithData, withData, 'no request byte');
      await dispatcher.close();
    });
  }

  test('pin mismatch: fetch refused with pin-mismatch; no byte reaches the server', async () => {
    const ep = lab.endpoints.good;
    const withData = ep.connectionsWithData;
    const dispatcher = createDispatcher({ ...opts, pins: [spkiPin(lab.otherRoot.parsed)] });
    const e = await refusedFetch(`https://good.test:${ep.port}/`, dispatcher);
    assert.ok(e.findings.some((f) => f.code === 'pin-mismatch'));
    await settle();
    assert.equal(ep.connectionsWithData, withData);
    await dispatcher.close();
  });

  test('resumed sessions are verified again: a CRL update between two fetches takes effect', async () => {
    const ep = await endpoint('later.test', lab.leaves.later, [lab.ica]);
    try {
      // keep-alive off in effect: the server closes after each response, so each fetch is a new connection.
      const dispatcher = createDispatcher(opts);
      const seen: { status: string; reused: boolean }[] = [];
      dispatcher.onVerified((r, s) => seen.push({ status: r.status, reused: s.isSessionReused() }));
      const url = `https://later.test:${ep.port}/`;
      assert.equal(await (await fetch(url, { dispatcher } as RequestInit)).text(), 'hello');
      assert.equal(await (await fetch(url, { dispatcher } as RequestInit)).text(), 'hello');
      assert.deepEqual(
        seen.map((s) => [s.reused, s.status]),
        [
          [false, 'ok'],
          [true, 'ok'],
        ],
      );
      await lab.revoke(lab.leaves.later);
      const withData = ep.connectionsWithData;
      const e = await refusedFetch(url, dispatcher);
      assert.ok(e.findings.some((f) => f.code === 'revoked'));
      assert.equal(seen.at(-1)!.reused, true, 'the refused connection was a resumed one');
      await settle();
      assert.equal(ep.connectionsWithData, withData);
      await dispatcher.close();
    } finally {
      await lab.revoke();
      await ep.close();
    }
  });

  test('an agent and a dispatcher can share one checker (and its caches)', async () => {
    const checker = createChecker(opts);
    const dispatcher = createDispatcher({ checker });
    const agent = createHttpsAgent({ checker, failOn: 'warning' });
    assert.equal(dispatcher.checker, checker);
    assert.equal(agent.checker, checker);
    const res = await fetch(`https://good.test:${lab.endpoints.good.port}/`, { dispatcher } as RequestInit);
    assert.equal(await res.text(), 'hello');
    assert.throws(
      () => createDispatcher({ checker, ca: lab.root.pem }),
      /either `checker` or checker options/,
    );
    await dispatcher.close();
    agent.destroy();
  });

  test('destroy() stops the connections still being verified (they ran on to the timeout, holding the process)', async () => {
    const held = new Set<Socket>();
    let closedByClient: () => void = () => {};
    const clientClosed = new Promise<void>((r) => {
      closedByClient = r;
    });
    const silent = createServer((s) => {
      held.add(s);
      s.on('error', () => {});
      s.on('close', () => closedByClient());
      s.resume(); // read, so the client's FIN is seen
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const dispatcher = createDispatcher(opts);
      const url = `https://127.0.0.1:${(silent.address() as { port: number }).port}/`;
      const pending = request(url, { dispatcher });
      await new Promise((r) => setTimeout(r, 150));
      const t0 = performance.now();
      void dispatcher.destroy();
      await assert.rejects(pending);
      await Promise.race([clientClosed, new Promise((r) => setTimeout(r, 3000).unref())]);
      const ms = performance.now() - t0;
      assert.ok(ms < 2000, `the client let go of the connection ${Math.round(ms)} ms after destroy()`);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test('plain http: is refused (nothing to verify)', async () => {
    const dispatcher = createDispatcher(opts);
    await assert.rejects(
      fetch(`http://127.0.0.1:${lab.endpoints.good.port}/`, { dispatcher } as RequestInit),
      (e: unknown) => /https: only/.test(String((e as { cause?: unknown }).cause)),
    );
    await dispatcher.close();
  });
});
