import { dnsSyntaxError, dnsWithinSubtree } from './dns.js';

export interface Mailbox {
  readonly local: string;
  readonly domain: string;
}

/** Parses an RFC 822 mailbox "local@domain" (RFC 5280 §4.2.1.6 rfc822Name). */
export function parseMailbox(text: string): Mailbox | null {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return null;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (local.includes('@') && !(local.startsWith('"') && local.endsWith('"'))) return null;
  if (/[\s\x00-\x1f\x7f]/.test(local) && !local.startsWith('"')) return null;
  if (dnsSyntaxError(domain.toLowerCase()) !== null) return null;
  return { local, domain: domain.toLowerCase() };
}

/** Mailbox equality: local part exact (case-sensitive), domain case-insensitive. */
export function mailboxEquals(a: Mailbox, b: Mailbox): boolean {
  return a.local === b.local && a.domain === b.domain;
}

/**
 * An rfc822Name constraint is a mailbox, a host ("example.com": mailboxes on that host) or a
 * domain (".example.com": mailboxes on any host below it). Returns null when valid.
 */
export function emailConstraintError(c: string): string | null {
  if (c.includes('@')) return parseMailbox(c) ? null : 'is not a valid mailbox';
  const host = c.startsWith('.') ? c.slice(1) : c;
  return dnsSyntaxError(host.toLowerCase()) === null ? null : 'is not a valid host or domain';
}

export function mailboxWithinSubtree(m: Mailbox, c: string): boolean {
  if (c.includes('@')) {
    const cm = parseMailbox(c);
    return cm !== null && mailboxEquals(m, cm);
  }
  if (c.startsWith('.')) return m.domain.endsWith(c.toLowerCase());
  return m.domain === c.toLowerCase();
}

export { dnsWithinSubtree };
