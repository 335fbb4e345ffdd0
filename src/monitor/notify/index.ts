/*
 * The notifications of `certvet serve` (issue 11): the channel schema for the config loader,
 * createNotifier for the service, the error classes for whoever records failures.
 */
export {
  durationSchema,
  NOTIFY_DEFAULTS,
  type NotifyChannelConfig,
  type NotifyChannelInput,
  notifyChannelSchema,
  notifyListSchema,
  type SlackChannelConfig,
  type SmtpChannelConfig,
  type WebhookChannelConfig,
} from './config.js';
export * from './errors.js';
export { type WebhookBody, webhookBody } from './format.js';
export { createNotifier, type FlushOptions, type Notifier, type NotifierOptions } from './notifier.js';
