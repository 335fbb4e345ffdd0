import type { TLSSocket } from 'node:tls';
import { Conversation, StartTlsError } from './conversation.js';
import type { Leave, StartTlsContext } from './index.js';

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;

/**
 * The account certvet's login attempt names. It should not exist: the attempt is made only so
 * the server counts an authentication failure instead of an aborted handshake (see `leave`).
 */
export const MYSQL_PROBE_USER = 'certvet_probe';

/**
 * MySQL/MariaDB TLS: read the server's Initial Handshake packet (protocol 10), check
 * CLIENT_SSL, send an SSLRequest packet (sequence 1), then TLS on the same connection.
 * CLIENT_PLUGIN_AUTH is announced when the server has it (MariaDB takes the session's
 * capabilities from the SSLRequest, and a login that announces other ones is refused).
 */
export async function mysql({ socket, user }: StartTlsContext): Promise<Leave> {
  const c = new Conversation(socket);
  const packet = await c.read((buf) => {
    if (buf.length < 4) return null;
    const len = buf.readUIntLE(0, 3);
    if (len > 16384) throw new StartTlsError('the MySQL greeting packet is implausibly large');
    return buf.length >= 4 + len ? { value: buf.subarray(4, 4 + len), consumed: 4 + len } : null;
  });
  if (packet[0] === 0xff)
    throw new StartTlsError(
      `the MySQL server refused the connection: ${packet
        .subarray(3)
        .toString('latin1')
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, 120)}`,
    );
  if (packet[0] !== 10) throw new StartTlsError(`unsupported MySQL protocol version ${packet[0]}`);
  const verEnd = packet.indexOf(0, 1);
  const capLowAt = verEnd + 1 + 4 + 8 + 1;
  if (verEnd < 0 || packet.length < capLowAt + 2) throw new StartTlsError('truncated MySQL greeting');
  const capLow = packet.readUInt16LE(capLowAt);
  // character set (1), status (2), then the upper capability flags (2), in protocol 4.1 greetings.
  const capHigh = packet.length >= capLowAt + 7 ? packet.readUInt16LE(capLowAt + 5) : 0;
  const serverCaps = (capHigh << 16) | capLow;
  if ((capLow & CLIENT_SSL) === 0)
    throw new StartTlsError('the MySQL server does not support TLS (no CLIENT_SSL capability)');
  const caps =
    CLIENT_LONG_PASSWORD |
    CLIENT_PROTOCOL_41 |
    CLIENT_SSL |
    CLIENT_SECURE_CONNECTION |
    (serverCaps & CLIENT_PLUGIN_AUTH);
  c.write(mysqlPacket(1, loginHead(caps)));
  c.close();
  return (tls) => leave(tls, caps, user ?? MYSQL_PROBE_USER);
}

function mysqlPacket(seq: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(body.length, 0, 3);
  header[3] = seq & 0xff;
  return Buffer.concat([header, body]);
}

/** What an SSLRequest and a HandshakeResponse41 begin with: capabilities, max packet, charset, 23 zeros. */
function loginHead(caps: number): Buffer {
  const body = Buffer.alloc(32);
  body.writeUInt32LE(caps >>> 0, 0);
  body.writeUInt32LE(16 * 1024 * 1024, 4);
  body[8] = 45; // utf8mb4_general_ci
  return body;
}

/**
 * Ends the session as a login attempt that fails, never as a dropped handshake. MySQL and
 * MariaDB count a connection that ends before its HandshakeResponse as a handshake error of
 * the client's host, and block the host after `max_connect_errors` of them (100 by default):
 * a monitor that only read the certificate every few minutes would lock itself, and everything
 * else on its host, out of the database within hours ("Host … is blocked because of many
 * connection errors"). An authentication failure does not count towards that. So certvet
 * logs in as MYSQL_PROBE_USER (or the target's `mysql://user@`) with an empty password, never
 * a real one, answers an authentication-method switch with an empty reply of the size the
 * method expects, and leaves at the server's OK (with COM_QUIT) or ERR. An account that does
 * not exist, or has no password, locks nothing; naming one that has a password would count
 * towards its FAILED_LOGIN_ATTEMPTS / max_password_errors (docs/check.md says so). The server logs
 * an "Access denied" line for it, where it logged an aborted connection before.
 */
function leave(tls: TLSSocket, caps: number, user: string): Promise<void> {
  const usesPlugins = (caps & CLIENT_PLUGIN_AUTH) !== 0;
  const response = Buffer.concat([
    loginHead(caps),
    // The session's character set is utf8mb4 (loginHead).
    Buffer.from(`${user}\0`, 'utf8'),
    Buffer.from([0]), // auth-response: length 0
    ...(usesPlugins ? [Buffer.from('mysql_native_password\0', 'latin1')] : []),
  ]);
  return new Promise<void>((resolve) => {
    let buf = Buffer.alloc(0);
    let exchanges = 0;
    const stop = (last?: Buffer) => {
      tls.off('data', onData);
      // close_notify (after COM_QUIT when logged in), then let the server close.
      if (last) tls.end(last);
      else tls.end();
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUIntLE(0, 3);
        // Authentication packets are small; a server sending megabytes here is not logging us in.
        if (len > 4096) return stop();
        if (buf.length < 4 + len) return;
        const seq = buf[3]!;
        const body = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        const first = body[0];
        if (first === 0x00) return stop(mysqlPacket(0, Buffer.from([0x01]))); // OK → COM_QUIT
        if (first !== 0xfe && first !== 0x01) return stop(); // ERR, or anything unexpected
        if (++exchanges > 4) return stop();
        // caching_sha2_password's fast-auth success (01 03) is followed by the OK: nothing to say.
        if (first === 0x01 && body[1] === 0x03) continue;
        // AuthSwitchRequest: the method's name, NUL-terminated. client_ed25519 wants a 64-byte
        // signature; the others (native, caching_sha2, sha256, old) take an empty reply.
        // AuthMoreData (caching_sha2/sha256 asking for the password over TLS): an empty string.
        const method =
          first === 0xfe ? body.subarray(1, Math.max(1, body.indexOf(0, 1))).toString('latin1') : '';
        const reply =
          first === 0x01
            ? Buffer.from([0])
            : method === 'client_ed25519'
              ? Buffer.alloc(64)
              : Buffer.alloc(0);
        tls.write(mysqlPacket(seq + 1, reply));
      }
    };
    tls.on('data', onData);
    tls.resume();
    tls.once('close', () => resolve());
    tls.write(mysqlPacket(2, response));
  });
}
