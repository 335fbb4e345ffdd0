import type { GeneralSubtree, NameConstraints } from '../x509/extensions.js';
import { type GeneralName, type GeneralNameType, generalNameText, ipToText } from '../x509/generalName.js';
import { type DistinguishedName, nameWithin } from '../x509/name.js';
import { dnsSyntaxError, dnsWithinSubtree } from './names/dns.js';
import { emailConstraintError, mailboxWithinSubtree, parseMailbox } from './names/email.js';
import { ipConstraintError, ipWithinSubtree } from './names/ip.js';

/** Forms whose constraints certvet processes (RFC 5280 §4.2.1.10). */
const PROCESSED: ReadonlySet<GeneralNameType> = new Set(['dns', 'email', 'ip', 'uri', 'dirName']);

/** Returns the reason a constraint is malformed, or null. */
export function constraintError(st: GeneralSubtree): string | null {
  if (st.hasMinMax) return 'uses minimum/maximum, which RFC 5280 forbids';
  const b = st.base;
  switch (b.type) {
    case 'dns':
      if (b.value === '') return null;
      if (b.value.startsWith('.'))
        return `dNSName constraint "${b.value}" has a leading dot (allowed only for URIs and emails)`;
      return dnsSyntaxError(b.value.toLowerCase()) === null
        ? null
        : `dNSName constraint "${b.value}" is not a valid DNS name`;
    case 'ip': {
      const e = ipConstraintError(b.bytes);
      return e ? `iPAddress constraint ${e}` : null;
    }
    case 'email': {
      const e = emailConstraintError(b.value);
      return e ? `rfc822Name constraint "${b.value}" ${e}` : null;
    }
    case 'uri': {
      const host = b.value.startsWith('.') ? b.value.slice(1) : b.value;
      return dnsSyntaxError(host.toLowerCase()) === null
        ? null
        : `URI constraint "${b.value}" is not a host or domain`;
    }
    default:
      return null;
  }
}

/** A name that constraints apply to: SAN entries, the subject DN, and subject emails. */
export type ConstrainedName = GeneralName;

function uriHost(uri: string): string | null {
  try {
    const u = new URL(uri);
    if (!u.hostname) return null;
    const h = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    // "bad.example.com." (absolute form), "a..b" and, in non-special schemes, percent-encoded
    // hosts ("ldap://b%61d.example.com") name hosts that plain string comparison would not
    // place in an excluded subtree: treat them as unparseable, which fails closed.
    if (h.includes('%') || h.split('.').includes('')) return null;
    return h;
  } catch {
    return null;
  }
}

/**
 * A dNSName's lower-cased form and syntax verdict, computed once per name and not once per
 * (name, subtree) pair: with hundreds of names against a thousand subtrees the repeated syntax
 * check was quadratic in both (x509-limbo's pathological nc-dos cases).
 */
interface DnsView {
  readonly n: string;
  readonly valid: boolean;
}

function dnsView(value: string): DnsView {
  const n = value.toLowerCase();
  return { n, valid: dnsSyntaxError(n) === null };
}

/**
 * The names `n` lies within as a dNSName subtree (RFC 5280 §4.2.1.10): "", itself, and every
 * suffix after a dot. dnsWithinSubtree(n, c) holds exactly when c (lower-cased) is one of them.
 */
function subtreeKeys(n: string): string[] {
  const out = ['', n];
  for (let i = n.indexOf('.'); i >= 0; i = n.indexOf('.', i + 1)) out.push(n.slice(i + 1));
  return out;
}

/** Can `name` be shown to lie within the subtree `base`? (Both must be the same form.) */
function within(name: ConstrainedName, base: GeneralName, view?: DnsView): boolean {
  switch (name.type) {
    case 'dns': {
      if (base.type !== 'dns') return false;
      const v = view ?? dnsView(name.value);
      if (v.n.startsWith('*.')) return dnsWithinSubtree(v.n.slice(2), base.value);
      return v.valid && dnsWithinSubtree(v.n, base.value);
    }
    case 'email': {
      if (base.type !== 'email') return false;
      const m = parseMailbox(name.value);
      return m !== null && mailboxWithinSubtree(m, base.value);
    }
    case 'ip':
      return (
        base.type === 'ip' &&
        (name.bytes.length === 4 || name.bytes.length === 16) &&
        ipWithinSubtree(name.bytes, base.bytes)
      );
    case 'uri': {
      if (base.type !== 'uri') return false;
      const h = uriHost(name.value);
      if (h === null) return false;
      const c = base.value.toLowerCase();
      return c.startsWith('.') ? h.endsWith(c) : h === c;
    }
    case 'dirName':
      return base.type === 'dirName' && nameWithin(name.name, base.name);
    default:
      return false;
  }
}

