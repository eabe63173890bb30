/**
 * @edgeml/cli: the `edgeml` command line — `demo`, `inspect`, `simplify`, `quantize`, `export`, `bench`,
 * `distill`, `prune` — and the same commands as a library. Every command has `--help` and `--json` (one
 * JSON document on stdout) and exits 0 on success, 1 on a problem with the input (one line on
 * stderr), 2 on bad usage.
 *
 * ```sh
 * npx edgeml inspect model.onnx --json
 * npx edgeml quantize model.onnx -o model.int8.onnx --mode dynamic
 * ```
 *
 * In-process, with the output captured:
 *
 * ```ts
 * import { defaultModelPath, formatInspect, inspectModel, main } from '@edgeml/cli';
 *
 * const info = await inspectModel(defaultModelPath()); // the embedded default model (Silero VAD)
 * console.log(formatInspect(info)); // what `edgeml inspect` prints; `info` is its --json document
 *
 * let stdout = '';
 * const code = await main(['inspect', defaultModelPath(), '--json'], { stdout: (text) => (stdout += text) });
 * console.log(code, JSON.parse(stdout).nodeCount); // 0 and the main graph's node count
 * ```
 *
 * Guide: [inspect](../../../docs/guide.md#inspect); the sections on
 * [quantize](../../../docs/guide.md#quantize), [export to TFLite](../../../docs/guide.md#export-to-tflite),
 * [benchmark](../../../docs/guide.md#benchmark),
 * [distill](../../../docs/guide.md#train-distillation-and-fine-tuning) and
 * [prune](../../../docs/guide.md#prune) show each command beside the API it runs.
 * @module
 */
export { main, COMMANDS, type MainIO } from './main.js';
export { inspectModel, formatInspect, type InspectResult } from './commands/inspect.js';
export type { Command, CommandContext } from './command.js';
export { UsageError } from './cli-error.js';
export { defaultModelPath } from './default-model.js';
