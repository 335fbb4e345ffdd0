import { Conversation, quote, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

// Every line of an SMTP reply is "code-text" but the last, "code text" (RFC 5321 §4.2.1). Any
// other line ends the reply too, so a server that is not SMTP (an IMAP "* OK" greeting) fails
// at once on the code check instead of being waited on until the deadline.
const isFinal = (l: string) => !/^\d{3}-/.test(l);

/** SMTP STARTTLS (RFC 3207): greeting 220, EHLO, STARTTLS advertised, STARTTLS → 220. */
export async function smtp({ socket }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  const greeting = await c.readLines(isFinal);
  if (!greeting.at(-1)!.startsWith('220'))
    throw new StartTlsError(`SMTP greeting was ${quote(greeting.join(' '))}, not 220`);
  c.write('EHLO certvet.invalid\r\n');
  const ehlo = await c.readLines(isFinal);
  if (!ehlo.at(-1)!.startsWith('250'))
    throw new StartTlsError(`SMTP EHLO was answered ${quote(ehlo.at(-1)!)}`);
  if (!ehlo.some((l) => /^250[ -]STARTTLS\b/i.test(l)))
    throw new StartTlsError('the SMTP server does not offer STARTTLS');
  c.write('STARTTLS\r\n');
  const r = await c.readLines(isFinal);
  if (!r.at(-1)!.startsWith('220')) throw new StartTlsError(`SMTP STARTTLS was answered ${quote(r.at(-1)!)}`);
  c.close();
}
