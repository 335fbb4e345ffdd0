/** A bad flag, argument or configuration: exit 64 (EX_USAGE). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 64;
}

/** An input that cannot be read or understood (file missing, not a certificate): exit 3. */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode = 3;
}
