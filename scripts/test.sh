#!/usr/bin/env bash
# Runs every test: native core tests, lints, the wasm package build, browser tests in headless
# Chromium and Firefox, the bundled demo page build, and the end-to-end suite against the real
# ProbeCoordinator (pytest + Playwright, real browsers, network namespaces, coturn).
# Installs what it needs first (scripts/setup.sh, idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n==> %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "native core tests (cargo test)"
cargo test --quiet

step "cargo fmt --check (rustfmt.toml)"
cargo fmt --check

step "clippy (no unwrap/expect/panic/indexing in the library)"
cargo clippy --quiet --target wasm32-unknown-unknown --lib --tests -- -D warnings
cargo clippy --quiet --all-targets -- -D warnings

step "build pkg/ (wasm-pack release + wasm-opt from npm binaryen 132)"
bash scripts/build_pkg.sh

step "browser tests: headless Chromium"
wasm-pack test --headless --chrome --chromedriver /usr/bin/chromedriver --test web
step "browser tests: headless Firefox"
wasm-pack test --headless --firefox --geckodriver "$(command -v geckodriver)" --test web

step "bundle www/ from the packed package (esbuild + tsc against p2p_probe.d.ts)"
node www/build.mjs

# Consumer projects (vite, esbuild, webpack): npm install from the packed tarball, tsc strict,
# bundle, one probe each between two Chromium processes. They run as the tests/consumer folder
# of the pytest loop below.

# One pytest process per folder: each folder drives its own Playwright instance.
# Each failure's first line is printed again at the very end (pytest's -rfE summary, kept from
# every suite): a CI log cut in the middle still shows what failed and why.
status=0
failures=""
pylog="$(mktemp)"
for suite in tests/fixtures tests/turn tests/netem tests/e2e tests/consumer; do
  step "pytest $suite"
  rc=0
  # (COLUMNS: the summary lines are cut to the terminal width, 80 without a terminal)
  COLUMNS=1500 .venv/bin/python -m pytest "$suite" -q -p no:cacheprovider -rfE "$@" 2>&1 | tee "$pylog" || rc=$?
  if [ "$rc" -ne 0 ]; then
    status=1
    lines="$(grep -E '^(FAILED|ERROR) ' "$pylog" | cut -c1-1500 || true)"
    failures+="${lines:-$suite: pytest exited $rc with no FAILED/ERROR line (see its output above)}"$'\n'
  fi
done
rm -f "$pylog"
if [ "$status" -ne 0 ]; then
  printf '\n==> what failed (first line of each):\n%s' "$failures" >&2
  echo "some pytest suites failed" >&2
  exit 1
fi
echo "all suites passed"
