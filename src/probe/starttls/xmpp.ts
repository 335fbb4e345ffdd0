import { Conversation, quote, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

/**
 * A stream error in words (RFC 6120 §4.9): its condition and the server's text, and for
 * host-unknown the domain the stream named — an IP address when the target was one, which is
 * what `--servername` (the XMPP domain) is for.
 */
function streamError(xml: string, to: string): string {
  const body = /<stream:error\b[^>]*>([\s\S]*?)<\/stream:error>/.exec(xml)?.[1] ?? '';
  const condition = /<([a-z-]+)\b[^>]*xmpp-streams/.exec(body)?.[1];
  const text = /<text\b[^>]*>([\s\S]*?)<\/text>/.exec(body)?.[1]?.trim();
  let m = 'the XMPP server sent a stream error';
  if (condition && condition !== 'text') m += ` (${condition})`;
  if (text) m += `: ${quote(text)}`;
  if (condition === 'host-unknown')
    m += `; the stream named the domain ${quote(to)} (give the XMPP domain with --servername)`;
  return m;
}

/** XMPP STARTTLS (RFC 6120 §5): stream header, features with <starttls/>, <starttls/> → <proceed/>. */
export async function xmpp({ socket, host }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  const to = host.replace(/[<>&'"]/g, '');
  c.write(
    `<?xml version='1.0'?><stream:stream to='${to}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
  );
  const features = await c.read((buf) => {
    const t = buf.toString('utf8');
    // XML from the first byte (after blanks): anything else is another protocol (an FTP or SMTP
    // greeting), which fails now rather than at the deadline.
    const lead = t.trimStart();
    if (lead && !lead.startsWith('<'))
      throw new StartTlsError(`the server did not answer with XMPP: ${quote(lead.split(/\r?\n/, 1)[0]!)}`);
    const end = t.indexOf('</stream:features>');
    if (end >= 0) return { value: t.slice(0, end), consumed: Buffer.byteLength(t.slice(0, end + 18)) };
    if (/<stream:error/.test(t) && /<\/stream:error>/.test(t)) throw new StartTlsError(streamError(t, to));
    return null;
  });
  if (!/<starttls\b[^>]*urn:ietf:params:xml:ns:xmpp-tls/.test(features))
    throw new StartTlsError('the XMPP server does not offer STARTTLS');
  c.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  const answer = await c.read((buf) => {
    const t = buf.toString('utf8');
    const m = /<(proceed|failure)\b[^>]*?(\/>|>\s*<\/\1>)/.exec(t);
    return m ? { value: m[1]!, consumed: Buffer.byteLength(t.slice(0, m.index + m[0].length)) } : null;
  });
  if (answer !== 'proceed') throw new StartTlsError('the XMPP server answered <failure/> to STARTTLS');
  c.close();
}
