import { domainToASCII } from 'node:url';
import { lazyRequire } from '../../util/lazyRequire.js';

/**
 * DNS names per RFC 1034 §3.5 "preferred name syntax" as relaxed by RFC 1123 §2.1 (labels
 * may start with a digit), which RFC 5280 §4.2.1.6 requires of dNSName. Underscores are not
 * allowed; the last label may not be all-numeric (that would be an IP address in disguise).
 */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export interface DnsSyntaxOptions {
  /** Allow "*" as the whole leftmost label (SAN presented identifiers). */
  readonly allowWildcard?: boolean;
}

/** Returns null when `name` is a valid DNS name, else why it is not. */
export function dnsSyntaxError(name: string, opts: DnsSyntaxOptions = {}): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l === '')
      return i === 0
        ? 'starts with a dot'
        : i === labels.length - 1
          ? 'ends with a dot'
          : 'has an empty label';
    if (i === 0 && l === '*' && opts.allowWildcard) {
      if (labels.length < 2) return 'is a bare wildcard';
      continue;
    }
    if (l.includes('*')) return 'has a wildcard that is not the whole leftmost label';
    if (l.includes('_')) return 'contains an underscore';
    if (!LABEL.test(l)) return `has an invalid label "${l}"`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!))
    return 'has an all-numeric top-level label (an IP address is not a DNS name)';
  return null;
}

/**
 * Normalises a reference identifier (the name the user dialled): lower case, one trailing
 * dot removed, and U-labels converted to A-labels (IDNA). Returns null if it is not a valid
 * host name.
 */
export function normalizeReferenceDns(name: string): string | null {
  let n = name.trim();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (/[^\x00-\x7f]/.test(n)) {
    const ascii = domainToASCII(n);
    if (!ascii) return null;
    n = ascii;
  }
  n = n.toLowerCase();
  return dnsSyntaxError(n) === null ? n : null;
}

/*
 * tldts (the Public Suffix List) is loaded on first use: only a wildcard match asks it, and
 * importing it at start-up cost every certvet process about 15 ms that most never needed.
 */
const psl = lazyRequire<typeof import('tldts')>('tldts');

/** True when `name` (exactly) is a public suffix per the PSL, including its private section. */
export function isPublicSuffix(name: string): boolean {
  return psl().getPublicSuffix(name, { allowPrivateDomains: true }) === name;
}

export interface WildcardPolicy {
  /** webpki: a wildcard may not cover a public suffix (PSL). rfc5280: it needs >= 2 labels. */
  readonly publicSuffixCheck: boolean;
}

/**
 * RFC 6125 §6.4 matching of a presented dNSName against a normalised reference name:
 * case-insensitive, a wildcard only as the entire leftmost label matching exactly one label,
 * never over a public suffix (webpki) or a single label (both profiles).
 */
export function matchDnsName(presented: string, reference: string, policy: WildcardPolicy): boolean {
  let p = presented.toLowerCase();
  if (p.endsWith('.')) p = p.slice(0, -1);
  if (!p.startsWith('*.')) return dnsSyntaxError(p) === null && p === reference;
  if (dnsSyntaxError(p, { allowWildcard: true }) !== null) return false;
  const base = p.slice(2);
  if (!base.includes('.')) return false;
  if (policy.publicSuffixCheck && isPublicSuffix(base)) return false;
  const dot = reference.indexOf('.');
  if (dot <= 0) return false;
  return reference.slice(dot + 1) === base;
}

/** RFC 5280 §4.2.1.10 DNS subtree test: `name` equals `constraint` or ends with "." + constraint. */
export function dnsWithinSubtree(name: string, constraint: string): boolean {
  if (constraint === '') return true;
  const n = name.toLowerCase();
  const c = constraint.toLowerCase();
  return n === c || n.endsWith(`.${c}`);
}
