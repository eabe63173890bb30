import { defineConfig } from 'tsup';

/** The build every package shares: ESM + CJS + .d.ts per entry, source maps. */
export function packageBuild(entry: string[]) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    shims: true,
  });
}
