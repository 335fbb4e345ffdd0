/**
 * STARTTLS over loopback: protocol-faithful fake servers (one per protocol) that speak the
 * plaintext part of the real protocol, check what the client sends, and then upgrade the same
 * socket to TLS; hostile and refusing peers; a real PostgreSQL server with ssl=on; parseTarget.
 *
 * Everything binds 127.0.0.1 only and dials IP literals (no DNS).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createSecureContext,
  createServer as createTlsServer,
  type SecureContext,
  TLSSocket,
} from 'node:tls';
import { createChecker } from '../src/check/checker.js';
import { CertvetOptionError } from '../src/check/errors.js';
import { type LabChain, makeChain, privateKeyPem } from '../src/lab/pki.js';
import type { Observation } from '../src/probe/observation.js';
import { probe } from '../src/probe/probe.js';
import {
  parseResolve,
  parseTarget,
  redactTarget,
  type StartTlsProtocol,
  TargetError,
} from '../src/scan/target.js';
import { runCli } from './support/cli.js';
import { clientIdentities } from './support/clientLab.js';

const LOOPBACK = '127.0.0.1';
const TIMEOUTS = { totalMs: 5000, handshakeMs: 5000, connectMs: 2000 };

/** Rejects when `p` has not settled within `ms` (tests must never hang). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// A tiny harness for fake servers: the server side of one connection reads what the client
// sends (lines, byte counts, text up to a marker) and can upgrade the very same socket to TLS.
// ---------------------------------------------------------------------------------------------

class Peer {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended = false;
  private readonly onData = (d: Buffer) => {
    this.buf = Buffer.concat([this.buf, d]);
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };

  constructor(
    readonly sock: Socket,
    private readonly secureContext: SecureContext,
    private readonly track: (s: Socket) => void,
  ) {
    sock.on('data', this.onData);
    sock.on('end', this.onEnd);
    sock.on('close', this.onEnd);
  }

  private async take<T>(extract: (b: Buffer) => { value: T; consumed: number } | null): Promise<T> {
    for (;;) {
      const r = extract(this.buf);
      if (r) {
        this.buf = this.buf.subarray(r.consumed);
        return r.value;
      }
      if (this.ended) throw new Error('the client closed the connection');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  /** One line from the client, without its CRLF. */
  line(): Promise<string> {
    return this.take((b) => {
      const nl = b.indexOf(0x0a);
      return nl < 0
        ? null
        : { value: b.subarray(0, nl).toString('latin1').replace(/\r$/, ''), consumed: nl + 1 };
    });
  }

  bytes(n: number): Promise<Buffer> {
    return this.take((b) => (b.length >= n ? { value: Buffer.from(b.subarray(0, n)), consumed: n } : null));
  }

  /** Text up to and including `marker`. */
  textUntil(marker: string): Promise<string> {
    return this.take((b) => {
      const i = b.indexOf(marker, 0, 'utf8');
      return i < 0
        ? null
        : { value: b.subarray(0, i + marker.length).toString('utf8'), consumed: i + marker.length };
    });
  }

  write(d: string | Uint8Array): void {
    this.sock.write(d);
  }

  /** One MySQL packet from the client: its sequence id and body. */
  async mysqlPacket(): Promise<{ seq: number; body: Buffer }> {
    const header = await this.bytes(4);
    return { seq: header[3]!, body: await this.bytes(header.readUIntLE(0, 3)) };
  }

  /** Settles when the client has ended the connection (FIN, reset or close). */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ended) return resolve();
      this.sock.once('error', () => resolve());
      this.sock.once('end', () => resolve());
      this.sock.once('close', () => resolve());
    });
  }

  /**
   * The same harness over the TLS socket `upgrade()` returned. `rawBytesSince()` then counts
   * what arrived on the TCP connection since the handshake, records the TLS layer hides included
   * (Node reports a close_notify and a bare FIN alike as 'end').
   */
  over(tls: TLSSocket): Peer & { rawBytesSince(): number } {
    const raw = this.sock;
    const atHandshake = raw.bytesRead;
    return Object.assign(new Peer(tls, this.secureContext, this.track), {
      rawBytesSince: () => raw.bytesRead - atHandshake,
    });
  }

  /**
   * Turns the same TCP connection into the server side of TLS. Bytes already read past the
   * plaintext phase (a ClientHello sent right behind a MySQL SSLRequest) are handed back first.
   */
  upgrade(): Promise<TLSSocket> {
    this.sock.off('data', this.onData);
    this.sock.off('end', this.onEnd);
    this.sock.off('close', this.onEnd);
    this.sock.pause();
    if (this.buf.length) this.sock.unshift(this.buf);
    this.buf = Buffer.alloc(0);
    const tls = new TLSSocket(this.sock, { isServer: true, secureContext: this.secureContext });
    this.track(tls);
    tls.on('error', () => {});
    return new Promise<TLSSocket>((resolve, reject) => {
      tls.once('secure', () => resolve(tls));
      tls.once('close', () => reject(new Error('closed before the TLS handshake completed')));
    });
  }
}

interface FakeServer {
  readonly port: number;
  /** What the server saw and did, in order ("error: ..." when its script failed). */
  readonly log: string[];
  /** Settles when the script of the first connection has finished. */
  readonly done: Promise<void>;
}

type Script = (peer: Peer, log: string[]) => Promise<void>;

function fakeServers(getContext: () => SecureContext) {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  async function listen(script: Script): Promise<FakeServer> {
    const log: string[] = [];
    let first: ((p: Promise<void>) => void) | null = null;
    const done = new Promise<void>((resolve) => {
      first = (p) => void p.then(resolve, resolve);
    });
    const server = createServer((sock) => {
      track(sock);
      const run = script(new Peer(sock, getContext(), track), log).catch((e: Error) => {
        log.push(`error: ${e.message}`);
        sock.destroy();
      });
      first?.(run);
      first = null;
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, resolve);
    });
    const port = (server.address() as { port: number }).port;
    return { port, log, done };
  }
  async function closeAll(): Promise<void> {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
  return { listen, closeAll };
}

// ---------------------------------------------------------------------------------------------
// BER for the LDAP fake (definite lengths; long form on request, as Active Directory sends).
// ---------------------------------------------------------------------------------------------

function berLength(n: number, longForm: boolean): Buffer {
  if (longForm) {
    const b = Buffer.alloc(5);
    b[0] = 0x84;
    b.writeUInt32BE(n, 1);
    return b;
  }
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function tlv(tag: number, content: Buffer, longForm = false): Buffer {
  return Buffer.concat([Buffer.from([tag]), berLength(content.length, longForm), content]);
}

interface Tlv {
  readonly tag: number;
  readonly value: Buffer;
  readonly end: number;
}

/** One TLV at `off`, or null if `buf` does not hold all of it yet. */
function readBer(buf: Buffer, off: number): Tlv | null {
  if (buf.length < off + 2) return null;
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    assert.ok(n >= 1 && n <= 4, `BER length of ${n} bytes`);
    if (buf.length < off + 2 + n) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i]!;
    hdr += n;
  }
  if (buf.length < off + hdr + len) return null;
  return { tag, value: buf.subarray(off + hdr, off + hdr + len), end: off + hdr + len };
}

const LDAP_STARTTLS_OID = '1.3.6.1.4.1.1466.20037';

/** ExtendedResponse (RFC 4511 §4.12) to message `id`: resultCode, empty matchedDN and message, responseName. */
function ldapExtendedResponse(id: number, resultCode: number, longForm: boolean): Buffer {
  const body = Buffer.concat([
    tlv(0x0a, Buffer.from([resultCode]), longForm), // resultCode ENUMERATED
    tlv(0x04, Buffer.alloc(0), longForm), // matchedDN
    tlv(0x04, Buffer.from(resultCode ? 'unwilling' : '', 'latin1'), longForm), // diagnosticMessage
    tlv(0x8a, Buffer.from(LDAP_STARTTLS_OID, 'latin1'), longForm), // responseName [10]
  ]);
  return tlv(
    0x30,
    Buffer.concat([tlv(0x02, Buffer.from([id]), longForm), tlv(0x78, body, longForm)]),
    longForm,
  );
}

