#!/usr/bin/env bash
# Everything CI checks after setup, in order of speed: types, lint, the security gate, the build,
# unit and integration tests (Vitest), then end-to-end tests (Playwright in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "typecheck"
npm run --silent typecheck
step "lint"
npm run --silent lint
step "security gate (electronegativity)"
node scripts/security-gate.mjs
step "build"
npx electron-vite build --logLevel warn
step "renderer budget"
node scripts/renderer-budget.mjs
reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
step "unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$reports/vitest.json"
step "end-to-end tests (playwright)"
PLAYWRIGHT_JSON_OUTPUT_NAME="$reports/playwright.json" npx playwright test --reporter=list,json
step "boot rehearsal (npm run rehearse: the droplet recipe booted in a container, driven by the CLI)"
rehearsal=()
if [ "${CI:-}" != true ] && { [ "$(uname -s)" != Linux ] || [ "$(id -u)" != 0 ]; }; then
  echo "skipped: the boot rehearsal needs Linux and root (it boots a container in its own network namespace)"
else
  # Its failures are counted in the summary below rather than stopping here.
  DICTUMAL_REHEARSAL_SKIP_BUILD=1 npm run --silent rehearse -- --reporter=default --reporter=json \
    --outputFile.json="$reports/rehearsal.json" || true
  rehearsal=("$reports/rehearsal.json")
fi
step "summary"
node scripts/test-summary.mjs "$reports/vitest.json" "$reports/playwright.json" "${rehearsal[@]}"
