/*
 * createHttpsAgent against real TLS servers on 127.0.0.1: a good endpoint answers; expired,
 * wrong-host, untrusted, revoked-by-CRL and pin-mismatch endpoints are refused with
 * CertificateVerificationError before the server receives a single byte; resumed TLS sessions
 * are verified again (a CRL update between two requests takes effect; a swapped certificate is
 * refused).
 */
import assert from 'node:assert/strict';
import type { ClientRequest } from 'node:http';
import * as https from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CertificateVerificationError } from '../src/check/errors.js';
import { spkiPin } from '../src/check/expectations.js';
import { createHttpsAgent, type HttpsAgentOptions } from '../src/client/httpsAgent.js';
import { verificationOf } from '../src/client/verifiedConnection.js';
import type { TargetResult } from '../src/model/result.js';
import { type ClientLab, endpoint, lookup, startClientLab } from './support/clientLab.js';

function get(url: string, agent: https.Agent): Promise<{ status: number; body: string; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          socket: res.socket as TLSSocket,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function refused(p: Promise<unknown>): Promise<CertificateVerificationError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CertificateVerificationError, `expected CertificateVerificationError, got ${e}`);
    assert.equal(e.code, 'CERTVET_VERIFICATION_FAILED');
    return e;
  }
  assert.fail('the request was not refused');
}

