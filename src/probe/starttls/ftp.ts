import { Conversation, quote, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

const isFinal = (l: string) => /^\d{3}(?: |$)/.test(l);

/** FTP AUTH TLS (RFC 4217): 220 greeting, "AUTH TLS" → 234. */
export async function ftp({ socket }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  const greeting = await c.readLines(isFinal);
  if (!greeting.at(-1)!.startsWith('220'))
    throw new StartTlsError(`FTP greeting was ${quote(greeting.at(-1)!)}`);
  c.write('AUTH TLS\r\n');
  const r = await c.readLines(isFinal);
  if (!r.at(-1)!.startsWith('234')) throw new StartTlsError(`FTP AUTH TLS was answered ${quote(r.at(-1)!)}`);
  c.close();
}
