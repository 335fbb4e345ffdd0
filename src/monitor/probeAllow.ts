/*
 * `probe.allow`: which targets `/probe?target=` may check. The exporter would otherwise be an
 * open relay that dials anything for anyone who can reach it, so nothing is probed unless a
 * pattern matches the whole target text. Patterns are globs, case-insensitive: `*` matches any
 * run of characters other than `:`, `/` and `@` (so `*.corp.example:*` matches
 * `api.corp.example:443` but not `evil.example/x.corp.example:443` nor `smtp://…`), `?` one such
 * character; everything else is literal. A user name (`mysql://user@host`: the account certvet's
 * closing login names) is therefore only allowed where a pattern spells out the `@`: a caller
 * must not choose which accounts get failed logins.
 */

function compile(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '[^:/@]*';
    else if (ch === '?') re += '[^:/@]';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

export interface ProbeAllowList {
  allows(target: string): boolean;
  readonly patterns: readonly string[];
}

export function probeAllowList(patterns: readonly string[]): ProbeAllowList {
  const compiled = patterns.map(compile);
  return {
    patterns,
    allows: (target) => target.length <= 1024 && compiled.some((re) => re.test(target)),
  };
}
