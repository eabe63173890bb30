/**
 * The built packages as a user installs them: ESM import and CJS require of every entry in
 * each exports map resolve, and each has its type declarations. Needs the build (pnpm
 * install runs it).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

// Every published package in the workspace: a new folder under packages/ is checked without an edit here.
const PACKAGES = fs
  .readdirSync('packages')
  .filter(
    (dir) =>
      !(JSON.parse(fs.readFileSync(path.join('packages', dir, 'package.json'), 'utf8')) as { private?: boolean })
        .private,
  );

describe('published package shape', () => {
  for (const name of PACKAGES) {
    it(`@edgeml/${name}: every export resolves from ESM and CJS, with types`, () => {
      const dir = path.resolve('packages', name);
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      for (const [sub, target] of Object.entries(pkg.exports as Record<string, unknown>)) {
        if (sub === './package.json') continue;
        const spec = `@edgeml/${name}${sub === '.' ? '' : sub.slice(1)}`;
        const t = target as {
          source: string;
          import: { types: string; default: string };
          require: { types: string; default: string };
        };
        for (const file of [t.source, t.import.types, t.import.default, t.require.types, t.require.default])
          expect(fs.existsSync(path.join(dir, file)), `${spec}: ${file}`).toBe(true);
        const esm = spawnSync(
          process.execPath,
          ['--input-type=module', '-e', `const m = await import('${spec}'); console.log(Object.keys(m).length)`],
          { encoding: 'utf8' },
        );
        expect(esm.status, esm.stderr).toBe(0);
        const cjs = spawnSync(process.execPath, ['-e', `console.log(Object.keys(require('${spec}')).length)`], {
          encoding: 'utf8',
        });
        expect(cjs.status, cjs.stderr).toBe(0);
        expect(Number(esm.stdout)).toBe(Number(cjs.stdout));
        expect(Number(esm.stdout)).toBeGreaterThan(0);
      }
    });
  }
});
