#!/usr/bin/env bash
# Where the package's bytes go. Builds three variants with scripts/build_pkg.sh, each in a
# fresh copy of the tracked tree, and prints their sizes (gzip -9):
#   shipped        the package as `scripts/build_pkg.sh` builds it
#   no-connection  the same without the ProbeConnection class (src/web/connection.rs)
#   core-floor     the sans-IO core alone behind a minimal binding (bench/size/floor.rs):
#                  no browser shell at all
# Run after scripts/setup.sh. Works in target/size/<variant>, with cargo target dirs beside
# them (fixed places: wasm-bindgen's build artifacts remember the crate's path).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TMP=$ROOT/target/size

gz() { if [ -f "$1" ]; then gzip -9 <"$1" | wc -c; else echo 0; fi; }

build() {
  local name=$1 dir=$TMP/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$dir"
  ln -s "$ROOT/node_modules" "$dir/node_modules"
  case $name in
    no-connection)
      grep -q '^mod connection;$' "$dir/src/web/mod.rs" || { echo "size.sh: src/web/mod.rs has no 'mod connection;'" >&2; exit 1; }
      sed -i -e '/^mod connection;$/d' -e '/^pub use connection::ProbeConnection;$/d' "$dir/src/web/mod.rs" ;;
    core-floor)
      grep -q '^pub mod web;$' "$dir/src/lib.rs" || { echo "size.sh: src/lib.rs has no 'pub mod web;'" >&2; exit 1; }
      cp bench/size/floor.rs "$dir/src/floor.rs"
      sed -i 's/^pub mod web;$/pub mod floor;/' "$dir/src/lib.rs" ;;
  esac
  (cd "$dir" && CARGO_TARGET_DIR="$TMP/target-$name" bash scripts/build_pkg.sh >/dev/null)
  local wasm=$dir/pkg/p2p_probe_bg.wasm glue=$dir/pkg/glue.js
  cat "$dir/pkg/index.js" "$dir/pkg/p2p_probe.js" > "$glue"   # the entry and wasm-bindgen's glue
  local shim
  shim=$(ls "$dir"/pkg/snippets/*/js/shim.js 2>/dev/null | head -1 || true)
  local total
  total=$(cat "$wasm" "$glue" ${shim:+"$shim"} | gzip -9 | wc -c)
  printf '| %-13s | %9s | %8s | %8s | %8s | %9s |\n' "$name" "$(stat -c %s "$wasm")" "$(gz "$wasm")" "$(gz "$glue")" "$(gz "${shim:-/nonexistent}")" "$total"
}

echo '| variant       | wasm raw  | wasm gz  | glue gz  | shim gz  | package gz |'
echo '| ---           | ---       | ---      | ---      | ---      | ---       |'
for v in shipped no-connection core-floor; do build "$v"; done
echo "(glue = pkg/index.js + pkg/p2p_probe.js; package gz = wasm + glue + shim in one gzip -9 stream, as scripts/build_pkg.sh prints it; guard: 44,000 B)"
