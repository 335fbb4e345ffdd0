import { Conversation, quote, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

/** POP3 STLS (RFC 2595 §4): "+OK" greeting, "STLS" → "+OK". */
export async function pop3({ socket }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  const [greeting] = await c.readLines(() => true);
  if (!greeting!.startsWith('+OK')) throw new StartTlsError(`POP3 greeting was ${quote(greeting!)}`);
  c.write('STLS\r\n');
  const [r] = await c.readLines(() => true);
  if (!r!.startsWith('+OK')) throw new StartTlsError(`POP3 STLS was answered ${quote(r!)}`);
  c.close();
}
