/*
 * One notification channel as it appears under `notify:` in the service's config (issue 11).
 * The schema is the single description of the channel: the service's config loader embeds it,
 * the shipped JSON Schema is generated from it (`z.toJSONSchema(…, { io: 'input' })`), and
 * createNotifier takes its output. Secrets (SMTP passwords, HMAC keys, Slack webhook URLs,
 * authorization headers) are never accepted inline where they would be secret by nature: they
 * are named by environment variable or file, so the config can be committed and shown.
 */
import { z } from 'zod';
import { configDurationMs } from '../../util/duration.js';
import { EVENT_TYPES } from '../model.js';

/** `10s`, `500ms`, `2m` or plain seconds (a string or a number), as milliseconds: 1 ms to 1 h. */
export const durationSchema = z.union([z.string(), z.number().positive()]).transform((value, ctx) => {
  const ms = configDurationMs(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (e.g. 10s, 500ms, 2m)` });
    return z.NEVER;
  }
  if (ms < 1 || ms > 3600_000) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is out of range (1ms to 1h)` });
    return z.NEVER;
  }
  return ms;
});

const STATUS_LEVELS = ['ok', 'warning', 'error', 'critical'] as const;

const httpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL without user:password@' },
);

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const filePath = z.string().min(1);

/** What every channel has: a name, which events it takes, and how delivery is bounded. */
const common = {
  /** Names the channel in logs, errors, the store and `--test-notify NAME`. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-" (at most 64)'),
  /** Event types sent to this channel; all of them when absent. */
  events: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
  /** Only events of targets in these groups; every group when absent. */
  groups: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Only events where the old or the new status is at least this (ok < warning < error <
   * critical): `warning` leaves out rotations between two healthy certificates but keeps a
   * recovery from critical to ok.
   */
  minStatus: z.enum(STATUS_LEVELS).optional(),
  /** Per attempt (default 10s). */
  timeout: durationSchema.optional(),
  /** Further attempts after a retryable failure (default 3; 0 disables retrying). */
  retries: z.number().int().min(0).max(10).optional(),
  /** Events waiting for this channel at most (default 1000); when full the oldest is dropped and reported. */
  queueSize: z.number().int().min(1).max(100_000).optional(),
  /** At most this many deliveries a minute; the rest wait in the queue (default: no limit). */
  maxPerMinute: z.number().int().min(1).optional(),
  /**
   * A `rotated`, `issuer-changed`, `chain-changed` or `key-reused` event that repeats one this
   * channel took within this window (same type, target and certificates, in any order) is not
   * sent again but recorded as suppressed: a target whose load balancer serves two
   * certificates would otherwise announce a rotation at every check. A repeat of an event whose
   * delivery failed is sent. Default 0 (off): a real rollback (A → B → A) looks the same.
   */
  dedupWindow: z
    .union([z.string(), z.number().min(0)])
    .transform((value, ctx) => {
      const ms = configDurationMs(value);
      if (ms === null || ms > 7 * 86400_000) {
        ctx.addIssue({
          code: 'custom',
          message: `"${value}" is not a duration from 0 to 7d (e.g. 1h, 30m, 0)`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .optional(),
};

/** Header names as HTTP allows them (RFC 9110 token), except the ones certvet sets itself. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name')
  .refine((h) => !/^(content-type|content-length|host|transfer-encoding|x-certvet-.*)$/i.test(h), {
    message: 'is set by certvet itself',
  });
const headerValue = z.string().regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL');

/** A URL inline, or (Slack's URLs are themselves the credential) from an environment variable or a file. */
const urlSource = {
  url: httpUrl.optional(),
  urlEnv: envName.optional(),
  urlFile: filePath.optional(),
};

function exactlyOneUrl(v: { url?: string; urlEnv?: string; urlFile?: string }, ctx: z.RefinementCtx): void {
  const n = [v.url, v.urlEnv, v.urlFile].filter((x) => x !== undefined).length;
  if (n !== 1)
    ctx.addIssue({ code: 'custom', message: 'give exactly one of url, urlEnv, urlFile', path: ['url'] });
}

export const webhookChannelSchema = z
  .strictObject({
    ...common,
    type: z.literal('webhook'),
    ...urlSource,
    /** Extra request headers (not secret: they are part of the config). */
    headers: z.record(headerName, headerValue).optional(),
    /** Extra request headers whose values come from environment variables (e.g. Authorization). */
    headersEnv: z.record(headerName, envName).optional(),
    /** HMAC-SHA256 key for `X-Certvet-Signature-256: sha256=HEX` over the body. */
    secretEnv: envName.optional(),
    secretFile: filePath.optional(),
  })
  .superRefine((v, ctx) => {
    exactlyOneUrl(v, ctx);
    if (v.secretEnv !== undefined && v.secretFile !== undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'give secretEnv or secretFile, not both',
        path: ['secretEnv'],
      });
  });

export const slackChannelSchema = z
  .strictObject({
    ...common,
    type: z.literal('slack'),
    ...urlSource,
  })
  .superRefine(exactlyOneUrl);

const mailbox = z
  .string()
  .min(3)
  .regex(/^[^\r\n\0]*@[^\r\n\0]*$/, 'must be an e-mail address (optionally "Name <addr>")');

const smtpAuthSchema = z
  .strictObject({
    user: z.string().min(1),
    passwordEnv: envName.optional(),
    passwordFile: filePath.optional(),
    password: z.unknown().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.password !== undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'passwords are not accepted in the config: use passwordEnv or passwordFile',
        path: ['password'],
      });
    const n = [v.passwordEnv, v.passwordFile].filter((x) => x !== undefined).length;
    if (n !== 1)
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of passwordEnv, passwordFile',
        path: ['passwordEnv'],
      });
  })
  .transform(({ password: _password, ...rest }) => rest);

