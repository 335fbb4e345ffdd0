import { Conversation, StartTlsError } from './conversation.js';
import { closeNotify } from './farewell.js';
import type { Leave, StartTlsContext } from './index.js';

/** PostgreSQL SSLRequest (protocol §55.2.10): int32 8, int32 80877103 → 'S' (or 'N': no TLS). */
export async function postgres({ socket }: StartTlsContext): Promise<Leave> {
  const c = new Conversation(socket);
  const req = Buffer.alloc(8);
  req.writeInt32BE(8, 0);
  req.writeInt32BE(80877103, 4);
  c.write(req);
  const b = await c.read((buf) => (buf.length >= 1 ? { value: buf[0]!, consumed: 1 } : null));
  if (b === 0x4e)
    throw new StartTlsError('the PostgreSQL server does not accept TLS (it answered N to SSLRequest)');
  if (b !== 0x53)
    throw new StartTlsError(`the server answered 0x${b.toString(16)} to a PostgreSQL SSLRequest`);
  c.close();
  // TLS close_notify: PostgreSQL logs a dropped connection once per check (farewell.ts).
  return closeNotify;
}