/** Could `name` cover any name inside the subtree? (For excluded subtrees and wildcard SANs.) */
function overlaps(name: ConstrainedName, base: GeneralName, view?: DnsView): boolean {
  if (name.type === 'dns' && base.type === 'dns') {
    const v = view ?? dnsView(name.value);
    const n = v.n;
    if (n.startsWith('*.')) {
      const rest = n.slice(2);
      if (dnsWithinSubtree(rest, base.value)) return true;
      // *.example.com matches bar.example.com, so an exclusion of bar.example.com applies.
      const c = base.value.toLowerCase();
      const dot = c.indexOf('.');
      return dot > 0 && c.slice(dot + 1) === rest;
    }
    // A name that is not a valid DNS name cannot be shown to be outside the subtree.
    if (!v.valid) return true;
    return dnsWithinSubtree(n, base.value);
  }
  if (name.type === 'ip' && base.type === 'ip') {
    if (name.bytes.length !== 4 && name.bytes.length !== 16) return true;
    return ipWithinSubtree(name.bytes, base.bytes);
  }
  if (name.type === 'email' && base.type === 'email') {
    const m = parseMailbox(name.value);
    return m === null || mailboxWithinSubtree(m, base.value);
  }
  if (name.type === 'uri' && base.type === 'uri') {
    const h = uriHost(name.value);
    if (h === null) return true;
    const c = base.value.toLowerCase();
    return c.startsWith('.') ? h.endsWith(c) : h === c;
  }
  return within(name, base);
}

function describe(n: ConstrainedName): string {
  return n.type === 'ip' ? `IP:${ipToText(n.bytes)}` : generalNameText(n);
}

/**
 * The work name-constraint checking may do in one verification (names × subtrees): a chain
 * built to make it quadratic (thousands of subtrees over thousands of names) is rejected with
 * `budget-exceeded` instead of pinning a core.
 */
export class ComparisonBudget {
  private used = 0;
  constructor(readonly limit: number) {}

  /** Charges `n` comparisons; false once the budget is spent. */
  charge(n: number): boolean {
    this.used += n;
    return this.used <= this.limit;
  }

  get exhausted(): boolean {
    return this.used > this.limit;
  }

  get spent(): number {
    return this.used;
  }
}

/**
 * The problems of one check, at most MAX_PROBLEMS of them (then one line saying how many more):
 * a hostile chain must not turn name-constraint violations into megabytes of findings.
 */
const MAX_PROBLEMS = 50;

class ProblemList {
  readonly list: string[] = [];
  private more = 0;

  add(p: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(p);
    else {
      this.more++;
      this.list[MAX_PROBLEMS] = `… and ${this.more} more name-constraint violations`;
    }
  }
}

/** Accumulated constraint state along a path (RFC 5280 §6.1.2 (b), (c)). */
export class NameConstraintState {
  /** Each constraining certificate's permitted subtrees; a name must satisfy every set. */
  private readonly permittedSets: { readonly by: string; readonly subtrees: readonly GeneralSubtree[] }[] =
    [];
  private readonly excluded: { readonly by: string; readonly subtree: GeneralSubtree }[] = [];

  add(nc: NameConstraints, by: string): void {
    if (nc.hasPermitted) this.permittedSets.push({ by, subtrees: nc.permitted });
    for (const st of nc.excluded) this.excluded.push({ by, subtree: st });
  }

  get isEmpty(): boolean {
    return this.permittedSets.length === 0 && this.excluded.length === 0;
  }

