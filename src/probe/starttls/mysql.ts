import { Conversation, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;

/**
 * MySQL/MariaDB TLS: read the server's Initial Handshake packet (protocol 10), check
 * CLIENT_SSL, send an SSLRequest packet (sequence 1), then TLS on the same connection.
 */
export async function mysql({ socket }: StartTlsContext): Promise<void> {
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
  if (verEnd < 0 || packet.length < verEnd + 1 + 4 + 8 + 1 + 2)
    throw new StartTlsError('truncated MySQL greeting');
  const capLow = packet.readUInt16LE(verEnd + 1 + 4 + 8 + 1);
  if ((capLow & CLIENT_SSL) === 0)
    throw new StartTlsError('the MySQL server does not support TLS (no CLIENT_SSL capability)');
  const body = Buffer.alloc(32);
  body.writeUInt32LE(CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION, 0);
  body.writeUInt32LE(16 * 1024 * 1024, 4);
  body[8] = 45; // utf8mb4_general_ci
  const header = Buffer.from([32, 0, 0, 1]);
  c.write(Buffer.concat([header, body]));
  c.close();
}