// ---------------------------------------------------------------------------------------------
// MySQL protocol 10.
// ---------------------------------------------------------------------------------------------

const MYSQL = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
  DEPRECATE_EOF: 0x1000000,
} as const;

/** The Initial Handshake packet (protocol 10) as MySQL 8 sends it, sequence id 0. */
function mysqlInitialHandshake(withSsl: boolean): Buffer {
  const caps =
    MYSQL.LONG_PASSWORD |
    MYSQL.FOUND_ROWS |
    MYSQL.LONG_FLAG |
    MYSQL.CONNECT_WITH_DB |
    MYSQL.PROTOCOL_41 |
    (withSsl ? MYSQL.SSL : 0) |
    MYSQL.TRANSACTIONS |
    MYSQL.SECURE_CONNECTION |
    MYSQL.MULTI_RESULTS |
    MYSQL.PLUGIN_AUTH |
    MYSQL.DEPRECATE_EOF;
  const scramble = Buffer.from('0123456789abcdefghij', 'latin1'); // 20 bytes
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
  let o = 0;
  o = fixed.writeUInt32LE(42, o); // connection id
  o += scramble.copy(fixed, o, 0, 8); // auth-plugin-data-part-1
  o = fixed.writeUInt8(0, o); // filler
  o = fixed.writeUInt16LE(caps & 0xffff, o); // capability flags (lower)
  o = fixed.writeUInt8(255, o); // character set utf8mb4_0900_ai_ci
  o = fixed.writeUInt16LE(0x0002, o); // status: SERVER_STATUS_AUTOCOMMIT
  o = fixed.writeUInt16LE(caps >>> 16, o); // capability flags (upper)
  fixed.writeUInt8(scramble.length + 1, o); // auth-plugin-data length; 10 reserved zero bytes follow
  const body = Buffer.concat([
    Buffer.from([10]), // protocol version
    Buffer.from('8.0.36\0', 'latin1'),
    fixed,
    scramble.subarray(8),
    Buffer.from([0]), // auth-plugin-data-part-2 is 13 bytes, NUL-terminated
    Buffer.from('caching_sha2_password\0', 'latin1'),
  ]);
  return mysqlPacket(0, body);
}

function mysqlPacket(seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(body.length, 0, 3);
  h[3] = seq;
  return Buffer.concat([h, body]);
}

// ---------------------------------------------------------------------------------------------
// The protocol scripts: each checks what the client sends and answers as the real server would.
// ---------------------------------------------------------------------------------------------

/**
 * After TLS: the goodbye certvet leaves with (one line), answered with `reply`; then the
 * client's own close (it ends TLS on the answer), or, with `close`, the server closes first.
 */
async function goodbyeOverTls(p: Peer, log: string[], reply: string, o: { close?: boolean } = {}) {
  const t = p.over(await p.upgrade());
  log.push('tls');
  log.push(`tls: ${await t.line()}`);
  t.write(reply);
  if (o.close) t.sock.end();
  await t.closed();
  log.push('client left');
}