  /**
   * Returns a message for every name that violates the constraints. Stops early, with
   * `budget.exhausted` set, once the comparison budget is spent (the caller must then reject).
   */
  check(
    names: readonly ConstrainedName[],
    budget: ComparisonBudget = new ComparisonBudget(Infinity),
  ): string[] {
    const problems = new ProblemList();
    // Per permitted set and name form: its subtrees and their text, computed once per call.
    const ofTypeBySet = this.permittedSets.map(
      () =>
        new Map<
          GeneralNameType,
          { readonly subtrees: readonly GeneralSubtree[]; text?: string; dns?: ReadonlySet<string> }
        >(),
    );
    // Excluded dNSName subtrees by lower-cased value, in order: a valid DNS name can only lie
    // within the subtrees named by its own suffixes, so it need not be compared with every one.
    let excludedDns: Map<string, number[]> | undefined;
    for (const name of names) {
      if (budget.exhausted) return problems.list;
      const view = name.type === 'dns' ? dnsView(name.value) : undefined;
      if (view?.valid && !view.n.startsWith('*.')) {
        if (!excludedDns) {
          if (!budget.charge(this.excluded.length)) return problems.list;
          excludedDns = new Map();
          this.excluded.forEach((ex, i) => {
            const b = ex.subtree.base;
            if (b.type !== 'dns') return;
            const k = b.value.toLowerCase();
            const list = excludedDns!.get(k);
            if (list) list.push(i);
            else excludedDns!.set(k, [i]);
          });
        }
        const keys = subtreeKeys(view.n);
        if (!budget.charge(keys.length)) return problems.list;
        const hits = keys.flatMap((k) => excludedDns!.get(k) ?? []);
        // Every hit is a comparison that produces a problem: charged too (case variants of one
        // subtree would otherwise multiply uncharged work).
        if (!budget.charge(hits.length)) return problems.list;
        for (const i of hits.sort((a, b) => a - b)) {
          const ex = this.excluded[i]!;
          problems.add(`${describe(name)} is excluded by ${generalNameText(ex.subtree.base)} in ${ex.by}`);
        }
      } else
        for (const ex of this.excluded) {
          if (!budget.charge(1)) return problems.list;
          const base = ex.subtree.base;
          if (base.type !== name.type) continue;
          if (!PROCESSED.has(base.type)) {
            problems.add(
              `${describe(name)} is of a form (${name.type}) whose constraints in ${ex.by} cannot be processed`,
            );
            continue;
          }
          if (overlaps(name, base, view))
            problems.add(`${describe(name)} is excluded by ${generalNameText(base)} in ${ex.by}`);
        }
      for (let si = 0; si < this.permittedSets.length; si++) {
        const set = this.permittedSets[si]!;
        const memo = ofTypeBySet[si]!;
        let entry = memo.get(name.type);
        if (!entry) {
          if (!budget.charge(set.subtrees.length)) return problems.list;
          entry = { subtrees: set.subtrees.filter((st) => st.base.type === name.type) };
          memo.set(name.type, entry);
        }
        const ofType = entry.subtrees;
        if (ofType.length === 0) continue;
        if (!PROCESSED.has(name.type)) {
          problems.add(
            `${describe(name)} is of a form (${name.type}) whose constraints in ${set.by} cannot be processed`,
          );
          continue;
        }
        let inside: boolean;
        if (view && name.type === 'dns') {
          entry.dns ??= new Set(
            ofType.flatMap((st) => (st.base.type === 'dns' ? [st.base.value.toLowerCase()] : [])),
          );
          const dns = entry.dns;
          // Same answer as within() on each subtree, by lookup of the name's suffixes.
          const wild = view.n.startsWith('*.');
          const keys = subtreeKeys(wild ? view.n.slice(2) : view.n);
          if (!budget.charge(keys.length)) return problems.list;
          inside = (wild || view.valid) && keys.some((k) => dns.has(k));
        } else {
          if (!budget.charge(ofType.length)) return problems.list;
          inside = ofType.some((st) => within(name, st.base, view));
        }
        if (!inside) {
          // A malformed subtree (reported on its own) permits nothing: say so, or the name reads
          // as if it were merely out of scope.
          entry.text ??= ofType
            .map(
              (st) =>
                `${generalNameText(st.base)}${constraintError(st) ? ' (malformed, so it permits nothing)' : ''}`,
            )
            .join(', ');
          problems.add(`${describe(name)} is outside the permitted ${entry.text} of ${set.by}`);
        }
      }
    }
    return problems.list;
  }
}

export function dirName(name: DistinguishedName): ConstrainedName {
  return { type: 'dirName', name };
}
