import * as fs from 'node:fs';
import * as os from 'node:os';

/** The machine a benchmark ran on: what a reader needs to compare figures across machines. */
export interface BenchmarkEnvironment {
  cpuModel: string;
  /** Logical cores. */
  cores: number;
  /** The CPU features that decide which kernels onnxruntime picks (AVX2, AVX-512, VNNI, NEON dot product …). */
  cpuFlags: string[];
  os: string;
  arch: string;
  node: string;
  totalMemoryBytes: number;
  /** The browser a benchmark ran in (its user agent), for results measured in a page such as EdgeML Studio; reports show it in place of `node`. */
  browser?: string;
}

// Only flags that change kernel choice: listing all ~100 would bury them.
const RELEVANT_FLAGS = [
  'sse4_1',
  'sse4_2',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx512_bf16',
  'avx512_fp16',
  'avx_vnni',
  'amx_tile',
  'amx_int8',
  'amx_bf16',
  'asimd',
  'asimddp',
  'asimdhp',
  'sve',
  'i8mm',
  'bf16',
];

function cpuFlags(): string[] {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    if (!line) return [];
    const present = new Set(
      line
        .slice(line.indexOf(':') + 1)
        .trim()
        .split(/\s+/),
    );
    return RELEVANT_FLAGS.filter((f) => present.has(f));
  } catch {
    return []; // not Linux: the flags are unknown, not absent
  }
}

/** Describe this machine. */
export function benchmarkEnvironment(): BenchmarkEnvironment {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    cpuFlags: cpuFlags(),
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
    totalMemoryBytes: os.totalmem(),
  };
}
