/*
 * What each channel type says about an event: pure functions from a MonitorEvent to a webhook
 * JSON body, a Slack message and an e-mail. Certificate text is attacker-controlled (a subject
 * can say anything), so what reaches Slack is neutralised and escaped for mrkdwn, and what
 * reaches a mail header is one neutralised line; JSON keeps the exact text (JSON.stringify
 * escapes what it must, and programs want the real bytes).
 */
import { neutralize } from '../../report/sanitize.js';
import type { MonitorEvent } from '../model.js';

/** The webhook body (version 1; fields may be added, never renamed). */
export interface WebhookBody {
  readonly version: 1;
  /** The store's event id (0 for a test message or an event not stored). */
  readonly id: number;
  /** The event type, e.g. `rotated`. */
  readonly event: MonitorEvent['type'];
  readonly targetId: string;
  /** The target as configured. */
  readonly target: string;
  readonly group: string;
  /** ISO 8601. */
  readonly at: string;
  readonly message: string;
  readonly oldStatus: MonitorEvent['oldStatus'];
  readonly newStatus: MonitorEvent['newStatus'];
  readonly certificates: MonitorEvent['certificates'];
  readonly findings: MonitorEvent['findings'];
  /** Present and true for `certvet serve --test-notify`. */
  readonly test?: true;
}

export function webhookBody(e: MonitorEvent, test = false): WebhookBody {
  return {
    version: 1,
    id: e.id,
    event: e.type,
    targetId: e.targetId,
    target: e.target,
    group: e.group,
    at: new Date(e.at).toISOString(),
    message: e.message,
    oldStatus: e.oldStatus,
    newStatus: e.newStatus,
    certificates: e.certificates,
    findings: e.findings,
    ...(test ? { test: true as const } : {}),
  };
}

/** One line of untrusted text, neutralised and cut to `max` characters. */
export function oneLine(s: string, max: number): string {
  const n = neutralize(s);
  return n.length > max ? `${n.slice(0, max - 1)}…` : n;
}

/**
 * Slack mrkdwn: `&`, `<` and `>` are the only characters Slack asks to escape, and escaping
 * them is what stops `<!here>`, `<@U123>` and `<https://evil|x>` from becoming mentions or links.
 */
export function escapeSlack(s: string): string {
  return neutralize(s).replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** `ok → critical` (mail uses `->`: an ASCII subject stays readable in every client and log). */
function statusChange(e: MonitorEvent, arrow = '→'): string {
  return e.oldStatus === null || e.oldStatus === e.newStatus
    ? e.newStatus
    : `${e.oldStatus} ${arrow} ${e.newStatus}`;
}

const STATUS_EMOJI: Readonly<Record<MonitorEvent['newStatus'], string>> = {
  ok: ':large_green_circle:',
  warning: ':large_yellow_circle:',
  critical: ':red_circle:',
  error: ':black_circle:',
};

/** At most this many findings are listed in Slack and mail (the webhook carries all). */
const MAX_LISTED_FINDINGS = 10;

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

export function slackMessage(e: MonitorEvent, test = false): SlackMessage {
  const head = `${test ? '[test] ' : ''}certvet ${e.type}: ${e.target} (${e.group}) ${statusChange(e)}`;
  const text = `${STATUS_EMOJI[e.newStatus]} ${escapeSlack(cut(head, 300))}: ${escapeSlack(cut(e.message, 1000))}`;
  const listed = e.findings.slice(0, MAX_LISTED_FINDINGS).map((f) => {
    const where = f.certIndex === undefined ? '' : ` (certificate ${f.certIndex})`;
    return `• *${f.severity}* ${escapeSlack(f.code)}${where}: ${escapeSlack(cut(f.message, 250))}`;
  });
  if (e.findings.length > MAX_LISTED_FINDINGS)
    listed.push(`… and ${e.findings.length - MAX_LISTED_FINDINGS} more`);
  const blocks: Record<string, unknown>[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: cut(
          `${STATUS_EMOJI[e.newStatus]} *${escapeSlack(cut(head, 300))}*\n${escapeSlack(cut(e.message, 2000))}`,
          3000,
        ),
      },
    },
  ];
  if (listed.length)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(listed.join('\n'), 3000) } });
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: cut(`${new Date(e.at).toISOString()} · target id ${escapeSlack(e.targetId)}`, 3000),
      },
    ],
  });
  return { text, blocks };
}

export interface MailMessage {
  readonly subject: string;
  readonly text: string;
}

export function mailMessage(e: MonitorEvent, prefix: string, test = false): MailMessage {
  const subject = oneLine(
    `${prefix}${test ? ' [test]' : ''} ${e.type}: ${e.target} (${e.group}) ${statusChange(e, '->')}`,
    200,
  );
  const lines = [
    `${test ? 'Test message: ' : ''}certvet noticed "${e.type}" on ${neutralize(e.target)}.`,
    '',
    neutralize(e.message),
    '',
    `Target:  ${neutralize(e.target)} (id ${neutralize(e.targetId)})`,
    `Group:   ${neutralize(e.group)}`,
    `Status:  ${statusChange(e, '->')}`,
    `Time:    ${new Date(e.at).toISOString()}`,
  ];
  if (e.findings.length) {
    lines.push('', 'Findings:');
    for (const f of e.findings.slice(0, MAX_LISTED_FINDINGS)) {
      const where = f.certIndex === undefined ? '' : ` (certificate ${f.certIndex})`;
      lines.push(`  - [${f.severity}] ${neutralize(f.code)}${where}: ${neutralize(f.message)}`);
    }
    if (e.findings.length > MAX_LISTED_FINDINGS)
      lines.push(`  … and ${e.findings.length - MAX_LISTED_FINDINGS} more`);
  }
  if (e.certificates.length) {
    lines.push('', 'Certificates (SHA-256):');
    for (const c of e.certificates) lines.push(`  ${neutralize(c)}`);
  }
  return { subject, text: `${lines.join('\n')}\n` };
}

/** The event `certvet serve --test-notify CHANNEL` sends. */
export function testEvent(at: number): MonitorEvent {
  return {
    id: 0,
    type: 'status-changed',
    targetId: 'test',
    target: 'certvet-test.invalid:443',
    group: 'test',
    at,
    message: 'This is a test notification from certvet serve --test-notify; nothing has changed.',
    oldStatus: null,
    newStatus: 'ok',
    certificates: [],
    findings: [],
  };
}
