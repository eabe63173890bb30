import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages', import.meta.url));

/**
 * `@edgeml/<name>[/sub]` resolves to the TypeScript file its package's exports map names under
 * the `source` condition, so tests run without a build and a new package needs no entry here.
 * (A plugin, not `resolve.conditions`: Vitest hands resolve conditions to Node as `--conditions`
 * flags, which child processes the tests fork would inherit and then fail on `.ts` files.)
 */
function workspaceSources(): Plugin {
  return {
    name: 'edgeml-workspace-sources',
    enforce: 'pre',
    resolveId(id) {
      const match = /^@edgeml\/([^/]+)(\/.+)?$/.exec(id);
      if (!match) return null;
      const dir = path.join(packagesDir, match[1]);
      const manifest = path.join(dir, 'package.json');
      if (!fs.existsSync(manifest)) return null;
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { exports?: Record<string, unknown> };
      const entry = pkg.exports?.[match[2] ? `.${match[2]}` : '.'];
      const source = typeof entry === 'string' ? entry : (entry as { source?: string } | undefined)?.source;
      return source ? path.join(dir, source) : null;
    },
  };
}

export default defineConfig({
  plugins: [workspaceSources()],
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // tfjs-core's gradients are ESM with extensionless imports: let Vite resolve them.
    server: { deps: { inline: [/@tensorflow\/tfjs/] } },
  },
});
