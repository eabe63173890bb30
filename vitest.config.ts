import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@edgeml\/core\/node$/, replacement: src('core/src/node.ts') },
      { find: /^@edgeml\/core$/, replacement: src('core/src/index.ts') },
      { find: /^@edgeml\/runtime-node$/, replacement: src('runtime-node/src/index.ts') },
      { find: /^@edgeml\/quantize$/, replacement: src('quantize/src/index.ts') },
      { find: /^@edgeml\/runtime-web$/, replacement: src('runtime-web/src/index.ts') },
      { find: /^@edgeml\/testing$/, replacement: src('testing/src/index.ts') },
      { find: /^@edgeml\/distill$/, replacement: src('distill/src/index.ts') },
      { find: /^@edgeml\/prune$/, replacement: src('prune/src/index.ts') },
      { find: /^@edgeml\/benchmark$/, replacement: src('benchmark/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // tfjs-core's gradients are ESM with extensionless imports: let Vite resolve them.
    server: { deps: { inline: [/@tensorflow\/tfjs/] } },
  },
});