export const smtpChannelSchema = z
  .strictObject({
    ...common,
    type: z.literal('smtp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    /** Implicit TLS from the first byte (SMTPS, usually port 465). Default: port === 465. */
    secure: z.boolean().optional(),
    /**
     * Without `secure`: STARTTLS is required (default true); false sends in clear, which is
     * refused together with `auth` (the password would cross the network readable).
     */
    starttls: z.boolean().optional(),
    /** PEM files of the anchors that verify the server's certificate (default: the system's). */
    ca: z.array(filePath).min(1).optional(),
    /** The name the server's certificate must carry (default: `host`). */
    servername: z.string().min(1).optional(),
    from: mailbox,
    to: z.array(mailbox).min(1),
    /** Prefixed to every subject (default "[certvet]"). */
    subjectPrefix: z
      .string()
      .regex(/^[^\r\n\0]*$/)
      .max(64)
      .optional(),
    auth: smtpAuthSchema.optional(),
  })
  .superRefine((v, ctx) => {
    const secure = v.secure ?? v.port === 465;
    if (!secure && v.starttls === false && v.auth)
      ctx.addIssue({
        code: 'custom',
        message:
          'auth over a connection without TLS would send the password in clear: remove starttls: false',
        path: ['starttls'],
      });
  });

export const notifyChannelSchema = z.discriminatedUnion('type', [
  webhookChannelSchema,
  slackChannelSchema,
  smtpChannelSchema,
]);

/** A channel after parsing (durations in milliseconds). */
export type NotifyChannelConfig = z.output<typeof notifyChannelSchema>;
/** A channel as written in the config. */
export type NotifyChannelInput = z.input<typeof notifyChannelSchema>;
export type WebhookChannelConfig = z.output<typeof webhookChannelSchema>;
export type SlackChannelConfig = z.output<typeof slackChannelSchema>;
export type SmtpChannelConfig = z.output<typeof smtpChannelSchema>;

/** The whole `notify:` list: channel names must be unique. */
export const notifyListSchema = z.array(notifyChannelSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((c, i) => {
    if (seen.has(c.name))
      ctx.addIssue({ code: 'custom', message: `channel name "${c.name}" is used twice`, path: [i, 'name'] });
    seen.add(c.name);
  });
});

/** The order `minStatus` compares in. */
export const STATUS_RANK: Readonly<Record<(typeof STATUS_LEVELS)[number], number>> = {
  ok: 0,
  warning: 1,
  error: 2,
  critical: 3,
};

/** The event types a channel's `dedupWindow` applies to (the others say a status or a level changed). */
export const DEDUP_EVENT_TYPES: ReadonlySet<string> = new Set([
  'rotated',
  'issuer-changed',
  'chain-changed',
  'key-reused',
]);

export const NOTIFY_DEFAULTS = {
  dedupWindowMs: 0,
  timeoutMs: 10_000,
  retries: 3,
  queueSize: 1000,
  subjectPrefix: '[certvet]',
} as const;
