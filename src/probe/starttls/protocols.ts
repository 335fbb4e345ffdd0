/** STARTTLS protocols certvet speaks (each in src/probe/starttls/). */
export const STARTTLS_PROTOCOLS = [
  'smtp',
  'imap',
  'pop3',
  'ftp',
  'ldap',
  'xmpp',
  'postgres',
  'mysql',
] as const;
export type StartTlsProtocol = (typeof STARTTLS_PROTOCOLS)[number];

/**
 * Protocols certvet also knows spoken over TLS from the first byte (smtps://, imaps://, pop3s://,
 * ftps://, ldaps://): the probe leaves those sessions with the protocol's goodbye.
 */
export type ImplicitTlsProtocol = 'smtp' | 'imap' | 'pop3' | 'ftp' | 'ldap';
