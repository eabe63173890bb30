import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { IntegerKernelTraits } from '@edgeml/core';

/**
 * How onnxruntime's integer GEMM/convolution kernels sum on this CPU. On x86-64 MLAS picks a
 * VNNI kernel (`vpdpbusd`, 32-bit sums) when the CPU has AVX-VNNI or AVX512-VNNI, and
 * otherwise `vpmaddubsw`, which adds each pair of u8×s8 products into a saturating 16-bit lane:
 * full-range weights then overflow. ARM's kernels widen before they add.
 */
export function detectIntegerKernels(
  arch: string = os.arch(),
  // null, not undefined, says "unknown": an undefined argument would take the default and read this CPU.
  features: string | null = cpuFeatures(),
): IntegerKernelTraits {
  if (arch !== 'x64') return { pairSumsSaturate: false, detail: `${arch}: integer kernels sum in 32 bits` };
  if (features === null)
    // Unknown features: 7-bit weights cost a little precision, overflow costs the answers.
    return { pairSumsSaturate: true, detail: 'x86-64 whose CPU features could not be read, assumed without VNNI' };
  const vnni = /\b(avx512_?vnni|avx_?vnni|avxvnni)\b/i.test(features);
  return vnni
    ? { pairSumsSaturate: false, detail: 'x86-64 with VNNI, 32-bit sums' }
    : { pairSumsSaturate: true, detail: 'x86-64 without VNNI: u8×s8 pairs summed in 16 bits' };
}

let thisCpu: IntegerKernelTraits | undefined;

/** {@link detectIntegerKernels} of this process's CPU, read once. */
export const integerKernelsOfThisCpu = (): IntegerKernelTraits => (thisCpu ??= detectIntegerKernels());

/** The CPU's feature flags as the OS lists them, or null where it does not say. */
function cpuFeatures(): string | null {
  try {
    if (process.platform === 'linux')
      return /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? null;
    if (process.platform === 'darwin')
      return execFileSync('sysctl', ['-n', 'machdep.cpu.features', 'machdep.cpu.leaf7_features'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
  } catch {
    return null;
  }
  return null;
}
