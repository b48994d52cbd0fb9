#!/usr/bin/env node
// Gives the wasm's imports from the JS glue short names, in the wasm and in the glue alike.
// Exports keep their names: init() resolves to the wasm's exports (InitOutput in the .d.ts).
//
// wasm-bindgen names every import `__wbg_<name>_<16 hex digits>`; those random digits appear
// twice (wasm import section, glue import object) and gzip cannot compress them. Only imports
// from module "./p2p_probe_bg.js" (the glue's own import object) are renamed; snippet imports
// keep their names (they are the snippet's exports). Every renamed name must occur in the glue
// as an object key, else nothing is written.
// Usage: node scripts/short_imports.mjs pkg/p2p_probe_bg.wasm pkg/p2p_probe.js  (in place)
import fs from 'node:fs';

const [wasmPath, jsPath] = process.argv.slice(2);
const GLUE = './p2p_probe_bg.js';
const GLUE_SHORT = '_'; // the glue's import-object key for it, renamed too
const buf = fs.readFileSync(wasmPath);
let js = fs.readFileSync(jsPath, 'utf8');
const die = (msg) => { console.error(`short_imports: ${msg}`); process.exit(1); };

function uleb(b, p) {
  let v = 0, shift = 0, byte;
  do { byte = b[p++]; v += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
  return [v, p];
}
function encUleb(v) {
  const out = [];
  do { let byte = v & 0x7f; v = Math.floor(v / 128); if (v) byte |= 0x80; out.push(byte); } while (v);
  return Buffer.from(out);
}
const encName = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([encUleb(b.length), b]); };

if (buf.readUInt32LE(0) !== 0x6d736100) die('not a wasm module');
let p = 8;
const parts = [buf.subarray(0, 8)];
const renamed = new Map();
while (p < buf.length) {
  const id = buf[p];
  const [size, start] = uleb(buf, p + 1);
  const end = start + size;
  if (id !== 2) { parts.push(buf.subarray(p, end)); p = end; continue; }
  let q = start;
  let count;
  [count, q] = uleb(buf, q);
  const out = [encUleb(count)];
  for (let i = 0; i < count; i++) {
    let len;
    [len, q] = uleb(buf, q);
    const mod = buf.toString('utf8', q, q + len); q += len;
    [len, q] = uleb(buf, q);
    const name = buf.toString('utf8', q, q + len); q += len;
    const descStart = q;
    const kind = buf[q++];
    const limits = () => { const flags = buf[q++]; [, q] = uleb(buf, q); if (flags & 1) [, q] = uleb(buf, q); };
    if (kind === 0) [, q] = uleb(buf, q);                      // function: type index
    else if (kind === 1) { if (buf[q++] === 0x64 || buf[q - 1] === 0x63) q++; limits(); } // table
    else if (kind === 2) limits();                                // memory
    else if (kind === 3) { q++; q++; }                            // global: valtype, mutability
    else die(`import kind ${kind} not handled`);
    let newName = name;
    if (mod === GLUE && /^__wbg_|^__wbindgen_/.test(name)) {
      newName = renamed.get(name) ?? `_${renamed.size.toString(36)}`;
      renamed.set(name, newName);
    }
    out.push(encName(mod === GLUE ? GLUE_SHORT : mod), encName(newName), buf.subarray(descStart, q));
  }
  if (q !== end) die('import section not parsed to its end');
  const body = Buffer.concat(out);
  parts.push(Buffer.from([2]), encUleb(body.length), body);
  p = end;
}

for (const [oldName, newName] of renamed) {
  const re = new RegExp(`\\b${oldName}\\b`, 'g');
  const hits = js.match(re)?.length ?? 0;
  if (hits !== 1) die(`${oldName} occurs ${hits} times in ${jsPath}, expected once`);
  js = js.replace(re, newName);
  if (!new RegExp(`\\b${newName}: function`).test(js)) die(`${newName} (${oldName}) is not an import-object key`);
}
const key = `"${GLUE}":`;
if (js.split(key).length !== 2) die(`${key} is not in ${jsPath} exactly once`);
js = js.replace(key, `"${GLUE_SHORT}":`);
fs.writeFileSync(wasmPath, Buffer.concat(parts));
fs.writeFileSync(jsPath, js);
