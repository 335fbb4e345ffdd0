import { createDecipheriv, createHmac } from 'node:crypto';

/**
 * Reads the server's Certificate handshake message from the raw bytes it sent: plaintext
 * records for TLS 1.0–1.2, and for TLS 1.3 the encrypted handshake records decrypted with
 * the server handshake traffic secret (from Node's 'keylog' event, RFC 8446 §7.1/§7.3/§5.2).
 * Returns null when the message cannot be found; callers then fall back to Node's view.
 */
export interface ServerHandshake {
  /** The Certificate message's certificates (DER, in the order sent), or null if not seen. */
  readonly certificates: Uint8Array[] | null;
  /** The server sent a CertificateRequest (it asked for a client certificate). */
  readonly certificateRequested: boolean;
  /** The protocol version the ServerHello chose (`TLSv1.2`), or null before it was read. */
  readonly protocol: string | null;
  /**
   * Nothing the server sends later can change this answer: under TLS 1.3 the Certificate
   * message has been read (a CertificateRequest comes before it, RFC 8446 §4.4), before 1.3
   * the ServerHelloDone (which follows the Certificate and any CertificateRequest, RFC 5246
   * §7.3). The records after that point are not read, and callers need not parse again when
   * more bytes arrive.
   */
  readonly complete: boolean;
}

export function parseServerHandshake(bytes: Buffer, serverHandshakeSecret: Buffer | null): ServerHandshake {
  // Total over any input: every read below is bounds-checked, and the work is linear in the
  // input (the handshake bytes are gathered once and each message is read once). Records and
  // messages after the point where the answer is complete are not read (nor decrypted).
  const records = readRecords(bytes);
  const handshake = new Accumulator();
  // (Set inside readMessages: the cast keeps TypeScript from narrowing it to null out here.)
  let hello = null as ServerHello | null;
  let seq = 0n;
  let keys: { key: Buffer; iv: Buffer; alg: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' } | null =
    null;
  // What the messages read so far said, and where the next message starts.
  let certificate: Buffer | null = null;
  let certificateRequested = false;
  let complete = false;
  let next = 0;
  const readMessages = () => {
    const hs = handshake.view();
    while (next + 4 <= hs.length) {
      const len = hs.readUIntBE(next + 1, 3);
      if (next + 4 + len > hs.length) return;
      const type = hs[next]!;
      // (A body cut before the Accumulator grows still views the same bytes in its old buffer.)
      const body = hs.subarray(next + 4, next + 4 + len);
      next += 4 + len;
      if (type === 2) hello ??= serverHelloOf(body);
      else if (type === 11) certificate ??= body;
      else if (type === 13) certificateRequested = true;
      // Past the ServerHello: the end of what can matter (see ServerHandshake.complete); the
      // messages after it are not read, whether in this record or later ones.
      if (hello && (hello.tls13 ? type === 11 : type === 14)) {
        complete = true;
        return;
      }
    }
  };
  for (const r of records) {
    if (r.type === 22) handshake.push(r.body);
    else if (r.type === 23 && hello?.tls13) {
      if (!serverHandshakeSecret) break;
      keys ??= trafficKeys(serverHandshakeSecret, hello.suite);
      if (!keys) break;
      const plain = decrypt(keys, seq++, r.header, r.body);
      if (!plain) break; // past the handshake keys (application data) or not ours
      // TLSInnerPlaintext: content, content type, zero padding.
      let end = plain.length - 1;
      while (end >= 0 && plain[end] === 0) end--;
      if (end < 0 || plain[end] !== 22) continue;
      handshake.push(plain.subarray(0, end));
    } else continue;
    readMessages();
    if (complete) break;
  }
  return {
    certificates: certificate ? certificateList(certificate, hello?.tls13 ?? false) : null,
    certificateRequested,
    protocol: hello?.protocol ?? null,
    complete,
  };
}

/** A growing byte buffer with amortised O(1) appends (Buffer.concat per record is quadratic). */
class Accumulator {
  private buf = Buffer.alloc(0);
  private len = 0;

  push(b: Buffer): void {
    if (this.len + b.length > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.len + b.length, this.buf.length * 2, 256));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * The certificate_list of a Certificate message (RFC 5246 §7.4.2, RFC 8446 §4.4.2). A list
 * whose framing is inconsistent yields the certificates read before the inconsistency (none
 * when the header itself is broken): callers fall back to Node's view when it is empty.
 */
function certificateList(m: Buffer, tls13: boolean): Uint8Array[] {
  const certs: Uint8Array[] = [];
  let q = 0;
  if (tls13) {
    if (m.length < 1) return certs;
    q += 1 + m[0]!; // certificate_request_context
  }
  if (q + 3 > m.length) return certs;
  const listEnd = Math.min(q + 3 + m.readUIntBE(q, 3), m.length);
  q += 3;
  while (q + 3 <= listEnd) {
    const cl = m.readUIntBE(q, 3);
    if (q + 3 + cl > listEnd) break;
    certs.push(new Uint8Array(m.subarray(q + 3, q + 3 + cl)));
    q += 3 + cl;
    if (tls13) {
      if (q + 2 > listEnd) break;
      q += 2 + m.readUInt16BE(q); // extensions
    }
  }
  return certs;
}

interface TlsRecord {
  readonly type: number;
  readonly header: Buffer;
  readonly body: Buffer;
}

function readRecords(b: Buffer): TlsRecord[] {
  const out: TlsRecord[] = [];
  let p = 0;
  while (p + 5 <= b.length) {
    const len = b.readUInt16BE(p + 3);
    if (p + 5 + len > b.length) break;
    out.push({ type: b[p]!, header: b.subarray(p, p + 5), body: b.subarray(p + 5, p + 5 + len) });
    p += 5 + len;
  }
  return out;
}

interface ServerHello {
  readonly suite: number;
  readonly tls13: boolean;
  /** The version the server chose, as Node names it (`TLSv1.2`), or null for one it does not. */
  readonly protocol: string | null;
}

const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  768: 'SSLv3',
  769: 'TLSv1',
  770: 'TLSv1.1',
  771: 'TLSv1.2',
  772: 'TLSv1.3',
};

/**
 * A ServerHello's cipher suite and whether it selected TLS 1.3 (supported_versions), or null
 * when it is too short for its fixed fields (then no suite: nothing is decrypted).
 */
function serverHelloOf(m: Buffer): ServerHello | null {
  let q = 2 + 32; // legacy_version, random
  if (q + 1 > m.length) return null;
  const legacyVersion = m.readUInt16BE(0);
  const sidLen = m[q]!;
  q += 1 + sidLen;
  if (q + 3 > m.length) return null;
  const suite = m.readUInt16BE(q);
  q += 2 + 1; // cipher suite, compression
  let tls13 = false;
  if (q + 2 <= m.length) {
    const extEnd = Math.min(q + 2 + m.readUInt16BE(q), m.length);
    q += 2;
    while (q + 4 <= extEnd) {
      const et = m.readUInt16BE(q);
      const el = m.readUInt16BE(q + 2);
      // supported_versions
      if (et === 43 && el === 2 && q + 6 <= extEnd && m.readUInt16BE(q + 4) === 0x0304) tls13 = true;
      q += 4 + el;
    }
  }
  return { suite, tls13, protocol: tls13 ? 'TLSv1.3' : (PROTOCOL_NAMES[legacyVersion] ?? null) };
}

function hkdfExpandLabel(secret: Buffer, label: string, length: number, hash: 'sha256' | 'sha384'): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, full.length]),
    full,
    Buffer.from([0]),
  ]);
  // One HMAC block suffices for key and IV lengths (<= hash length).
  return createHmac(hash, secret)
    .update(Buffer.concat([info, Buffer.from([1])]))
    .digest()
    .subarray(0, length);
}

