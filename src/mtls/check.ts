import { MtlsConfigError } from './errors.js';

/** Run-time checks of option objects for JavaScript callers (TypeScript callers get them too). */

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
}

/** `value` must be a plain object whose keys are all in `known`; returns it as a record. */
export function checkObject(
  value: unknown,
  where: string,
  known: readonly string[],
): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MtlsConfigError(where, `expected an object, got ${typeName(value)}`);
  for (const key of Object.keys(value))
    if (!known.includes(key))
      throw new MtlsConfigError(
        where === 'options' ? key : `${where}.${key}`,
        `unknown key "${key}" (expected one of ${known.join(', ')})`,
      );
  return value as Record<string, unknown>;
}

export function checkOneOf<T extends string>(
  value: unknown,
  where: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new MtlsConfigError(
      where,
      `expected one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${typeName(value)}`,
    );
  return value as T;
}

export function checkType(
  value: unknown,
  where: string,
  type: 'boolean' | 'function' | 'string' | 'object',
): void {
  if (value === undefined) return;
  const ok = type === 'object' ? typeof value === 'object' && value !== null : typeof value === type;
  if (!ok) throw new MtlsConfigError(where, `expected a ${type}, got ${typeName(value)}`);
}

export function checkArray(value: unknown, where: string): readonly unknown[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new MtlsConfigError(where, `expected an array, got ${typeName(value)}`);
  return value;
}

export function checkPositiveInt(value: unknown, where: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new MtlsConfigError(where, `expected a positive integer, got ${typeName(value)}`);
}
