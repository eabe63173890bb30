/**
 * Typed reads of parsed command-line values, shared by every command, so `--runs abc` fails
 * the same way everywhere: a one-line InvalidArgumentError naming the option (exit 1), or a
 * UsageError for values that are not one of a fixed set (exit 2).
 */
import { InvalidArgumentError } from '@edgeml/core';
import { UsageError } from './cli-error.js';
import type { CommandContext } from './command.js';

type Values = CommandContext['values'];

/** The string value of `--name`, if given. */
export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Every value of a repeatable `--name`, with comma-separated lists split. */
export function listOption(values: Values, name: string): string[] {
  const v = values[name];
  const all = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return all.flatMap((e) => e.split(',')).filter(Boolean);
}

/** `--name` as one of `allowed` (`fallback` when absent); anything else is bad usage. */
export function choiceOption<T extends string>(
  values: Values,
  name: string,
  allowed: readonly T[],
  command: string,
  fallback?: T,
): T | undefined {
  const v = stringOption(values, name) ?? fallback;
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${v}'`, command);
  return v as T;
}

/** `--name` as a number passing `check` (described by `what` in the error), or `fallback`. */
export function numberOption(
  values: Values,
  name: string,
  check: (n: number) => boolean,
  what: string,
  fallback?: number,
): number | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !check(n)) throw new InvalidArgumentError(`--${name} must be ${what}, got '${raw}'`, name);
  return n;
}

/** `--name` as an integer ≥ `min` (default 1), or `fallback`. */
export function intOption(values: Values, name: string, min = 1, fallback?: number): number | undefined {
  return numberOption(values, name, (n) => Number.isInteger(n) && n >= min, `an integer ≥ ${min}`, fallback);
}

/** Comma-separated numbers (fractions like 1/255 allowed). */
export function numberListOption(values: Values, name: string, command: string): number[] | undefined {
  const raw = stringOption(values, name);
  if (raw === undefined) return undefined;
  const out = raw
    .split(',')
    .map((x) => (x.includes('/') ? Number(x.split('/')[0]) / Number(x.split('/')[1]) : Number(x)));
  if (out.some((x) => !Number.isFinite(x)))
    throw new UsageError(
      `--${name} takes numbers separated by commas (fractions like 1/255 allowed), got '${raw}'`,
      command,
    );
  return out;
}

/** `key=value` pairs of a repeatable `--name`. */
export function pairsOption(values: Values, name: string, command: string): [string, string][] {
  const v = values[name];
  const all = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return all.map((p) => {
    const eq = p.indexOf('=');
    if (eq < 1) throw new UsageError(`--${name} takes name=value, got '${p}'`, command);
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
}

/** `--shape name=1x3x224x224` pairs (repeatable) as input name → dimensions. */
export function shapesOption(values: Values, command: string): Record<string, number[]> {
  return Object.fromEntries(
    pairsOption(values, 'shape', command).map(([k, v]) => {
      const dims = v.split('x').map(Number);
      if (!v || dims.some((d) => !Number.isInteger(d) || d < 0))
        throw new UsageError(`--shape ${k} takes sizes like 1x3x224x224, got '${v}'`, command);
      return [k, dims];
    }),
  );
}

/** `--reduce-range` / `--no-reduce-range`; neither lets quantize() decide from the target's CPU. */
export function reduceRangeOption(values: Values): boolean | undefined {
  if (values['reduce-range'] && values['no-reduce-range'])
    throw new UsageError('give --reduce-range or --no-reduce-range, not both', 'quantize');
  return values['reduce-range'] ? true : values['no-reduce-range'] ? false : undefined;
}
