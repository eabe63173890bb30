import { createRequire } from 'node:module';
import { EdgeMLError } from '@edgeml/core';
import { parseCommandArgs, type Command } from './command.js';
import { UsageError } from './cli-error.js';
import { inspectCommand } from './commands/inspect.js';
import { quantizeCommand } from './commands/quantize.js';
import { demoCommand } from './commands/demo.js';
import { benchCommand } from './commands/bench.js';
import { distillCommand } from './commands/distill.js';
import { pruneCommand } from './commands/prune.js';
import { simplifyCommand } from './commands/simplify.js';
import { exportCommand } from './commands/export.js';
import { federatedCommand } from './commands/federated.js';

/** Every command, in the order help lists them. */
export const COMMANDS: Command[] = [
  demoCommand,
  inspectCommand,
  simplifyCommand,
  quantizeCommand,
  exportCommand,
  benchCommand,
  distillCommand,
  pruneCommand,
  federatedCommand,
];

export interface MainIO {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `edgeml: make ONNX models edge-ready

Usage: edgeml <command> [args] [--json] [--help]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'edgeml <command> --help' for a command's options.
Exit codes: 0 success, 1 a problem with the input (reason on stderr), 2 bad usage.
`;
}

/**
 * Run the CLI with `argv` (without node and script) and return the exit code.
 *
 * @example
 * ```ts
 * const code = await main(['inspect', 'model.onnx', '--json']);
 * ```
 */
export async function main(argv: string[], io: MainIO = {}): Promise<number> {
  const stdout = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    stdout(topHelp());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    stdout(`${(createRequire(import.meta.url)('../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    stderr(`edgeml: unknown command '${name}'. Commands: ${COMMANDS.map((c) => c.name).join(', ')}\n`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandArgs(command, rest);
    if (values.help) {
      stdout(`Usage: ${command.usage}\n\n${command.help}\n`);
      return 0;
    }
    await command.run({ values, positionals, stdout, stderr });
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      stderr(`edgeml ${command.name}: ${e.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    if (e instanceof EdgeMLError) {
      stderr(`edgeml ${command.name}: ${e.message.replace(/\s*\n\s*/g, '; ')}\n`);
      return 1;
    }
    throw e;
  }
}
