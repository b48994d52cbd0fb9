#!/usr/bin/env bash
# Installs everything the demo and the tests need, idempotently, from the package registries
# only (crates.io, PyPI, Debian, npm). A second run checks and skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { printf '[setup] %s\n' "$*"; }

# --- Debian packages: browsers, drivers, TURN server, namespaces tooling -----------------------
APT_PKGS=(chromium chromium-driver firefox-esr coturn iproute2 util-linux)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # coturn's package starts nothing by default; make sure no system instance holds ports
  systemctl disable --now coturn >/dev/null 2>&1 || true
fi
if dpkg-query -W -f='${Status}' binaryen 2>/dev/null | grep -q "install ok installed"; then
  log "WARNING: Debian's binaryen (wasm-opt 108) is installed; it breaks wasm output. We use npm binaryen 132 explicitly."
fi

# --- Rust: clippy and rustfmt, wasm target, wasm-pack, wasm-bindgen CLI (exact match with the crate), geckodriver --
for c in clippy rustfmt; do
  rustup component list --installed | grep -q "^$c" || { log "rustup component add $c"; rustup component add "$c"; }
done
rustup target list --installed | grep -qx wasm32-unknown-unknown || { log "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
if [ "$(wasm-pack --version 2>/dev/null || true)" != "wasm-pack 0.15.1" ]; then
  log "cargo install wasm-pack 0.15.1"; cargo install wasm-pack --version 0.15.1 --locked --force
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen 0.2.130" ]; then
  # not --locked: a locked dependency is missing from the registry mirror
  log "cargo install wasm-bindgen-cli 0.2.130"; cargo install wasm-bindgen-cli --version =0.2.130 --force
fi
if ! command -v geckodriver >/dev/null 2>&1; then
  log "cargo install geckodriver"; cargo install geckodriver
fi

# --- npm: binaryen 132 (wasm-opt), esbuild, socket.io-client ------------------------------------
if [ ! -f node_modules/.setup-stamp ] || ! cmp -s package-lock.json node_modules/.setup-stamp; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.setup-stamp
fi

# --- Python venv: Flask-SocketIO + the real ProbeCoordinator, pytest, Playwright, Selenium -------
REQ=server/requirements.txt
if [ ! -x .venv/bin/python ]; then
  log "python3 -m venv .venv"; python3 -m venv .venv
fi
if [ ! -f .venv/.setup-stamp ] || ! cmp -s "$REQ" .venv/.setup-stamp; then
  log "pip install -r $REQ"
  .venv/bin/pip install -q --disable-pip-version-check -r "$REQ"
  cp "$REQ" .venv/.setup-stamp
fi
log "ready"
