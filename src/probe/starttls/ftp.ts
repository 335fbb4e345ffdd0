import { Conversation, quote, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

/**
 * The end of one FTP reply (RFC 959 §4.2): "code text", or "code-text" … "code text" with any
 * lines between. A first line that does not begin with a reply code ends it at once, so a
 * server that is not FTP fails on the code check instead of being waited on until the deadline.
 */
function replyEnd(): (line: string) => boolean {
  let first = true;
  return (l) => {
    const wasFirst = first;
    first = false;
    if (wasFirst && !/^\d{3}(?:[ -]|$)/.test(l)) return true;
    return /^\d{3}(?: |$)/.test(l);
  };
}

/** FTP AUTH TLS (RFC 4217): 220 greeting, "AUTH TLS" → 234. */
export async function ftp({ socket }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  const greeting = await c.readLines(replyEnd());
  if (!greeting.at(-1)!.startsWith('220'))
    throw new StartTlsError(`FTP greeting was ${quote(greeting.at(-1)!)}`);
  c.write('AUTH TLS\r\n');
  const r = await c.readLines(replyEnd());
  if (!r.at(-1)!.startsWith('234')) throw new StartTlsError(`FTP AUTH TLS was answered ${quote(r.at(-1)!)}`);
  c.close();
}
