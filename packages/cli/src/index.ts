/**
 * @edgeml/cli: the `edgeml` command line, also usable as a library.
 * @module
 */
export { main, COMMANDS, type MainIO } from './main.js';
export { inspectModel, formatInspect, type InspectResult } from './commands/inspect.js';
export type { Command, CommandContext } from './command.js';
export { UsageError } from './cli-error.js';
export { defaultModelPath } from './default-model.js';