describe('createHttpsAgent', () => {
  let lab: ClientLab;
  let opts: HttpsAgentOptions;

  before(async () => {
    lab = await startClientLab();
    opts = { ca: lab.root.pem, lookup, revocation: 'soft', timeout: 5000 };
  });
  after(() => lab.close());

  test('a good endpoint: the request reaches the server and the body comes back; verified is emitted', async () => {
    const agent = createHttpsAgent(opts);
    const seen: TargetResult[] = [];
    const stop = agent.onVerified((r) => seen.push(r));
    const ep = lab.endpoints.good;
    const before = lab.crlFetches();
    const r = await get(`https://good.test:${ep.port}/hello`, agent);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello');
    assert.match(ep.received.at(-1)!.toString(), /^GET \/hello HTTP\/1\.1\r\n/);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.status, 'ok', JSON.stringify(seen[0]!.findings));
    assert.equal(seen[0]!.chain[0]!.subject, 'CN=good.test');
    assert.ok(lab.crlFetches() > before, 'the CRL was fetched from the CDP URL');
    assert.equal(verificationOf(r.socket)?.status, 'ok');
    stop();
    await get(`https://good.test:${ep.port}/hello`, agent);
    assert.equal(seen.length, 1, 'unsubscribed');
    agent.destroy();
  });

  test('an IP literal: verified against the iPAddress SAN, no SNI', async () => {
    const agent = createHttpsAgent(opts);
    const r = await get(`https://127.0.0.1:${lab.endpoints.good.port}/`, agent);
    assert.equal(r.body, 'hello');
    agent.destroy();
  });

  for (const [name, code] of [
    ['expired', 'expired'],
    ['wronghost', 'hostname-mismatch'],
    ['untrusted', 'untrusted'],
    ['revoked', 'revoked'],
    ['ocsprevoked', 'revoked'],
    ['stapledrevoked', 'revoked'],
  ] as const) {
    test(`${name}: refused with ${code}, and the server receives no byte`, async () => {
      const ep = lab.endpoints[name];
      const agent = createHttpsAgent(opts);
      const seen: TargetResult[] = [];
      agent.on('verified', (r) => seen.push(r));
      const connections = ep.tcpConnections;
      const e = await refused(get(`https://${name}.test:${ep.port}/secret`, agent));
      assert.ok(
        e.findings.some((f) => f.code === code),
        `${code} in ${e.findings.map((f) => f.code)}`,
      );
      assert.equal(e.target, `${name}.test:${ep.port}`);
      assert.ok(e.chain.length > 0);
      assert.equal(seen.length, 1, 'verified is emitted for refused connections too');
      assert.notEqual(seen[0]!.status, 'ok');
      // The server was reached (and the handshake done on the client side), yet not one request byte arrived.
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(ep.tcpConnections > connections);
      assert.equal(ep.connectionsWithData, 0);
      agent.destroy();
    });
  }

  test('pin mismatch: refused with pin-mismatch; a matching pin works', async () => {
    const ep = lab.endpoints.good;
    const withData = ep.connectionsWithData;
    const wrong = createHttpsAgent({ ...opts, pins: [spkiPin(lab.otherRoot.parsed)] });
    const e = await refused(get(`https://good.test:${ep.port}/`, wrong));
    assert.ok(e.findings.some((f) => f.code === 'pin-mismatch'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ep.connectionsWithData, withData, 'no request byte after a pin mismatch');
    const right = createHttpsAgent({ ...opts, pins: [spkiPin(lab.ica.parsed)] });
    assert.equal((await get(`https://good.test:${ep.port}/`, right)).body, 'hello');
    wrong.destroy();
    right.destroy();
  });

  test('warnings pass by default and are refused with failOn: "warning"', async () => {
    // A 100-day warning threshold makes the 90-day leaf expires-soon (a warning).
    const ep = lab.endpoints.good;
    const lenient = createHttpsAgent({ ...opts, warnDays: 100 });
    let result: TargetResult | undefined;
    lenient.on('verified', (r) => {
      result = r;
    });
    assert.equal((await get(`https://good.test:${ep.port}/`, lenient)).body, 'hello');
    assert.equal(result?.status, 'warning');
    const strict = createHttpsAgent({ ...opts, warnDays: 100, failOn: 'warning' });
    const withData = ep.connectionsWithData;
    const e = await refused(get(`https://good.test:${ep.port}/`, strict));
    assert.ok(e.findings.some((f) => f.code === 'expires-soon'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ep.connectionsWithData, withData);
    lenient.destroy();
    strict.destroy();
  });

  test('resumed sessions are verified again: a CRL update between two requests takes effect', async () => {
    const ep = await endpoint('later.test', lab.leaves.later, [lab.ica]);
    try {
      const agent = createHttpsAgent({ ...opts, keepAlive: false });
      const sockets: { result: TargetResult; reused: boolean }[] = [];
      agent.on('verified', (result, socket) => sockets.push({ result, reused: socket.isSessionReused() }));
      const url = `https://later.test:${ep.port}/`;
      assert.equal((await get(url, agent)).body, 'hello');
      assert.equal((await get(url, agent)).body, 'hello');
      assert.deepEqual(
        sockets.map((s) => [s.reused, s.result.status]),
        [
          [false, 'ok'],
          [true, 'ok'],
        ],
      );
      assert.equal(
        sockets[1]!.result.chain[0]!.subject,
        'CN=later.test',
        'the resumed session is verified with its chain',
      );
      assert.equal(ep.resumed, 1);
      await lab.revoke(lab.leaves.later);
      const withData = ep.connectionsWithData;
      const e = await refused(get(url, agent));
      assert.ok(e.findings.some((f) => f.code === 'revoked'));
      assert.equal(sockets.at(-1)!.reused, true, 'the refused connection was a resumed one');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(ep.connectionsWithData, withData, 'no request byte on the resumed connection');
      agent.destroy();
    } finally {
      await lab.revoke();
      await ep.close();
    }
  });

  test('a certificate swapped to a bad one between two requests is refused (session cache on, keep-alive off)', async () => {
    const ep = await endpoint('good.test', lab.leaves.good, [lab.ica]);
    try {
      const agent = createHttpsAgent({ ...opts, keepAlive: false });
      const url = `https://good.test:${ep.port}/`;
      assert.equal((await get(url, agent)).body, 'hello');
      await ep.swap(lab.leaves.expired, [lab.ica]);
      const withData = ep.connectionsWithData;
      const e = await refused(get(url, agent));
      assert.ok(
        e.findings.some((f) => f.code === 'expired' || f.code === 'hostname-mismatch'),
        `${e.findings.map((f) => f.code)}`,
      );
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(ep.connectionsWithData, withData);
      agent.destroy();
    } finally {
      await ep.close();
    }
  });

  test('maxCachedSessions: 0 never resumes', async () => {
    const agent = createHttpsAgent({ ...opts, maxCachedSessions: 0 });
    const reused: boolean[] = [];
    agent.on('verified', (_r, s) => reused.push(s.isSessionReused()));
    const url = `https://good.test:${lab.endpoints.good.port}/`;
    await get(url, agent);
    await get(url, agent);
    assert.deepEqual(reused, [false, false]);
    agent.destroy();
  });

  test('an aborted request, a destroyed request and a destroyed agent stop the connection still being verified', async () => {
    // A server that accepts and never answers: the handshake would run to the 5 s timeout.
    const held = new Set<Socket>();
    const silent: Server = createServer((s) => {
      held.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(silent.address() as { port: number }).port}/`;
    const failure = (
      start: (agent: https.Agent) => ClientRequest,
      after?: (agent: https.Agent, req: ClientRequest) => void,
    ) =>
      new Promise<{ error: Error | null; ms: number }>((resolve) => {
        const agent = createHttpsAgent(opts);
        const t0 = performance.now();
        const req = start(agent);
        let error: Error | null = null;
        req.on('error', (e: Error) => {
          error = e;
        });
        req.on('close', () => {
          agent.destroy();
          resolve({ error, ms: performance.now() - t0 });
        });
        if (after) setTimeout(() => after(agent, req), 150);
      });
    try {
      const aborted = await failure((agent) => https.get(url, { agent, signal: AbortSignal.timeout(150) }));
      assert.ok(aborted.ms < 2000, `the aborted request ended after ${Math.round(aborted.ms)} ms`);
      assert.equal(aborted.error?.name, 'AbortError', String(aborted.error));
      const destroyed = await failure(
        (agent) => https.get(url, { agent }),
        (_, req) => req.destroy(),
      );
      assert.ok(destroyed.ms < 2000, `the destroyed request ended after ${Math.round(destroyed.ms)} ms`);
      const agentGone = await failure(
        (agent) => https.get(url, { agent }),
        (agent) => agent.destroy(),
      );
      assert.ok(
        agentGone.ms < 2000,
        `the request of a destroyed agent ended after ${Math.round(agentGone.ms)} ms`,
      );
      assert.match(String(agentGone.error), /the verified HTTPS agent was destroyed/);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test('option errors name the option', () => {
    assert.throws(() => createHttpsAgent({ ...opts, failOn: 'never' as 'warning' }), /failOn/);
    assert.throws(() => createHttpsAgent({ ...opts, servername: 'x.test' }), /servername/);
    assert.throws(() => createHttpsAgent({ ...opts, bogus: 1 } as HttpsAgentOptions), /bogus/);
  });
});