const SCRIPTS: Record<Exclude<StartTlsProtocol, 'postgres'>, Script> = {
  async smtp(p, log) {
    p.write('220-mail.test ESMTP Postfix\r\n220 mail.test ready\r\n');
    let ehlo = false;
    for (;;) {
      const l = await p.line();
      log.push(l);
      if (/^EHLO \S+$/i.test(l)) {
        ehlo = true;
        p.write('250-mail.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n');
      } else if (/^STARTTLS$/i.test(l)) {
        if (!ehlo) {
          p.write('503 5.5.1 Error: send EHLO first\r\n');
          continue;
        }
        p.write('220 2.0.0 Ready to start TLS\r\n');
        break;
      } else p.write('502 5.5.2 Error: command not recognized\r\n');
    }
    await goodbyeOverTls(p, log, '221 2.0.0 Bye\r\n');
  },

  async imap(p, log) {
    p.write(
      '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE STARTTLS LOGINDISABLED] ready\r\n',
    );
    for (;;) {
      const l = await p.line();
      log.push(l);
      const m = /^([^\s(){%*"\\\]]+) (\S+)$/.exec(l);
      if (!m) {
        p.write('* BAD Error in IMAP command received by server.\r\n');
        continue;
      }
      const [, tag, cmd] = m;
      if (cmd!.toUpperCase() === 'CAPABILITY') {
        p.write(`* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n${tag} OK Capability completed.\r\n`);
      } else if (cmd!.toUpperCase() === 'STARTTLS') {
        p.write(`${tag} OK Begin TLS negotiation now.\r\n`);
        break;
      } else p.write(`${tag} BAD Error in IMAP command\r\n`);
    }
    await goodbyeOverTls(p, log, '* BYE Logging out\r\nc9 OK Logout completed.\r\n');
  },

  async pop3(p, log) {
    p.write('+OK Dovecot ready.\r\n');
    for (;;) {
      const l = await p.line();
      log.push(l);
      if (l.toUpperCase() === 'CAPA') p.write('+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nSTLS\r\nUSER\r\n.\r\n');
      else if (l.toUpperCase() === 'STLS') {
        p.write('+OK Begin TLS negotiation now.\r\n');
        break;
      } else p.write('-ERR Unknown command.\r\n');
    }
    // A POP3 server closes after its answer to QUIT; certvet waits for that close.
    await goodbyeOverTls(p, log, '+OK Logging out.\r\n', { close: true });
  },

  async ftp(p, log) {
    p.write('220-Welcome to the test FTP service.\r\n220-Be nice.\r\n220 (vsFTPd 3.0.5)\r\n');
    for (;;) {
      const l = await p.line();
      log.push(l);
      if (/^AUTH TLS$/i.test(l)) {
        p.write('234 Proceed with negotiation.\r\n');
        break;
      }
      if (/^FEAT$/i.test(l)) p.write('211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n');
      else p.write('530 Please login with USER and PASS.\r\n');
    }
    await goodbyeOverTls(p, log, '221 Goodbye.\r\n');
  },

  async ldap(p, log) {
    const msg = await (async () => {
      // Read exactly one LDAPMessage.
      const head = await p.bytes(2);
      let len = head[1]!;
      let rest: Buffer = Buffer.alloc(0);
      if (len & 0x80) {
        rest = await p.bytes(len & 0x7f);
        len = rest.reduce((a, b) => a * 256 + b, 0);
      }
      return Buffer.concat([head, rest, await p.bytes(len)]);
    })();
    const outer = readBer(msg, 0);
    assert.ok(outer && outer.tag === 0x30 && outer.end === msg.length, 'an LDAPMessage SEQUENCE');
    const id = readBer(outer.value, 0);
    assert.ok(id && id.tag === 0x02 && id.value.length === 1, 'messageID');
    const op = readBer(outer.value, id.end);
    assert.ok(op && op.tag === 0x77, 'an ExtendedRequest [APPLICATION 23]');
    assert.equal(op.end, outer.value.length, 'no controls or trailing data');
    const name = readBer(op.value, 0);
    assert.ok(name && name.tag === 0x80, 'requestName [0]');
    assert.equal(name.end, op.value.length, 'no requestValue');
    log.push(`extendedReq id=${id.value[0]} ${name.value.toString('latin1')}`);
    p.write(
      ldapExtendedResponse(id.value[0]!, name.value.toString('latin1') === LDAP_STARTTLS_OID ? 0 : 2, false),
    );
    const t = p.over(await p.upgrade());
    log.push('tls');
    const unbind = await t.bytes(7);
    log.push(`unbind ${unbind.toString('hex')}`);
    await t.closed();
    log.push('client left');
  },

  async xmpp(p, log) {
    const header = await p.textUntil('>'); // the XML declaration
    const stream = header.startsWith('<?xml') ? await p.textUntil('>') : header;
    log.push(stream);
    assert.match(stream, /^<stream:stream\b/);
    assert.match(stream, /xmlns='jabber:client'/);
    assert.match(stream, /xmlns:stream='http:\/\/etherx\.jabber\.org\/streams'/);
    assert.match(stream, /version='1\.0'/);
    const to = /\bto='([^']*)'/.exec(stream)?.[1] ?? '';
    p.write(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='a1b2c3' from='${to}' version='1.0' xml:lang='en'>` +
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
    );
    const starttls = await p.textUntil('>');
    log.push(starttls);
    assert.match(starttls, /^<starttls xmlns=['"]urn:ietf:params:xml:ns:xmpp-tls['"]\s*\/>$/);
    p.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    const t = p.over(await p.upgrade());
    log.push('tls');
    await t.closed();
    log.push(`client left after ${t.rawBytesSince() > 0 ? 'a close_notify' : 'nothing'}`);
  },

  async mysql(p, log) {
    p.write(mysqlInitialHandshake(true));
    const header = await p.bytes(4);
    const len = header.readUIntLE(0, 3);
    log.push(`packet len=${len} seq=${header[3]}`);
    assert.equal(len, 32, 'an SSLRequest packet is 32 bytes');
    assert.equal(header[3], 1, 'sequence id 1');
    const body = await p.bytes(32);
    const caps = body.readUInt32LE(0);
    assert.ok(caps & MYSQL.SSL, 'CLIENT_SSL');
    assert.ok(caps & MYSQL.PROTOCOL_41, 'CLIENT_PROTOCOL_41');
    assert.ok(body.readUInt32LE(4) > 0, 'max packet size');
    assert.deepEqual(body.subarray(9), Buffer.alloc(23), '23 zero filler bytes');
    log.push(`SSLRequest caps=0x${caps.toString(16)}`);
    const t = p.over(await p.upgrade());
    log.push('tls');
    const login = await t.mysqlPacket();
    log.push(describeMysqlLogin(login, caps));
    t.write(
      mysqlError(
        login.seq + 1,
        1045,
        "Access denied for user 'certvet_probe'@'localhost' (using password: NO)",
      ),
    );
    await t.closed();
    log.push('client left');
  },
};

/** The HandshakeResponse41 certvet sends to end its visit, as the fake server's log shows it. */
function describeMysqlLogin(login: { seq: number; body: Buffer }, sslRequestCaps: number): string {
  const caps = login.body.readUInt32LE(0);
  const userEnd = login.body.indexOf(0, 32);
  const user = login.body.subarray(32, userEnd).toString('latin1');
  const authLength = login.body[userEnd + 1]!;
  const plugin = login.body.subarray(
    userEnd + 2 + authLength,
    login.body.indexOf(0, userEnd + 2 + authLength),
  );
  return `login seq=${login.seq} caps=${caps === sslRequestCaps ? 'as SSLRequest' : `0x${caps.toString(16)}`} user=${user} password=${authLength ? 'sent' : 'empty'} method=${plugin.toString('latin1')}`;
}

function mysqlError(seq: number, code: number, message: string): Buffer {
  const body = Buffer.alloc(3);
  body[0] = 0xff;
  body.writeUInt16LE(code, 1);
  return mysqlPacket(seq, Buffer.concat([body, Buffer.from(`#28000${message}`, 'latin1')]));
}

// ---------------------------------------------------------------------------------------------

describe('STARTTLS against protocol-faithful fake servers on 127.0.0.1', () => {
  let chain: LabChain;
  let ctx: SecureContext;
  const { listen, closeAll } = fakeServers(() => ctx);
  /** Probes a fake server on 127.0.0.1 with `starttls`, trusting the lab root. */
  const probeTrusting = (port: number, starttls: StartTlsProtocol) =>
    probe({ host: LOOPBACK, port, starttls, ca: [chain.root.pem], timeouts: TIMEOUTS });

  before(async () => {
    chain = await makeChain({ names: [LOOPBACK] });
    ctx = createSecureContext({
      cert: chain.leaf.pem + chain.intermediate.pem,
      key: await privateKeyPem(chain.leaf.key),
    });
  });
  after(closeAll);

  function assertChain(obs: Observation, what: string): void {
    assert.equal(obs.error, null, `${what}: ${obs.error?.code}: ${obs.error?.message}`);
    assert.equal(obs.address, LOOPBACK);
    assert.deepEqual(Buffer.from(obs.certificates[0]!), Buffer.from(chain.leaf.der), `${what}: the leaf`);
    assert.deepEqual(
      Buffer.from(obs.certificates[1]!),
      Buffer.from(chain.intermediate.der),
      `${what}: the intermediate`,
    );
    assert.equal(obs.certificates.length, 2);
    assert.ok(obs.protocol === 'TLSv1.2' || obs.protocol === 'TLSv1.3', `${what}: protocol ${obs.protocol}`);
    assert.equal(obs.crossCheck?.authorized, true, `${what}: ${obs.crossCheck?.error}`);
  }

  const EXPECTED_LOG: Record<keyof typeof SCRIPTS, (string | RegExp)[]> = {
    // Each leaves with its protocol's goodbye (src/probe/starttls/farewell.ts), after the probe.
    smtp: [/^EHLO \S+$/, 'STARTTLS', 'tls', 'tls: QUIT', 'client left'],
    imap: [/^(\S+) STARTTLS$/, 'tls', 'tls: c9 LOGOUT', 'client left'],
    pop3: ['STLS', 'tls', 'tls: QUIT', 'client left'],
    ftp: ['AUTH TLS', 'tls', 'tls: QUIT', 'client left'],
    ldap: [`extendedReq id=1 ${LDAP_STARTTLS_OID}`, 'tls', 'unbind 30050201024200', 'client left'],
    xmpp: [/^<stream:stream .*\bto='127\.0\.0\.1'/, /^<starttls /, 'tls', 'client left after a close_notify'],
    mysql: [
      'packet len=32 seq=1',
      /^SSLRequest caps=0x88a01$/,
      'tls',
      'login seq=2 caps=as SSLRequest user=certvet_probe password=empty method=mysql_native_password',
      'client left',
    ],
  };

  for (const proto of Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[]) {
    test(`${proto}: plaintext negotiation, then TLS on the same connection`, {
      timeout: 15_000,
    }, async () => {
      const srv = await listen(SCRIPTS[proto]);
      const obs = await probeTrusting(srv.port, proto);
      await within(srv.done, 3000, `${proto} fake server`);
      assertChain(obs, proto);
      assert.ok(obs.timings.starttlsMs >= 0);
      const expected = EXPECTED_LOG[proto];
      assert.equal(srv.log.length, expected.length, `${proto} server log: ${JSON.stringify(srv.log)}`);
      expected.forEach((e, i) => {
        if (typeof e === 'string') assert.equal(srv.log[i], e);
        else assert.match(srv.log[i]!, e);
      });
    });
  }

  test('ldap: an ExtendedResponse with long-form BER lengths (as Active Directory sends)', async () => {
    const srv = await listen(async (p, log) => {
      const req = await p.bytes(31); // the StartTLS request is 31 bytes
      assert.equal(readBer(req, 0)?.end, 31);
      p.write(ldapExtendedResponse(1, 0, true));
      await p.upgrade();
      log.push('tls');
    });
    const obs = await probeTrusting(srv.port, 'ldap');
    await within(srv.done, 3000, 'ldap fake server');
    assertChain(obs, 'ldap (long-form lengths)');
    assert.deepEqual(srv.log, ['tls']);
  });

  // ---- negative cases -----------------------------------------------------------------------

  test('smtp against a server that is not SMTP (an IMAP greeting): starttls-failed at once, quoting it', async () => {
    const srv = await listen(async (p) => {
      p.write('* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n');
      await p.line(); // until the client gives up
    });
    const t0 = performance.now();
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'smtp', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(
      obs.error!.message,
      /SMTP greeting was "\* OK \[CAPABILITY IMAP4rev1 STARTTLS\] Dovecot ready\.", not 220/,
    );
    assert.ok(performance.now() - t0 < 1000, 'not waited on until the deadline');
    await within(srv.done, 3000, 'imap-speaking fake server');
  });

  test('ftp and xmpp against servers of another protocol: starttls-failed at once, quoting them', async () => {
    for (const [proto, greeting, message] of [
      ['ftp', '* OK IMAP4rev1 ready\r\n', /FTP greeting was "\* OK IMAP4rev1 ready"/],
      [
        'xmpp',
        '220 ProFTPD Server ready.\r\n',
        /the server did not answer with XMPP: "220 ProFTPD Server ready\."/,
      ],
    ] as const) {
      const srv = await listen(async (p) => {
        p.write(greeting);
        await p.line(); // until the client gives up
      });
      const t0 = performance.now();
      const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: proto, timeouts: TIMEOUTS });
      assert.equal(obs.error?.code, 'starttls-failed', proto);
      assert.match(obs.error!.message, message);
      assert.ok(performance.now() - t0 < 1000, `${proto}: not waited on until the deadline`);
      await within(srv.done, 3000, `${proto} fake server`);
    }
  });

  test('smtp: STARTTLS not advertised in the EHLO answer → starttls-failed, saying so', async () => {
    const srv = await listen(async (p, log) => {
      p.write('220 mail.test ESMTP\r\n');
      for (;;) {
        const l = await p.line();
        log.push(l);
        if (/^EHLO /i.test(l)) p.write('250-mail.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        else if (/^QUIT$/i.test(l)) return p.write('221 2.0.0 Bye\r\n');
        else p.write('502 5.5.2 Error: command not recognized\r\n');
      }
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'smtp', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /does not offer STARTTLS/);
    assert.match(obs.error!.message, /^smtp STARTTLS with 127\.0\.0\.1:\d+ failed/);
    assert.equal(obs.certificates.length, 0);
    await within(srv.done, 3000, 'smtp fake server');
    assert.equal(srv.log.filter((l) => /^STARTTLS/i.test(l)).length, 0, 'the client never sent STARTTLS');
  });

  test('imap: "c1 NO" to STARTTLS → starttls-failed with the answer quoted', async () => {
    const srv = await listen(async (p) => {
      p.write('* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n');
      for (;;) {
        const l = await p.line();
        const tag = l.split(' ')[0];
        p.write(`* BYE going away\r\n${tag} NO [UNAVAILABLE] TLS is not available right now\r\n`);
      }
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'imap', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /c1 NO \[UNAVAILABLE\] TLS is not available/);
  });

  test('pop3: greeting, then silence → timeout within the configured deadline', async () => {
    const srv = await listen(async (p, log) => {
      p.write('+OK POP3 ready\r\n');
      log.push(await p.line()); // STLS, never answered
      await p.line(); // until the client gives up
    });
    const t0 = performance.now();
    const obs = await probe({
      host: LOOPBACK,
      port: srv.port,
      starttls: 'pop3',
      timeouts: { totalMs: 1500, handshakeMs: 1500, connectMs: 1000 },
    });
    const elapsed = performance.now() - t0;
    assert.equal(obs.error?.code, 'timeout');
    // The step's own limit is the whole deadline here: the message names that, in the same
    // words whichever of the two timers fired first.
    assert.match(
      obs.error!.message,
      /^the pop3 STARTTLS exchange with 127\.0\.0\.1:\d+ did not complete within the check's 1500 ms deadline$/,
    );
    assert.ok(elapsed >= 1400 && elapsed < 6000, `took ${Math.round(elapsed)} ms`);
    await within(srv.done, 3000, 'pop3 fake server');
    assert.deepEqual(srv.log, ['STLS', 'error: the client closed the connection']);
  });

  test('a step that runs out of its own limit says so; the whole deadline is named only when it cut the step short', async () => {
    const silentAfterGreeting = () =>
      listen(async (p, log) => {
        p.write('+OK POP3 ready\r\n');
        log.push(await p.line());
        await p.line();
      });
    const own = await probe({
      host: LOOPBACK,
      port: (await silentAfterGreeting()).port,
      starttls: 'pop3',
      timeouts: { totalMs: 5000, handshakeMs: 400, connectMs: 1000 },
    });
    assert.equal(own.error?.code, 'timeout');
    assert.match(
      own.error!.message,
      /^the pop3 STARTTLS exchange with 127\.0\.0\.1:\d+ did not complete within 400 ms$/,
    );
    assert.ok(
      own.timings.starttlsMs >= 350,
      `the time spent in STARTTLS is kept: ${own.timings.starttlsMs} ms`,
    );
  });

  test('silence from a server that should greet (an implicit-TLS port checked with STARTTLS): the timeout says nothing came, and which scheme to try', async () => {
    const server = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    try {
      const obs = await probe({
        host: LOOPBACK,
        port: (server.address() as { port: number }).port,
        starttls: 'smtp',
        timeouts: { totalMs: 600, handshakeMs: 600, connectMs: 500 },
      });
      assert.equal(obs.error?.code, 'timeout');
      assert.match(
        obs.error!.message,
        /did not complete within the check's 600 ms deadline: the server sent nothing \(if it speaks TLS from the first byte, check it as smtps:\/\/…\)$/,
      );
    } finally {
      server.close();
    }
  });

  test('a greeting of more than 64 KiB (endless continuation lines) → starttls-failed, read bounded', async () => {
    let sent = 0;
    const srv = await listen(async (p) => {
      // "220-" lines that never end the reply: the client must stop reading, not wait for more.
      const line = Buffer.from(`220-${'x'.repeat(1018)}\r\n`, 'latin1');
      const chunk = Buffer.concat(Array.from({ length: 16 }, () => line)); // 16 KiB
      while (!p.sock.destroyed && sent < 8 * 1024 * 1024) {
        sent += chunk.length;
        if (!p.sock.write(chunk))
          await new Promise<void>((resolve) => {
            p.sock.once('drain', resolve);
            p.sock.once('close', resolve);
          });
      }
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'smtp', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /more than 65536 bytes before TLS/);
    await within(srv.done, 3000, 'flooding server');
    assert.ok(sent < 8 * 1024 * 1024, `the client kept reading (${sent} bytes sent)`);
  });

  test('a single 80 KiB greeting line without a newline → starttls-failed', async () => {
    const srv = await listen(async (p) => {
      p.write(Buffer.alloc(80 * 1024, 0x2b)); // '+'
      await p.line();
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'pop3', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /more than 65536 bytes/);
  });

  test("postgres: 'N' to SSLRequest → starttls-failed", async () => {
    const srv = await listen(async (p, log) => {
      const req = await p.bytes(8);
      assert.equal(req.readInt32BE(0), 8);
      assert.equal(req.readInt32BE(4), 80877103);
      log.push('SSLRequest');
      p.write('N');
      await p.line(); // the client must not go on in plaintext
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'postgres', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /does not accept TLS \(it answered N to SSLRequest\)/);
    await within(srv.done, 3000, 'postgres fake server');
    assert.deepEqual(srv.log, ['SSLRequest', 'error: the client closed the connection']);
  });

  test('mysql: certvet leaves as a failed login, never as a dropped handshake (which counts towards blocking its host)', async () => {
    // Each server answer certvet may meet after its login: an authentication-method switch
    // (answered with an empty reply of the size the method expects), a request for the password
    // over TLS (an empty one), an OK (then COM_QUIT) and the ERR that ends most visits.
    for (const [what, answers, expected] of [
      [
        'switch to client_ed25519, then ERR',
        [{ switchTo: 'client_ed25519' }],
        ['reply seq=4 bytes=64', 'client left'],
      ],
      [
        'switch to caching_sha2_password, more data, then ERR',
        [{ switchTo: 'caching_sha2_password' }, { moreData: true }],
        ['reply seq=4 bytes=0', 'reply seq=6 bytes=1', 'client left'],
      ],
      ['OK (an account without a password)', [{ ok: true }], ['COM_QUIT seq=0', 'client left']],
    ] as const) {
      const srv = await listen(async (p, log) => {
        p.write(mysqlInitialHandshake(true));
        await p.mysqlPacket();
        const t = p.over(await p.upgrade());
        let { seq } = await t.mysqlPacket();
        for (const a of answers) {
          if ('ok' in a) {
            t.write(mysqlPacket(seq + 1, Buffer.from([0x00, 0, 0, 0x02, 0, 0, 0])));
            const quit = await t.mysqlPacket();
            assert.deepEqual(quit.body, Buffer.from([0x01]), 'COM_QUIT');
            log.push(`COM_QUIT seq=${quit.seq}`);
            await t.closed();
            log.push('client left');
            return;
          }
          t.write(
            'switchTo' in a
              ? mysqlPacket(
                  seq + 1,
                  Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${a.switchTo}\0`), Buffer.alloc(20, 7)]),
                )
              : mysqlPacket(seq + 1, Buffer.from([0x01, 0x04])),
          );
          const reply = await t.mysqlPacket();
          log.push(`reply seq=${reply.seq} bytes=${reply.body.length}`);
          seq = reply.seq;
        }
        t.write(mysqlError(seq + 1, 1045, 'Access denied'));
        await t.closed();
        log.push('client left');
      });
      const obs = await probeTrusting(srv.port, 'mysql');
      await within(srv.done, 3000, `mysql fake server: ${what}`);
      assert.equal(obs.error, null, what);
      assert.deepEqual(srv.log, expected, what);
    }
  });

  test('over TLS from the first byte (smtps://, imaps://, pop3s://, ftps://, ldaps://): the goodbye comes after the greeting', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const cases: [string, string | null, string, string][] = [
      // scheme, greeting (null: none), the goodbye expected, its answer
      ['smtps', '220-mail.test ESMTP\r\n220 mail.test ready\r\n', 'QUIT', '221 2.0.0 Bye\r\n'],
      ['imaps', '* OK [CAPABILITY IMAP4rev1] ready\r\n', 'c9 LOGOUT', '* BYE\r\nc9 OK Logout completed.\r\n'],
      ['pop3s', '+OK Dovecot ready.\r\n', 'QUIT', '+OK Logging out.\r\n'],
      ['ftps', '220 (vsFTPd 3.0.5)\r\n', 'QUIT', '221 Goodbye.\r\n'],
      ['ldaps', null, 'unbind 30050201024200', ''],
    ];
    const checker = createChecker({ ca: chain.root.pem, revocation: 'off', timeout: '5s' });
    try {
      for (const [scheme, greeting, goodbye, answer] of cases) {
        const srv = await listen(async (p, log) => {
          const t = p.over(await p.upgrade());
          log.push('tls');
          if (greeting === null) {
            // LDAP has no greeting: the client speaks first.
            log.push(`unbind ${(await t.bytes(7)).toString('hex')}`);
          } else {
            // A client that talks before the greeting is what postscreen takes for a spam bot.
            await sleep(150);
            log.push(t.rawBytesSince() === 0 ? 'silent before the greeting' : 'spoke before the greeting');
            t.write(greeting);
            log.push(await t.line());
            t.write(answer);
            // POP3 servers close after answering QUIT (certvet waits for that); the others
            // leave it to the client, which ends TLS on the answer.
            if (scheme === 'pop3s') t.sock.end();
          }
          await t.closed();
          log.push('client left');
        });
        const r = await checker.check(`${scheme}://127.0.0.1:${srv.port}`);
        await within(srv.done, 3000, `${scheme} fake server`);
        assert.equal(r.status, 'ok', `${scheme}: ${JSON.stringify(r.findings)}`);
        assert.deepEqual(
          srv.log,
          ['tls', ...(greeting === null ? [] : ['silent before the greeting']), goodbye, 'client left'],
          scheme,
        );
      }
    } finally {
      await checker.close();
    }
  });

  test('over TLS from the first byte, a server that asks for a client certificate still gets its goodbye after its greeting', async () => {
    // The probe listens for the server's verdict on the certificate (none is sent here) and
    // reads the greeting while it does: the leave must still see it (found by review).
    const events: string[] = [];
    const server = createTlsServer(
      {
        cert: chain.leaf.pem + chain.intermediate.pem,
        key: await privateKeyPem(chain.leaf.key),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (s) => {
        s.on('error', () => {});
        s.write('220 smtps.test ESMTP\r\n');
        let text = '';
        s.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (text.includes('QUIT\r\n')) {
            events.push('QUIT');
            s.write('221 Bye\r\n');
          }
        });
        s.on('end', () => events.push('client left'));
      },
    );
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    const checker = createChecker({ ca: chain.root.pem, revocation: 'off', timeout: '5s' });
    try {
      const r = await checker.check(`smtps://127.0.0.1:${(server.address() as { port: number }).port}`);
      assert.equal(r.status, 'ok', JSON.stringify(r.findings));
      assert.equal(r.tls?.clientCertificate, 'optional');
      const t0 = performance.now();
      while (events.length < 2 && performance.now() - t0 < 3000) await new Promise((w) => setTimeout(w, 20));
      assert.deepEqual(events, ['QUIT', 'client left']);
    } finally {
      await checker.close();
      await new Promise((r) => server.close(r));
    }
  });

  test("mysql://user@host: the leaving login names the target's account (through the checker, and the probe)", async () => {
    /** A MySQL server that records the user name of the login certvet leaves with. */
    const loginRecorder = () =>
      listen(async (p, log) => {
        p.write(mysqlInitialHandshake(true));
        const ssl = await p.mysqlPacket();
        const t = p.over(await p.upgrade());
        const login = await t.mysqlPacket();
        const userEnd = login.body.indexOf(0, 32);
        log.push(login.body.subarray(32, userEnd).toString('utf8'));
        assert.equal(login.body.readUInt32LE(0), ssl.body.readUInt32LE(0), 'the same capabilities');
        t.write(mysqlError(login.seq + 1, 1045, 'Access denied'));
        await t.closed();
      });
    const checker = createChecker({ ca: chain.root.pem, revocation: 'off', timeout: '5s' });
    try {
      // Percent-encoded as in any URL's userinfo; sent as UTF-8 (the session's utf8mb4).
      for (const [target, user] of [
        ['mysql://monitor@127.0.0.1', 'monitor'],
        ['mysql://mon%40it%C3%B6r@127.0.0.1', 'mon@itör'],
        ['mysql://127.0.0.1', 'certvet_probe'],
      ] as const) {
        const srv = await loginRecorder();
        const r = await checker.check(target.replace('127.0.0.1', `127.0.0.1:${srv.port}`));
        await within(srv.done, 3000, `mysql fake server: ${target}`);
        assert.equal(r.status, 'ok', `${target}: ${JSON.stringify(r.findings)}`);
        assert.deepEqual(srv.log, [user], target);
      }
    } finally {
      await checker.close();
    }
    const srv = await loginRecorder();
    const obs = await probe({
      host: LOOPBACK,
      port: srv.port,
      starttls: 'mysql',
      user: 'nagios',
      ca: [chain.root.pem],
      timeouts: TIMEOUTS,
    });
    await within(srv.done, 3000, 'mysql fake server: probe({ user })');
    assert.equal(obs.error, null);
    assert.deepEqual(srv.log, ['nagios']);
  });

  test('mysql: a server that never answers the login does not hold the check past its leaving time', async () => {
    const srv = await listen(async (p, log) => {
      p.write(mysqlInitialHandshake(true));
      await p.mysqlPacket();
      const t = p.over(await p.upgrade());
      await t.mysqlPacket();
      log.push('silent');
      await t.closed();
    });
    const t0 = performance.now();
    const obs = await probeTrusting(srv.port, 'mysql');
    assert.equal(obs.error, null);
    assert.equal(obs.certificates.length, 2);
    assert.ok(performance.now() - t0 < 4000, 'bounded');
    await within(srv.done, 3000, 'silent mysql server');
  });

  test('postgres: certvet ends TLS with close_notify (PostgreSQL logs a connection reset once per check)', async () => {
    const srv = await listen(async (p, log) => {
      await p.bytes(8);
      p.write('S');
      const t = p.over(await p.upgrade());
      await t.closed();
      // The client sends nothing after the handshake but its close_notify alert (one record).
      log.push(`client left after ${t.rawBytesSince() > 0 ? 'a close_notify' : 'nothing'}`);
    });
    const obs = await probeTrusting(srv.port, 'postgres');
    await within(srv.done, 3000, 'postgres fake server');
    assert.equal(obs.error, null);
    assert.deepEqual(srv.log, ['client left after a close_notify']);
  });

  test('mysql: no CLIENT_SSL capability → starttls-failed', async () => {
    const srv = await listen(async (p) => {
      p.write(mysqlInitialHandshake(false));
      await p.line();
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'mysql', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /no CLIENT_SSL/);
  });

  test('xmpp: features without <starttls/> → starttls-failed', async () => {
    const srv = await listen(async (p) => {
      await p.textUntil('<stream:stream');
      await p.textUntil('>');
      p.write(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>" +
          "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
      );
      await p.textUntil('>');
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'xmpp', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /does not offer STARTTLS/);
  });

  test('xmpp: a stream error is quoted with its condition and text; host-unknown names the domain sent', async () => {
    const srv = await listen(async (p) => {
      await p.textUntil('<stream:stream');
      await p.textUntil('>');
      p.write(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>" +
          "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
          "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>This server does not serve 127.0.0.1</text></stream:error></stream:stream>",
      );
      await p.textUntil('>');
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'xmpp', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(
      obs.error!.message,
      /the XMPP server sent a stream error \(host-unknown\): "This server does not serve 127\.0\.0\.1"; the stream named the domain "127\.0\.0\.1" \(give the XMPP domain with --servername\)$/,
    );
  });

  test('ldap: a non-LDAP answer arriving after the request → starttls-failed (not a crash)', async () => {
    const srv = await listen(async (p) => {
      await p.bytes(31);
      p.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      await p.line();
    });
    const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'ldap', timeouts: TIMEOUTS });
    assert.equal(obs.error?.code, 'starttls-failed');
    assert.match(obs.error!.message, /did not answer with an LDAPMessage/);
  });

  for (const longForm of [false, true]) {
    test(`ldap: resultCode 53 (unwillingToPerform)${longForm ? ', long-form lengths' : ''} → starttls-failed`, async () => {
      const srv = await listen(async (p) => {
        await p.bytes(31);
        p.write(ldapExtendedResponse(1, 53, longForm));
        await p.line();
      });
      const obs = await probe({ host: LOOPBACK, port: srv.port, starttls: 'ldap', timeouts: TIMEOUTS });
      assert.equal(obs.error?.code, 'starttls-failed');
      assert.match(obs.error!.message, /refused StartTLS \(resultCode 53 unwillingToPerform\): "unwilling"$/);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// A real PostgreSQL server with ssl=on.
// ---------------------------------------------------------------------------------------------

function postgresBinDir(): string | null {
  const has = (d: string) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres'));
  if (has('/usr/local/bin')) return '/usr/local/bin';
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && has(dir) ? dir : null;
}

/** A free TCP port on 127.0.0.1 (released before PostgreSQL binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, LOOPBACK, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: LOOPBACK, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * An SMTP server that asks for a client certificate during the STARTTLS handshake and judges it
 * only at the next command, as Postfix does with smtpd_tls_req_ccert: "421 4.7.1 … No client
 * certificate presented" (or not trusted) to the EHLO after TLS, "250" when it is content.
 */
describe('after STARTTLS: a refusal at the protocol level, and no decision wait', () => {
  let chain: LabChain;
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  let trusted: { cert: string; key: string };
  let untrusted: { cert: string; key: string };

  before(async () => {
    chain = await makeChain({ names: ['127.0.0.1'] });
    ({ trusted, untrusted } = await clientIdentities(chain));
    // Not listening: handed the socket after STARTTLS, it runs the TLS side and judges the client.
    const tlsServer = createTlsServer(
      {
        cert: chain.leaf.pem + chain.intermediate.pem,
        key: await privateKeyPem(chain.leaf.key),
        ca: chain.root.pem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (tls) => {
        tls.on('error', () => {});
        tls.once('data', () =>
          tls.authorized
            ? tls.write('250-mail.test\r\n250 8BITMIME\r\n')
            : tls.end('421 4.7.1 mail.test: Error: No client certificate presented\r\n'),
        );
      },
    );
    tlsServer.on('tlsClientError', () => {});
    server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      let buf = '';
      const onLine = (l: string) => {
        if (/^EHLO /i.test(l)) sock.write('250-mail.test\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS$/i.test(l)) {
          sock.off('data', onData);
          sock.write('220 2.0.0 Ready to start TLS\r\n', () => tlsServer.emit('connection', sock));
        }
      };
      const onData = (d: Buffer) => {
        buf += d.toString('latin1');
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          onLine(buf.slice(0, nl).replace(/\r$/, ''));
          buf = buf.slice(nl + 1);
        }
      };
      sock.on('data', onData);
      sock.write('220 mail.test ESMTP\r\n');
    });
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const run = (client?: { cert: string; key: string }) =>
    probe({
      host: LOOPBACK,
      port,
      starttls: 'smtp',
      timeouts: TIMEOUTS,
      ca: [chain.root.pem],
      ...(client ? { client } : {}),
    });

  test('no certificate: the 421 to the EHLO after TLS is required-missing, and quoted', async () => {
    const obs = await run();
    assert.equal(obs.error, null);
    assert.equal(obs.clientCert, 'required-missing');
    assert.match(obs.clientCertReply ?? '', /^421 4\.7\.1 .*No client certificate presented$/);
    assert.equal(obs.certificates.length, 2, 'its own chain was still read');
  });

  test('an untrusted certificate: rejected; a trusted one: accepted, answered at once (no decision wait)', async () => {
    assert.equal((await run(untrusted)).clientCert, 'rejected');
    const t0 = performance.now();
    const ok = await run(trusted);
    assert.equal(ok.clientCert, 'accepted');
    assert.equal(ok.clientCertReply, undefined);
    // Not a speed assertion: the answer to EHLO ended the wait, not the one-second window.
    assert.ok(performance.now() - t0 < 900, 'decided by the answer, not by a second of silence');
  });

  test('POP3 (CAPA) and FTP (FEAT): any answer after TLS ends the wait; it is never read as a refusal', async () => {
    // Servers that ask for a certificate, take none, and answer the optional command with an error.
    const tlsSide = createTlsServer(
      {
        cert: chain.leaf.pem + chain.intermediate.pem,
        key: await privateKeyPem(chain.leaf.key),
        requestCert: true,
        rejectUnauthorized: false,
        // TLS 1.2: no session tickets after the handshake to end the wait by themselves.
        maxVersion: 'TLSv1.2',
      },
      (tls) => {
        tls.on('error', () => {});
        tls.once('data', (d) =>
          tls.write(/^CAPA/.test(d.toString()) ? '-ERR unknown command\r\n' : '500 FEAT not understood\r\n'),
        );
      },
    );
    tlsSide.on('tlsClientError', () => {});
    const plain = (greeting: string, upgrade: RegExp, ok: string) =>
      createServer((sock) => {
        sockets.add(sock);
        sock.on('error', () => {});
        sock.write(greeting);
        sock.once('data', (d) => {
          if (upgrade.test(d.toString())) sock.write(ok, () => tlsSide.emit('connection', sock));
        });
      });
    for (const [proto, srv] of [
      ['pop3', plain('+OK POP3 ready\r\n', /^STLS/, '+OK Begin TLS\r\n')],
      ['ftp', plain('220 FTP ready\r\n', /^AUTH TLS/, '234 Proceed\r\n')],
    ] as const) {
      await new Promise<void>((r) => srv.listen(0, LOOPBACK, r));
      try {
        const t0 = performance.now();
        const obs = await probe({
          host: LOOPBACK,
          port: (srv.address() as { port: number }).port,
          starttls: proto,
          timeouts: TIMEOUTS,
        });
        assert.equal(obs.error, null, proto);
        assert.equal(obs.clientCert, 'optional', proto);
        assert.ok(
          performance.now() - t0 < 900,
          `${proto}: decided by the answer, not by a second of silence`,
        );
      } finally {
        await new Promise<void>((r) => srv.close(() => r()));
      }
    }
  });

  test('through the checker: client-cert-required quoting the server', async () => {
    const r = await createChecker({ ca: chain.root.pem, revocation: 'off' }).check(
      `smtp://127.0.0.1:${port}`,
    );
    assert.equal(r.status, 'warning', JSON.stringify(r.findings));
    assert.deepEqual(
      r.findings.map((f) => f.code),
      ['client-cert-required'],
    );
    assert.match(
      r.findings[0]!.message,
      /after TLS it answered "421 4\.7\.1 mail\.test: Error: No client certificate presented"/,
    );
  });
});

describe('STARTTLS against a real PostgreSQL server (ssl=on)', () => {
  const NOBODY = { uid: 65534, gid: 65534 };
  let dir = '';
  let pg: ChildProcess | null = null;
  let pgExit: Promise<unknown> | null = null;

  after(async () => {
    if (pg && pgExit && pg.exitCode === null && pg.signalCode === null) {
      pg.kill('SIGTERM'); // smart shutdown; no client is left connected
      try {
        await within(pgExit, 10_000, 'PostgreSQL shutdown');
      } catch {
        pg.kill('SIGKILL');
        await within(pgExit, 5000, 'PostgreSQL kill').catch(() => {});
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('postgres: SSLRequest, then the chain as sent', { timeout: 30_000 }, async (t) => {
    const bin = postgresBinDir();
    if (!bin) {
      t.skip('PostgreSQL binaries not found (no initdb/postgres in /usr/local/bin or pg_config --bindir)');
      return;
    }
    // initdb and postgres refuse to run as root: as root, run them as "nobody" (spawn's uid/gid,
    // which also drops the supplementary groups); otherwise as ourselves.
    const asRoot = process.getuid?.() === 0;
    const as = asRoot ? NOBODY : {};
    if (asRoot) {
      const probeUser = spawnSync(join(bin, 'postgres'), ['--version'], { ...as, encoding: 'utf8' });
      if (probeUser.error || probeUser.status !== 0) {
        t.skip(
          `running as root and cannot run PostgreSQL as the unprivileged user nobody (uid 65534): ${probeUser.error?.message ?? probeUser.stderr}`,
        );
        return;
      }
    }
    const chain = await makeChain({ names: [LOOPBACK] });
    dir = mkdtempSync(join(tmpdir(), 'certvet-pg-'));
    if (asRoot) chownSync(dir, NOBODY.uid, NOBODY.gid);
    chmodSync(dir, 0o700);
    const data = join(dir, 'data');
    const init = spawnSync(
      join(bin, 'initdb'),
      ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--locale=C', '-E', 'UTF8'],
      { ...as, encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(init.status, 0, `initdb failed: ${init.error?.message ?? ''}${init.stderr}`);
    const crt = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    writeFileSync(crt, chain.leaf.pem + chain.intermediate.pem, { mode: 0o644 });
    writeFileSync(key, await privateKeyPem(chain.leaf.key), { mode: 0o600 });
    if (asRoot) {
      chownSync(crt, NOBODY.uid, NOBODY.gid);
      chownSync(key, NOBODY.uid, NOBODY.gid);
    }
    const port = await freePort();
    let stderr = '';
    const child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-c',
        `listen_addresses=${LOOPBACK}`,
        '-c',
        `port=${port}`,
        '-c',
        `unix_socket_directories=${dir}`,
        '-c',
        'ssl=on',
        '-c',
        `ssl_cert_file=${crt}`,
        '-c',
        `ssl_key_file=${key}`,
        '-c',
        'fsync=off',
      ],
      { ...as, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    pg = child;
    pgExit = new Promise((resolve) => child.once('exit', resolve));
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 16_384) stderr += d.toString('utf8');
    });
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(port))) {
      if (child.exitCode !== null || child.signalCode !== null)
        assert.fail(`postgres exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
      if (Date.now() > deadline) assert.fail(`postgres did not accept connections within 15 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const obs = await probe({
      host: LOOPBACK,
      port,
      starttls: 'postgres',
      ca: [chain.root.pem],
      timeouts: TIMEOUTS,
    });
    assert.equal(obs.error, null, `${obs.error?.code}: ${obs.error?.message}\n${stderr}`);
    assert.deepEqual(Buffer.from(obs.certificates[0]!), Buffer.from(chain.leaf.der));
    assert.deepEqual(Buffer.from(obs.certificates[1]!), Buffer.from(chain.intermediate.der));
    assert.ok(obs.protocol === 'TLSv1.2' || obs.protocol === 'TLSv1.3', `protocol ${obs.protocol}`);
    assert.equal(obs.crossCheck?.authorized, true, obs.crossCheck?.error ?? '');
  });
});

// ---------------------------------------------------------------------------------------------
// parseTarget / parseResolve (pure).
// ---------------------------------------------------------------------------------------------

describe('parseTarget', () => {
  test('smtp://host:port: STARTTLS smtp on that port', () => {
    const t = parseTarget('smtp://mail.example:2525');
    assert.equal(t.host, 'mail.example');
    assert.equal(t.port, 2525);
    assert.equal(t.starttls, 'smtp');
    assert.equal(t.scheme, 'smtp');
  });
  test('imaps://x: implicit TLS on 993, no STARTTLS', () => {
    const t = parseTarget('imaps://x');
    assert.deepEqual([t.host, t.port, t.starttls, t.scheme], ['x', 993, null, 'imaps']);
  });
  test('scheme defaults: postgres, mysql, xmpp, ldap, submission', () => {
    const cases: [string, number, StartTlsProtocol][] = [
      ['postgresql://db.example', 5432, 'postgres'],
      ['mysql://db.example', 3306, 'mysql'],
      ['xmpp://chat.example', 5222, 'xmpp'],
      ['ldap://dir.example', 389, 'ldap'],
      ['submission://mail.example', 587, 'smtp'],
    ];
    for (const [raw, port, starttls] of cases) {
      const t = parseTarget(raw);
      assert.deepEqual([t.port, t.starttls], [port, starttls], raw);
    }
  });
  test('[::1]:8443: bracketed IPv6 with a port', () => {
    const t = parseTarget('[::1]:8443');
    assert.deepEqual([t.host, t.port, t.starttls], ['::1', 8443, null]);
  });
  test('bare ::1: the whole IPv6 literal, default port', () => {
    const t = parseTarget('::1');
    assert.deepEqual([t.host, t.port], ['::1', 443]);
    assert.deepEqual([parseTarget('[::1]').host, parseTarget('[::1]').port], ['::1', 443]);
  });
  test('a bare host: port 443 (or defaultPort), lower-cased', () => {
    const t = parseTarget('Host');
    assert.deepEqual([t.host, t.port, t.starttls, t.scheme], ['host', 443, null, null]);
    assert.equal(parseTarget('host', { defaultPort: 8443 }).port, 8443);
    assert.equal(parseTarget('host:25', { starttls: 'smtp' }).starttls, 'smtp');
  });
  test('a STARTTLS protocol given for scheme-less targets leaves a scheme its own meaning', () => {
    assert.equal(parseTarget('smtps://m.example', { starttls: 'smtp' }).starttls, null);
    assert.equal(parseTarget('imap://m.example', { starttls: 'smtp' }).starttls, 'imap');
    assert.equal(parseTarget('https://m.example', { starttls: 'smtp' }).starttls, null);
  });
  test('no message repeats a password, whatever the path a target takes (checker options, a target file)', async () => {
    const checker = createChecker({ revocation: 'off', timeout: '2s' });
    try {
      for (const input of [
        { target: ' mysql://root:hunter2@db.example', bogus: 1 },
        { target: ' mysql://root:hunter2@db.example', starttls: 'gopher' },
        ' mysql://root:hunter2@db.example',
      ])
        await assert.rejects(
          () => checker.check(input as never),
          (e: Error) =>
            e instanceof CertvetOptionError && !e.message.includes('hunter2') && e.message.includes('***'),
        );
    } finally {
      await checker.close();
    }
    // In a plain target file "#" inside a target is part of it (a password is then refused whole,
    // not cut at the "#" into a host and a "port").
    const r = await runCli(['check', '-f', '-'], {
      input: 'mysql://root:hunter#2@db.example\n# a comment\n',
    });
    assert.equal(r.code, 64);
    assert.match(
      r.stderr,
      /^certvet: stdin:1: "mysql:\/\/root:\*\*\*@db\.example": a password in a target is refused/,
    );
    assert.doesNotMatch(r.stderr, /hunter/);
  });

  test('the checker: --starttls does not override a scheme; a target object contradicting its scheme is refused', async () => {
    const checker = createChecker({ starttls: 'smtp', revocation: 'off', timeout: '2s' });
    try {
      // smtps:// with a global smtp: implicit TLS (refused at once on a closed port, no SMTP dialogue).
      const r = await checker.check('smtps://127.0.0.1:1');
      assert.equal(r.status, 'error');
      assert.equal(r.findings[0]?.code, 'connect-failed');
      await assert.rejects(
        () => checker.check({ target: 'smtps://127.0.0.1:1', starttls: 'smtp' }),
        (e: Error) =>
          e instanceof CertvetOptionError &&
          /target smtps:\/\/127\.0\.0\.1:1: starttls: "smtp" contradicts the smtps:\/\/ scheme \(TLS from the first byte\)/.test(
            e.message,
          ),
      );
      // Agreeing with the scheme is fine.
      const same = await checker.check({ target: 'imap://127.0.0.1:1', starttls: 'imap' });
      assert.equal(same.findings[0]?.code, 'connect-failed');
    } finally {
      await checker.close();
    }
  });
  test('smtp://[::1]:2525/path: brackets, port and path', () => {
    const t = parseTarget('smtp://[::1]:2525/ignored?x#y');
    assert.deepEqual([t.host, t.port, t.starttls], ['::1', 2525, 'smtp']);
  });
  test('invalid ports: TargetError', () => {
    for (const raw of ['host:0', 'host:65536', 'host:99999', 'host:abc', 'host:', '[::1]:x', 'smtp://h:-1'])
      assert.throws(() => parseTarget(raw), TargetError, raw);
    assert.throws(() => parseTarget('host:70000'), /invalid port "70000"/);
  });
  test('userinfo: a user name only for mysql://, never a password (refused without repeating it)', () => {
    assert.equal(parseTarget('mysql://monitor@db.example').user, 'monitor');
    assert.equal(parseTarget('mysql://mon%40itor@db.example:3307').user, 'mon@itor');
    assert.deepEqual(
      [parseTarget('mysql://a@b@db.example').user, parseTarget('mysql://a@b@db.example').host],
      ['a@b', 'db.example'],
      'the last "@" ends the userinfo',
    );
    assert.equal(parseTarget('mysql://db.example').user, null);
    assert.equal(parseTarget('db.example').user, null);
    // The raw target keeps the user (it is no secret): reports show what was written.
    assert.equal(parseTarget('mysql://monitor@db.example').raw, 'mysql://monitor@db.example');
    for (const raw of [
      'mysql://monitor:hunter2@db.example',
      'postgres://app:hunter2@db.example/prod',
      'https://:hunter2@www.example',
      'redis://u:hunter2@cache.example',
      'u:hunter2@www.example:443',
      // A "/", "?" or "#" in a password does not make the rest a path (found by review).
      'mysql://root:1234/hunter2@db.example',
      'mysql://root:p#hunter2@db.example',
      'https://u:se/hunter2@www.example',
      'mysql://root:a?hunter2@db.example',
      '  mysql://root:hunter2@db.example',
    ]) {
      assert.throws(
        () => parseTarget(raw),
        (e: Error) => e instanceof TargetError && !e.message.includes('hunter2') && /\*\*\*@/.test(e.message),
        raw,
      );
    }
    assert.throws(
      () => parseTarget('mysql://monitor:hunter2@db.example'),
      /a password in a target is refused/,
    );
    assert.throws(
      () => parseTarget('postgres://app@db.example'),
      /"postgres:\/\/app@db\.example": a user name applies only to mysql:\/\/ targets .*remove "app@"/,
    );
    assert.throws(() => parseTarget('https://me@www.example'), /applies only to mysql:\/\//);
    assert.throws(() => parseTarget('me@www.example'), /only taken in a mysql:\/\/user@host target/);
    assert.throws(() => parseTarget('mysql://%ZZ@db.example'), /not valid percent-encoding/);
    assert.throws(() => parseTarget('mysql://@db.example'), /1 to 80 characters/);
    assert.throws(() => parseTarget('mysql://a%00b@db.example'), /without control characters/);
    assert.throws(() => parseTarget('mysql://a%0Ab@db.example'), /without control characters/);
    assert.throws(() => parseTarget(`mysql://${'u'.repeat(81)}@db.example`), /1 to 80 characters/);
    assert.equal(parseTarget(`mysql://${'ü'.repeat(80)}@db.example`).user, 'ü'.repeat(80));
    assert.equal(redactTarget('mysql://m:secret@db'), 'mysql://m:***@db');
    assert.equal(redactTarget(' mysql://m:se/c#ret@db:3306 '), 'mysql://m:***@db:3306');
    assert.equal(redactTarget('mysql://m@db:3306/x?y=1'), 'mysql://m@db:3306/x?y=1');
  });
  test('unknown scheme: TargetError naming it', () => {
    assert.throws(() => parseTarget('gopher://x'), TargetError);
    assert.throws(() => parseTarget('gopher://x'), /unsupported scheme "gopher"/);
  });
  test('other malformed targets: TargetError', () => {
    for (const raw of ['', '   ', '[::1', '[127.0.0.1]:443', '[::1]x', 'bad host', 'https://:443'])
      assert.throws(() => parseTarget(raw), TargetError, JSON.stringify(raw));
  });
});

describe('parseResolve', () => {
  test('HOST:PORT:[v6], HOST:PORT:v6 and HOST:PORT:v4', () => {
    assert.deepEqual(parseResolve('Example.com:443:[::1]'), {
      host: 'example.com',
      port: 443,
      address: '::1',
    });
    assert.deepEqual(parseResolve('example.com:8443:::1'), {
      host: 'example.com',
      port: 8443,
      address: '::1',
    });
    assert.deepEqual(parseResolve('example.com:25:127.0.0.1'), {
      host: 'example.com',
      port: 25,
      address: '127.0.0.1',
    });
  });
  test('malformed: TargetError', () => {
    for (const v of ['example.com:443', 'example.com:443:not-an-ip', 'example.com:0:127.0.0.1', 'x:1:[::1'])
      assert.throws(() => parseResolve(v), TargetError, v);
  });
});
