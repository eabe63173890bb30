/** `edgeml quantize` flags that map onto static mode's accuracy options: the method-auto search and the refinements. */
import { UsageError } from '../cli-error.js';
import type { CommandContext } from '../command.js';
import { numberOption, stringOption } from '../options.js';

type Values = CommandContext['values'];

/** --range-search <n|off>: a bound on the tensors tried, or no search. */
export function rangeSearchOption(values: Values) {
  const given = stringOption(values, 'range-search');
  if (given === undefined) return undefined;
  if (values.method !== 'auto') throw new UsageError('--range-search goes with --method auto', 'quantize');
  if (given === 'off') return false;
  const maxTensors = numberOption(
    values,
    'range-search',
    (n) => Number.isInteger(n) && n >= 0,
    "a whole number or 'off'",
  );
  return { maxTensors };
}

/** --equalize, --bias-correction and --smooth-quant [alpha]. */
export function refinementOptions(values: Values) {
  const sq = stringOption(values, 'smooth-quant');
  const alpha = sq ? numberOption(values, 'smooth-quant', (a) => a >= 0 && a <= 1, 'an alpha in [0, 1]') : undefined;
  const onOff = (flag: string) => {
    if (values[flag] && values[`no-${flag}`])
      throw new UsageError(`give --${flag} or --no-${flag}, not both`, 'quantize');
    return values[flag] ? true : values[`no-${flag}`] ? false : undefined;
  };
  return {
    equalize: onOff('equalize'),
    biasCorrection: onOff('bias-correction'),
    smoothQuant: sq === undefined ? undefined : alpha === undefined ? true : { alpha },
  };
}
