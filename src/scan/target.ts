import { isIP } from 'node:net';

import {
  type ImplicitTlsProtocol,
  STARTTLS_PROTOCOLS,
  type StartTlsProtocol,
} from '../probe/starttls/protocols.js';

export { STARTTLS_PROTOCOLS, type StartTlsProtocol };

/** Default ports per scheme; implicit-TLS schemes connect with TLS straight away. */
const SCHEMES: Readonly<
  Record<string, { port: number; starttls: StartTlsProtocol | null; overTls?: ImplicitTlsProtocol }>
> = {
  https: { port: 443, starttls: null },
  tls: { port: 443, starttls: null },
  smtps: { port: 465, starttls: null, overTls: 'smtp' },
  imaps: { port: 993, starttls: null, overTls: 'imap' },
  pop3s: { port: 995, starttls: null, overTls: 'pop3' },
  ldaps: { port: 636, starttls: null, overTls: 'ldap' },
  ftps: { port: 990, starttls: null, overTls: 'ftp' },
  smtp: { port: 25, starttls: 'smtp' },
  submission: { port: 587, starttls: 'smtp' },
  imap: { port: 143, starttls: 'imap' },
  pop3: { port: 110, starttls: 'pop3' },
  ftp: { port: 21, starttls: 'ftp' },
  ldap: { port: 389, starttls: 'ldap' },
  xmpp: { port: 5222, starttls: 'xmpp' },
  postgres: { port: 5432, starttls: 'postgres' },
  postgresql: { port: 5432, starttls: 'postgres' },
  mysql: { port: 3306, starttls: 'mysql' },
};

/** A parsed target: where to connect and how. */
export interface TargetSpec {
  /** The target as the user wrote it. */
  readonly raw: string;
  /** Host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly starttls: StartTlsProtocol | null;
  readonly scheme: string | null;
  /**
   * The user name of a `mysql://user@host` target: the account certvet's closing login names
   * (src/probe/starttls/mysql.ts), instead of `certvet_probe`. Null for every other target:
   * no other protocol logs in, so a user name elsewhere is refused, as is any password.
   */
  readonly user: string | null;
  /**
   * The protocol spoken over TLS from the first byte (smtps:// → smtp, imaps://, pop3s://,
   * ftps://, ldaps://), whose goodbye ends the session; null for every other target.
   */
  readonly protocolOverTls: ImplicitTlsProtocol | null;
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

const HOST_RE =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

function parsePort(p: string, raw: string): number {
  if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535)
    throw new TargetError(`"${raw}": invalid port "${p}"`);
  return Number(p);
}

/*
 * Cheap tests before net.isIP: Node's IPv6 pattern costs a few milliseconds to compile at its
 * first use, which host names and `ipv4:port` targets need not pay.
 */
/** Whether `s` can be an IPv6 literal: it has two colons at least. */
const mayBeIpv6 = (s: string): boolean => s.indexOf(':') !== s.lastIndexOf(':');
/** Whether `s` can be an IP literal of either family. */
const mayBeIp = (s: string): boolean => mayBeIpv6(s) || /^[\d.]+$/.test(s);

function checkHost(host: string, raw: string): string {
  if (mayBeIp(host) && isIP(host)) return host;
  if (!HOST_RE.test(host))
    throw new TargetError(`"${raw}": "${host}" is not a valid host name or IP address`);
  return host.toLowerCase();
}

/**
 * Parses `host`, `host:port`, `[v6]:port`, a bare IPv6 literal, or `scheme://host[:port][/...]`
 * (https, smtp, smtps, imap, imaps, pop3, pop3s, ftp, ldap, ldaps, xmpp, postgres, mysql).
 * `defaultPort` and `starttls` apply to scheme-less targets only (443, TLS from the first
 * byte): a scheme says both itself, so `--starttls smtp` never turns `smtps://` or `imap://`
 * into an SMTP dialogue.
 */
