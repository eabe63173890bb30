import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error.js';

/** What a command gets: parsed options, positionals, and where to write. */
export interface CommandContext {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Full help text after the usage line. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /**
   * String options whose value may be left out (`--smooth-quant` or `--smooth-quant 0.7`): the
   * next argument is their value only when `accepts` it; a bare flag reads as ''.
   */
  optionalValues?: Record<string, (next: string) => boolean>;
  run(ctx: CommandContext): Promise<void>;
}

export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: CommandContext['values']; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: withOptionalValues(argv, command.optionalValues ?? {}),
      options: { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values, positionals };
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ''), command.name);
  }
}

/** `argv` with '' after each bare flag of an optional-value option, so the parser sees a value. */
function withOptionalValues(argv: string[], optional: NonNullable<Command['optionalValues']>): string[] {
  const out: string[] = [];
  argv.forEach((arg, i) => {
    out.push(arg);
    const accepts = arg.startsWith('--') ? optional[arg.slice(2)] : undefined;
    if (accepts && !(i + 1 < argv.length && accepts(argv[i + 1]))) out.push('');
  });
  return out;
}
