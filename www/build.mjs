#!/usr/bin/env node
// Builds the demo page into www/dist/ from the PACKED npm package, the way a
// real frontend consumes p2p-probe:
//   1. npm pack ../pkg            -> target/npm-pack/p2p-probe.tgz (fails if pkg/ is missing)
//   2. npm install (www/)         -> www/node_modules/p2p-probe from that tarball, so a
//                                    broken `files` list in pkg/package.json breaks this build
//   3. tsc --noEmit               -> type-checks our calls against the shipped p2p_probe.d.ts
//   4. esbuild                    -> dist/main.js, dist/main.css, dist/p2p_probe_bg-HASH.wasm
//                                    (`file` loader; the URL is passed to init({module_or_path}))
//   5. copy index.html, verify the output.
// Usage: node www/build.mjs [--skip-typecheck]
// Env: P2P_PROBE_PKG_DIR overrides ../pkg.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const www = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(www, '..');
const pkgDir = path.resolve(process.env.P2P_PROBE_PKG_DIR || path.join(root, 'pkg'));
const packDir = path.join(root, 'target', 'npm-pack');
const tarball = path.join(packDir, 'p2p-probe.tgz');
const dist = path.join(www, 'dist');
const skipTypecheck = process.argv.includes('--skip-typecheck');

function fail(msg) {
  console.error(`\nwww build FAILED: ${msg}\n`);
  process.exit(1);
}
function run(cmd, args, cwd) {
  console.log(`$ ${cmd} ${args.join(' ')}   (in ${path.relative(root, cwd) || '.'})`);
  try {
    return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  } catch (e) {
    if (e.stdout) process.stdout.write(e.stdout);
    fail(`${cmd} ${args[0] || ''} exited with ${e.status ?? e.message}`);
  }
}

// 1. pack
if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
  fail(`no package at ${pkgDir} (pkg/package.json missing). Build it first: bash scripts/build_pkg.sh`);
}
const pkgJson = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkgJson.name !== 'p2p-probe') fail(`${pkgDir}/package.json has name ${JSON.stringify(pkgJson.name)}, expected "p2p-probe"`);
fs.mkdirSync(packDir, { recursive: true });
for (const f of fs.readdirSync(packDir)) if (f.endsWith('.tgz')) fs.rmSync(path.join(packDir, f));
const packOut = run('npm', ['pack', pkgDir, '--pack-destination', packDir, '--json', '--silent'], www);
let packed;
try { packed = JSON.parse(packOut)[0]; } catch { fail(`cannot parse npm pack output:\n${packOut}`); }
fs.renameSync(path.join(packDir, packed.filename), tarball);
console.log(`packed ${packed.name}@${packed.version}: ${packed.files.length} files, ${packed.size} bytes -> ${path.relative(root, tarball)}`);
console.log(packed.files.map((f) => `    ${f.path} (${f.size} B)`).join('\n'));

// 2. install from the tarball (always fresh: the tarball changes under the same name)
fs.rmSync(path.join(www, 'node_modules', 'p2p-probe'), { recursive: true, force: true });
run('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], www);
const installed = path.join(www, 'node_modules', 'p2p-probe');
const installedPkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
const entry = installedPkg.module || installedPkg.main;
const types = installedPkg.types || installedPkg.typings;
const missing = [];
if (!entry || !fs.existsSync(path.join(installed, entry))) missing.push(`entry point (${entry || 'no "module"/"main"'})`);
if (!fs.existsSync(path.join(installed, 'p2p_probe_bg.wasm'))) missing.push('p2p_probe_bg.wasm');
if (!types || !fs.existsSync(path.join(installed, types))) missing.push(`typings (${types || 'no "types"'})`);
if (missing.length) fail(`the packed package is missing: ${missing.join(', ')} (check "files" in pkg/package.json)`);

// 3. type-check against the shipped .d.ts
const tsc = path.join(www, 'node_modules', '.bin', 'tsc');
if (skipTypecheck) console.log('type-check skipped (--skip-typecheck)');
else if (!fs.existsSync(tsc)) fail('typescript is not installed in www/node_modules (npm install failed?)');
else run(tsc, ['-p', path.join('src', 'tsconfig.json')], www);

// 4. bundle
const esbuild = await import(path.join(www, 'node_modules', 'esbuild', 'lib', 'main.js'))
  .catch(() => fail('esbuild is not installed in www/node_modules (npm install failed?)'));
fs.rmSync(dist, { recursive: true, force: true });
let result;
try {
  result = await esbuild.build({
    absWorkingDir: www,
    entryPoints: ['src/main.js'],
    bundle: true,
    format: 'esm',
    target: ['es2020'],
    outdir: dist,
    loader: { '.wasm': 'file' },
    assetNames: '[name]-[hash]',
    external: ['/vendor/*'],
    sourcemap: true,
    minify: true,
    metafile: true,
    logLevel: 'warning',
  });
} catch (e) {
  fail(`esbuild: ${e.message}`);
}
fs.copyFileSync(path.join(www, 'index.html'), path.join(dist, 'index.html'));

// 5. verify
const out = fs.readdirSync(dist);
const wasm = out.filter((f) => f.endsWith('.wasm'));
if (wasm.length !== 1) fail(`expected exactly one .wasm in dist/, found ${JSON.stringify(wasm)}`);
const mainJs = fs.readFileSync(path.join(dist, 'main.js'), 'utf8');
if (!mainJs.includes(wasm[0])) fail(`dist/main.js does not reference ${wasm[0]}`);
if (!out.includes('main.css')) fail('dist/main.css was not produced');
const wasmBytes = fs.readFileSync(path.join(dist, wasm[0]));
if (wasmBytes.readUInt32LE(0) !== 0x6d736100) fail(`${wasm[0]} is not a WebAssembly module`);
console.log('\nwww/dist:');
for (const f of out.sort()) console.log(`  ${f.padEnd(36)} ${fs.statSync(path.join(dist, f)).size} B`);
console.log('www build OK');