export function parseTarget(
  raw: string,
  opts: { defaultPort?: number; starttls?: StartTlsProtocol | null } = {},
): TargetSpec {
  const s = raw.trim();
  // Messages show the target without a password, should it have one.
  const shown = redactTarget(s);
  if (!s) throw new TargetError('empty target');
  let scheme: string | null = null;
  let user: string | null = null;
  let rest = s;
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(s);
  if (m) {
    scheme = m[1]!.toLowerCase();
    if (!(scheme in SCHEMES))
      throw new TargetError(
        `"${shown}": unsupported scheme "${scheme}" (supported: ${Object.keys(SCHEMES).join(', ')})`,
      );
    // The userinfo ends at the last "@" of the whole rest, path included: a password with a
    // "/", "?" or "#" in it must be refused and hidden, not read as a host and a path.
    rest = m[2]!;
    const at = rest.lastIndexOf('@');
    if (at >= 0) {
      user = userOf(rest.slice(0, at), scheme, shown);
      rest = rest.slice(at + 1);
    }
    rest = rest.replace(/[/?#].*$/, '');
  } else if (s.includes('@'))
    throw new TargetError(`"${shown}": a user name is only taken in a mysql://user@host target`);
  const def: (typeof SCHEMES)[string] = scheme
    ? SCHEMES[scheme]!
    : { port: opts.defaultPort ?? 443, starttls: null };
  let host: string;
  let port = def.port;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw new TargetError(`"${shown}": unclosed "[" in an IPv6 address`);
    host = rest.slice(1, end);
    if (isIP(host) !== 6) throw new TargetError(`"${shown}": "${host}" is not an IPv6 address`);
    const after = rest.slice(end + 1);
    if (after) {
      if (!after.startsWith(':'))
        throw new TargetError(`"${shown}": unexpected "${after}" after the address`);
      port = parsePort(after.slice(1), shown);
    }
  } else if (mayBeIpv6(rest) && isIP(rest) === 6) {
    host = rest;
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      host = rest.slice(0, colon);
      port = parsePort(rest.slice(colon + 1), shown);
    } else host = rest;
  }
  host = checkHost(host, shown);
  const starttls = scheme ? def.starttls : (opts.starttls ?? null);
  return { raw: s, host, port, starttls, scheme, user, protocolOverTls: def.overTls ?? null };
}

/** MySQL and MariaDB user names are at most 32 and 80 characters long. */
const MAX_USER_LENGTH = 80;

/**
 * The user name of a target's `userinfo@`. certvet never sends a password, and the target is
 * shown in every report, so a password is refused (and never repeated in the message); only a
 * mysql:// target logs in, so a user name elsewhere would be silently meaningless: refused too.
 */
function userOf(userinfo: string, scheme: string, shown: string): string {
  if (userinfo.includes(':'))
    throw new TargetError(
      `"${shown}": a password in a target is refused (certvet never logs in with one, and reports show the target): write it without ":password"`,
    );
  if (scheme !== 'mysql')
    throw new TargetError(
      `"${shown}": a user name applies only to mysql:// targets (certvet does not log in to ${scheme}://): remove "${userinfo}@"`,
    );
  let user: string;
  try {
    user = decodeURIComponent(userinfo);
  } catch {
    throw new TargetError(`"${shown}": the user name "${userinfo}" is not valid percent-encoding`);
  }
  if (!user || [...user].length > MAX_USER_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(user))
    throw new TargetError(
      `"${shown}": the user name must be 1 to ${MAX_USER_LENGTH} characters without control characters`,
    );
  return user;
}

/**
 * The target as written (trimmed), with any password in it replaced by `***`, for messages:
 * everything from the first ":" after the scheme (or the start) to the last "@", as the parser
 * reads a userinfo.
 */
export function redactTarget(raw: string): string {
  const s = raw.trim();
  if (!s.includes('@')) return s;
  const m = /^((?:[a-z][a-z0-9+.-]*:\/\/)?)(.*)$/is.exec(s)!;
  const [, scheme = '', rest = ''] = m;
  const at = rest.lastIndexOf('@');
  if (at < 0) return s;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return colon < 0 ? s : `${scheme}${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
}

/** Parses curl's --resolve HOST:PORT:ADDR (ADDR may be [v6]). */
export function parseResolve(value: string): { host: string; port: number; address: string } {
  const m = /^([^:]+):(\d{1,5}):(\[[0-9a-f:.]+\]|[0-9a-f:.]+)$/i.exec(value.trim());
  if (!m)
    throw new TargetError(
      `--resolve "${value}": expected HOST:PORT:ADDR (e.g. example.com:443:127.0.0.1 or example.com:443:[::1])`,
    );
  const address = m[3]!.replace(/^\[|\]$/g, '');
  if (!isIP(address)) throw new TargetError(`--resolve "${value}": "${address}" is not an IP address`);
  return { host: m[1]!.toLowerCase(), port: parsePort(m[2]!, value), address };
}
