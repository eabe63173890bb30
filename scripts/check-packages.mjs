// publint and `attw --pack` on every published package in packages/ (private ones are skipped),
// as a user's bundler and Node (ESM and CJS) would resolve them. Needs the build.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
let failed = 0;
for (const dir of fs.readdirSync(path.join(root, 'packages')).sort()) {
  const cwd = path.join(root, 'packages', dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(cwd, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  let clean = true;
  // engines.node is >= 20, so node10's resolution (which ignores "exports") is not a target.
  for (const [tool, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'node16', '--format', 'table-flipped']],
  ]) {
    const r = spawnSync(bin(tool), args, { cwd, encoding: 'utf8' });
    if (r.status !== 0) {
      failed++;
      clean = false;
      console.error(`${pkg.name}: ${tool} failed\n${r.stdout}${r.stderr}`);
    }
  }
  if (clean) console.log(`${pkg.name}: publint and attw clean`);
}
if (failed) process.exit(1);
