import { InvalidArgumentError } from 'commander';

/** --at TIME: ISO 8601 (date or date-time), or seconds since the epoch. */
export function parseTime(value: string): Date {
  const v = value.trim();
  const d = /^\d+$/.test(v) ? new Date(Number(v) * 1000) : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new InvalidArgumentError(`"${value}" is not an ISO 8601 time or epoch seconds`);
  return d;
}

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  return Number(value);
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`"${value}" is not one of ${choices.join(', ')}`);
    return value as T;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
