import { Conversation, quote, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

/** IMAP STARTTLS (RFC 3501 §6.2.1 / RFC 9051): "* OK" greeting, then "c1 STARTTLS" → "c1 OK". */
export async function imap({ socket }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  const [greeting] = await c.readLines(() => true);
  if (!/^\* (OK|PREAUTH)\b/i.test(greeting!))
    throw new StartTlsError(`IMAP greeting was ${quote(greeting!)}`);
  c.write('c1 STARTTLS\r\n');
  const lines = await c.readLines((l) => l.startsWith('c1 '));
  const tagged = lines.at(-1)!;
  if (!/^c1 OK\b/i.test(tagged)) throw new StartTlsError(`IMAP STARTTLS was answered ${quote(tagged)}`);
  c.close();
}
