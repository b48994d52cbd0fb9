#!/usr/bin/env bash
# Builds pkg/ (the npm package `p2p-probe`): wasm-pack release build for the web target,
# then wasm-opt -Oz from npm binaryen 132 (never Debian's binaryen: it breaks the output).
set -euo pipefail
shopt -s nullglob  # a build without the shim snippet (bench/size.sh core-floor) has no snippets/
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
WASM_OPT="$PWD/node_modules/.bin/wasm-opt"
[ -x "$WASM_OPT" ] || { echo "build_pkg: $WASM_OPT missing; run scripts/setup.sh" >&2; exit 1; }
"$WASM_OPT" --version | grep -q "version 132" || { echo "build_pkg: wasm-opt is not binaryen 132" >&2; exit 1; }

wasm-pack build --release --target web --weak-refs --out-name p2p_probe --out-dir pkg . >/dev/null 2>pkg.build.log \
  || { cat pkg.build.log >&2; rm -f pkg.build.log; exit 1; }
rm -f pkg.build.log
"$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue --strip-producers --strip-debug --strip-target-features \
  pkg/p2p_probe_bg.wasm -o pkg/p2p_probe_bg.wasm.opt
mv pkg/p2p_probe_bg.wasm.opt pkg/p2p_probe_bg.wasm

# Short names for the wasm's imports from the glue (wasm and glue together).
node scripts/short_imports.mjs pkg/p2p_probe_bg.wasm pkg/p2p_probe.js

# Minify the JS glue and the shim snippet in place (esbuild from npm). No --format: a plain
# transform keeps the ES module as it is (imports, every export incl. the default `init` and
# `initSync`, the snippet path) and does not rename top-level names, so the exported classes
# keep their names. (wasm-bindgen imports the snippet once per direct import, under the same key
# and as the same module object: esbuild's duplicate-key warning is noise.)
ESBUILD="$PWD/node_modules/.bin/esbuild"
[ -x "$ESBUILD" ] || { echo "build_pkg: $ESBUILD missing; run scripts/setup.sh" >&2; exit 1; }
cp js/entry.js pkg/index.js
for f in pkg/index.js pkg/p2p_probe.js pkg/snippets/*/js/shim.js; do
  "$ESBUILD" "$f" --minify --log-level=warning --log-override:duplicate-object-key=silent --outfile="$f.min"
  mv "$f.min" "$f"
done

# What an npm user gets besides the code: the package README (docs/npm-README.md), the
# LICENSE, an `exports` map (the module and its types, and the .wasm's URL with a type of its
# own for bundlers that need it imported), the typings' own reference to the disposable lib,
# and an InitOutput that shows only `memory` (the rest are wasm-bindgen internals).
# the bundler recipes are tests/consumer/RECIPES.md, inserted as they are tested
node -e '
const fs = require("fs");
const readme = fs.readFileSync("docs/npm-README.md", "utf8");
const recipes = fs.readFileSync("tests/consumer/RECIPES.md", "utf8");
const from = recipes.indexOf("All three share:");
if (!readme.includes("<!-- RECIPES -->") || from < 0) { console.error("build_pkg: README recipe marker or RECIPES.md start missing"); process.exit(1); }
fs.writeFileSync("pkg/README.md", readme.replace("<!-- RECIPES -->", recipes.slice(from).replace(/^## /gm, "### ").trim()));
'
cp LICENSE pkg/LICENSE
printf '%s\n' '/** The URL of p2p-probe'"'"'s wasm, as a bundler gives it for an imported asset. */' \
  'declare const url: string;' 'export default url;' > pkg/p2p_probe_bg.wasm.url.d.ts
node -e '
const fs = require("fs");
const p = JSON.parse(fs.readFileSync("pkg/package.json", "utf8"));
delete p.repository;
p.module = "index.js";
p.main = "index.js";
p.types = "p2p_probe.d.ts";
p.exports = {
  ".": { types: "./p2p_probe.d.ts", default: "./index.js" },
  "./p2p_probe_bg.wasm": { types: "./p2p_probe_bg.wasm.url.d.ts", default: "./p2p_probe_bg.wasm" },
  "./package.json": "./package.json",
};
p.files = Array.from(new Set([...(p.files || []), "index.js", "snippets", "p2p_probe_bg.wasm.url.d.ts", "LICENSE", "README.md"]));
p.sideEffects = ["./index.js", "./p2p_probe.js", "./snippets/*"];
fs.writeFileSync("pkg/package.json", JSON.stringify(p, null, 2) + "\n");
let dts = fs.readFileSync("pkg/p2p_probe.d.ts", "utf8");
const init = /export interface InitOutput \{[^}]*\}/;
if (!init.test(dts)) { console.error("build_pkg: no InitOutput in p2p_probe.d.ts"); process.exit(1); }
dts = dts.replace(init, "export interface InitOutput {\n    readonly memory: WebAssembly.Memory;\n}");
fs.writeFileSync("pkg/p2p_probe.d.ts", "/// <reference lib=\"esnext.disposable\" />\n" + dts);
for (const f of ["index.js", "p2p_probe.js", "p2p_probe_bg.wasm", "p2p_probe.d.ts", "package.json", "README.md", "LICENSE"]) {
  if (!fs.existsSync("pkg/" + f)) { console.error("build_pkg: missing pkg/" + f); process.exit(1); }
}
'
raw=$(stat -c %s pkg/p2p_probe_bg.wasm)
gz=$(cat pkg/p2p_probe_bg.wasm pkg/index.js pkg/p2p_probe.js pkg/snippets/*/js/shim.js | gzip -9 | wc -c)
echo "pkg/: wasm ${raw} bytes raw; wasm + JS (entry, glue, shim) ${gz} bytes gzip -9"
