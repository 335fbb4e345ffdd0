import { Conversation, StartTlsError } from './conversation.js';
import type { StartTlsContext } from './index.js';

/** XMPP STARTTLS (RFC 6120 §5): stream header, features with <starttls/>, <starttls/> → <proceed/>. */
export async function xmpp({ socket, host }: StartTlsContext): Promise<void> {
  const c = new Conversation(socket);
  const to = host.replace(/[<>&'"]/g, '');
  c.write(
    `<?xml version='1.0'?><stream:stream to='${to}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`,
  );
  const features = await c.read((buf) => {
    const t = buf.toString('utf8');
    const end = t.indexOf('</stream:features>');
    if (end >= 0) return { value: t.slice(0, end), consumed: Buffer.byteLength(t.slice(0, end + 18)) };
    if (/<stream:error/.test(t) && /<\/stream:error>/.test(t))
      throw new StartTlsError('the XMPP server sent a stream error');
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