function trafficKeys(secret: Buffer, suite: number) {
  switch (suite) {
    case 0x1301:
      return {
        key: hkdfExpandLabel(secret, 'key', 16, 'sha256'),
        iv: hkdfExpandLabel(secret, 'iv', 12, 'sha256'),
        alg: 'aes-128-gcm' as const,
      };
    case 0x1302:
      return {
        key: hkdfExpandLabel(secret, 'key', 32, 'sha384'),
        iv: hkdfExpandLabel(secret, 'iv', 12, 'sha384'),
        alg: 'aes-256-gcm' as const,
      };
    case 0x1303:
      return {
        key: hkdfExpandLabel(secret, 'key', 32, 'sha256'),
        iv: hkdfExpandLabel(secret, 'iv', 12, 'sha256'),
        alg: 'chacha20-poly1305' as const,
      };
    default:
      return null;
  }
}

function decrypt(
  k: { key: Buffer; iv: Buffer; alg: string },
  seq: bigint,
  header: Buffer,
  body: Buffer,
): Buffer | null {
  if (body.length < 17) return null;
  const nonce = Buffer.from(k.iv);
  for (let i = 0; i < 8; i++) nonce[11 - i]! ^= Number((seq >> BigInt(8 * i)) & 0xffn);
  try {
    const d = createDecipheriv(k.alg as 'aes-128-gcm', k.key, nonce, { authTagLength: 16 });
    d.setAAD(header);
    d.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
  } catch {
    return null;
  }
}
