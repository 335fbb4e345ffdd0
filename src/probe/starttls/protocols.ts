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
