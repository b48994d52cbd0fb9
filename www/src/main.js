// p2p-probe live demo page.
//
// Consumes the packed npm package exactly as a real frontend would:
//   import init, { attachProbeManager } from 'p2p-probe'
// The .wasm is emitted by esbuild's `file` loader and its URL handed to init(),
// because esbuild does not rewrite `new URL('…wasm', import.meta.url)`.
// socket.io is served by the server under /vendor/ (kept external in the bundle).
//
// Test/automation hooks on window: __ready, __subject, __results (every onResult
// object, as received), __complete (probe_complete broadcasts by id), __errors.

import init, { attachProbeManager } from 'p2p-probe';
import wasmUrl from 'p2p-probe/p2p_probe_bg.wasm';
import { io } from '/vendor/socket.io.esm.min.js';
import './style.css';

const params = new URLSearchParams(location.search);
const subject = params.get('subject') || `web-${Math.random().toString(36).slice(2, 8)}`;
const pings = intParam('pings', 5, 1, 100);

const state = {
  subjects: [],            // from the `presence` broadcast
  selected: null,          // peer chosen for manual probes
  results: [],             // rows: {result, peer, receivedAt, elapsedMs}
  peers: new Map(),        // probe_session_id -> peer subject (from probe_prepare)
  complete: new Map(),     // probe_session_id -> probe_complete broadcast
  inFlight: null,          // {id, peer, since}
  autoTimer: null,
  autoNext: 0,
};

window.__ready = false;
window.__subject = subject;
window.__results = [];
window.__complete = {};
window.__errors = [];

const $ = (id) => document.getElementById(id);

main().catch((err) => {
  console.error(err);
  window.__errors.push(String(err && err.stack || err));
  setStatus('error', `failed to start: ${err && err.message || err}`);
});

async function main() {
  $('me').textContent = subject;
  setStatus('busy', 'loading WebAssembly…');
  const t0 = performance.now();
  // esbuild's file loader gives a path relative to this bundle; resolve it against
  // the script's own URL so the page works under any base path.
  await init({ module_or_path: new URL(wasmUrl, import.meta.url) });
  log(`p2p-probe wasm loaded in ${fmt(performance.now() - t0, 0)} ms`);

  setStatus('busy', 'connecting…');
  const socket = io({ transports: ['websocket'], query: { subject_id: subject } });
  // Attach right after io() so no probe_prepare can slip past.
  const manager = attachProbeManager(socket, subject, {
    iceServers: [],
    pings,
    onResult: onResult,
  });
  window.__manager = manager;
  window.addEventListener('pagehide', () => { manager.close(); socket.close(); });

  socket.on('connect', () => {
    setStatus('ok', 'connected');
    log(`socket connected (${socket.id})`);
    window.__ready = true;
  });
  socket.on('disconnect', (reason) => {
    window.__ready = false;
    setStatus('error', `disconnected: ${reason}`);
    log(`socket disconnected: ${reason}`);
  });
  socket.on('connect_error', (err) => setStatus('error', `cannot connect: ${err.message}`));
  socket.on('presence', (msg) => {
    state.subjects = (msg && Array.isArray(msg.subjects)) ? msg.subjects.slice() : [];
    renderSubjects();
  });
  // Extra listeners only observe; the probe manager handles these events itself.
  socket.on('probe_prepare', (msg) => {
    if (!msg) return;
    state.peers.set(msg.probe_session_id, msg.peer_subject_id);
    log(`probe_prepare ${short(msg.probe_session_id)} with ${msg.peer_subject_id}`);
  });
  socket.on('probe_complete', (msg) => {
    if (!msg || !msg.probe_session_id) return;
    state.complete.set(msg.probe_session_id, msg);
    window.__complete[msg.probe_session_id] = msg;
    const row = state.results.find((r) => r.result.probe_session_id === msg.probe_session_id);
    if (row) { row.elapsedMs = msg.elapsed_ms; renderResults(); }
    if (state.inFlight && state.inFlight.id === msg.probe_session_id) state.inFlight = null;
    renderControls();
  });

  $('probe-btn').addEventListener('click', () => {
    if (state.selected) requestProbe(state.selected);
  });
  $('auto').addEventListener('change', () => setAuto($('auto').checked));
  for (const r of document.querySelectorAll('input[name=hsrc]')) r.addEventListener('change', renderHistogram);
  $('interval').addEventListener('change', () => { if ($('auto').checked) setAuto(true); });
  $('clear-btn').addEventListener('click', () => {
    state.results = [];
    renderResults(); renderHistogram(); renderSummary();
  });
  if (params.get('auto') === '1') { $('auto').checked = true; setAuto(true); }
  renderSubjects(); renderResults(); renderHistogram(); renderSummary();
}

// ---------------------------------------------------------------------------
// Probing

function onResult(result) {
  // Keep the object exactly as the package produced it, for automation.
  window.__results.push(result);
  const id = result && result.probe_session_id;
  const row = {
    result,
    peer: state.peers.get(id) || null,
    receivedAt: new Date(),
    elapsedMs: state.complete.has(id) ? state.complete.get(id).elapsed_ms : null,
  };
  state.results.push(row);
  if (state.inFlight && state.inFlight.id === id) state.inFlight = null;
  const what = result && result.success
    ? `rtt ${fmt(result.rtt_ms)} ms`
    : `failed${result && result.error ? ` (${result.error.code})` : ''}`;
  log(`result ${short(id)}: ${what}`);
  try {
    renderResults(); renderHistogram(); renderSummary(); renderControls();
  } catch (err) {  // never throw back into the wasm callback
    console.error('render failed', err);
    window.__errors.push(`render: ${err && err.stack || err}`);
  }
}

async function requestProbe(peer) {
  if (state.inFlight) return;
  state.inFlight = { id: null, peer, since: Date.now() };
  renderControls();
  try {
    const resp = await fetch('/api/probe', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ a: subject, b: peer, wait: false }),
    });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}: ${(await resp.text()).slice(0, 200)}`);
    const body = await resp.json();
    if (state.inFlight && state.inFlight.peer === peer && !state.inFlight.id) {
      state.inFlight.id = body.probe_session_id;
      // The result (or probe_complete, e.g. when the peer left) can beat the HTTP reply.
      if (state.complete.has(body.probe_session_id)
          || state.results.some((r) => r.result.probe_session_id === body.probe_session_id)) state.inFlight = null;
    }
    log(`requested probe ${short(body.probe_session_id)} against ${peer}`);
  } catch (err) {
    log(`probe request failed: ${err.message}`);
    state.inFlight = null;
  }
  renderControls();
}

function setAuto(on) {
  clearInterval(state.autoTimer);
  state.autoTimer = null;
  if (!on) { renderControls(); return; }
  const seconds = Math.max(0.5, Number($('interval').value) || 3);
  state.autoTimer = setInterval(autoTick, seconds * 1000);
  autoTick();
}

function autoTick() {
  // Give up on a probe that never reported (the server drops stale probes at 15 s).
  if (state.inFlight && Date.now() - state.inFlight.since > 20000) state.inFlight = null;
  if (state.inFlight) return;
  const others = state.subjects.filter((s) => s !== subject);
  if (!others.length) return;
  const peer = others[state.autoNext++ % others.length];
  requestProbe(peer);
}

// ---------------------------------------------------------------------------
// Rendering

function setStatus(kind, text) {
  const el = $('status');
  el.className = `pill ${kind}`;
  el.textContent = text;
}

function renderSubjects() {
  const ul = $('subjects');
  ul.replaceChildren();
  const others = state.subjects.filter((s) => s !== subject);
  if (state.selected && !others.includes(state.selected)) state.selected = null;
  if (!state.selected && others.length) state.selected = others[0];
  $('count').textContent = String(state.subjects.length);
  if (!state.subjects.length) {
    ul.append(el('li', { className: 'muted' }, 'nobody yet'));
  }
  for (const s of state.subjects) {
    const li = el('li', {});
    if (s === subject) {
      li.className = 'me';
      li.append(el('span', { className: 'dot' }), el('code', {}, s), el('span', { className: 'tag' }, 'you'));
    } else {
      const id = `peer-${s}`;
      const radio = el('input', { type: 'radio', name: 'peer', id, value: s });
      radio.checked = s === state.selected;
      radio.addEventListener('change', () => { state.selected = s; renderControls(); });
      const label = el('label', { htmlFor: id }, el('span', { className: 'dot' }), el('code', {}, s));
      li.append(radio, label);
    }
    ul.append(li);
  }
  renderControls();
}

function renderControls() {
  const btn = $('probe-btn');
  btn.disabled = !state.selected || !!state.inFlight;
  btn.textContent = state.inFlight
    ? `Probing ${state.inFlight.peer}…`
    : state.selected ? `Probe ${state.selected}` : 'Probe (no peer connected)';
}

const COLUMNS = [
  ['#', (r, i) => String(i + 1)],
  ['time', (r) => r.receivedAt.toLocaleTimeString()],
  ['peer', (r) => r.peer || '–'],
  ['rtt_ms', (r) => fmt(r.result.rtt_ms), 'strong'],
  ['ping median', (r) => fmt(rtt(r).median_ms)],
  ['min', (r) => fmt(rtt(r).min_ms)],
  ['max', (r) => fmt(rtt(r).max_ms)],
  ['jitter', (r) => fmt(rtt(r).jitter_ms)],
  ['loss', (r) => loss(rtt(r))],
  ['stats_rtt_ms', (r) => fmt(r.result.stats_rtt_ms)],
  ['connection', (r) => connection(r.result.connection)],
  ['setup_ms', (r) => fmt(r.result.setup_ms, 0)],
  ['measure_ms', (r) => fmt(r.result.measure_ms, 0)],
  ['elapsed_ms', (r) => fmt(r.elapsedMs, 0)],
  ['status', (r) => r.result.success ? 'ok' : (r.result.error ? r.result.error.code : 'failed')],
];

function renderResults() {
  const thead = $('results').tHead;
  if (!thead.rows.length) {
    const tr = thead.insertRow();
    for (const [name] of COLUMNS) tr.append(el('th', {}, name));
  }
  const tbody = $('results').tBodies[0];
  tbody.replaceChildren();
  // Newest first.
  for (let i = state.results.length - 1; i >= 0; i--) {
    const r = state.results[i];
    const tr = tbody.insertRow();
    tr.className = r.result.success ? 'ok' : 'fail';
    tr.title = r.result.error ? `${r.result.error.code}: ${r.result.error.message}` : (r.result.probe_session_id || '');
    for (const [, get, cls] of COLUMNS) tr.append(el('td', cls ? { className: cls } : {}, get(r, i)));
  }
  $('no-results').hidden = state.results.length > 0;
}

function renderSummary() {
  const ok = state.results.filter((r) => r.result.success);
  const rtts = ok.map((r) => r.result.rtt_ms).filter(isNum);
  const stats = ok.map((r) => r.result.stats_rtt_ms).filter(isNum);
  const setups = ok.map((r) => r.result.setup_ms).filter(isNum);
  const items = [
    ['probes', String(state.results.length)],
    ['failed', String(state.results.length - ok.length)],
    ['median rtt', unit(quantile(rtts, 0.5))],
    ['p90 rtt', unit(quantile(rtts, 0.9))],
    ['median getStats rtt', unit(quantile(stats, 0.5))],
    ['median setup', unit(quantile(setups, 0.5), 0)],
  ];
  const dl = $('summary');
  dl.replaceChildren();
  for (const [k, v] of items) dl.append(el('div', {}, el('dt', {}, k), el('dd', {}, v)));
}

// Histogram of the successful probes' rtt_ms (what the server receives: the selected
// candidate pair's transport RTT, else the ping median) or of their ping-series medians.
const HIST_SOURCES = {
  rtt: ['rtt_ms per probe', (r) => r.result.rtt_ms],
  ping: ['ping median per probe', (r) => rtt(r).median_ms],
};

function renderHistogram() {
  const svg = $('hist');
  const W = 720, H = 250, L = 44, R = 12, T = 24, B = 38;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const source = document.querySelector('input[name=hsrc]:checked');
  const [what, get] = HIST_SOURCES[source ? source.value : 'rtt'];
  const values = state.results.filter((r) => r.result.success).map(get).filter(isNum);
  $('hist-caption').textContent = values.length
    ? `${values.length} values: ${what}, ms`
    : 'no successful probe yet';
  const axis = (x1, y1, x2, y2) => svg.append(svgEl('line', { x1, y1, x2, y2, class: 'axis' }));
  axis(L, H - B, W - R, H - B);
  axis(L, T, L, H - B);
  if (!values.length) return;

  const lo = Math.min(...values), hi = Math.max(...values);
  // Whole-millisecond data (getStats RTTs are) gets bins at least 1 ms wide.
  const width = values.every(Number.isInteger) ? Math.max(1, niceBinWidth(hi - lo)) : niceBinWidth(hi - lo);
  const start = Math.floor(lo / width) * width;
  const nBins = Math.max(1, Math.floor((hi - start) / width) + 1);
  const counts = new Array(nBins).fill(0);
  for (const v of values) counts[Math.min(nBins - 1, Math.floor((v - start) / width + 1e-9))]++;
  const maxCount = Math.max(...counts);
  const plotW = W - L - R, plotH = H - T - B;
  const bw = plotW / nBins;
  const y = (c) => H - B - (c / maxCount) * plotH;

  // y grid + labels
  svg.append(svgEl('text', { x: L - 6, y: H - B + 4, class: 'tick', 'text-anchor': 'end' }, '0'));
  for (const c of yTicks(maxCount)) {
    svg.append(svgEl('line', { x1: L, y1: y(c), x2: W - R, y2: y(c), class: 'grid' }));
    svg.append(svgEl('text', { x: L - 6, y: y(c) + 4, class: 'tick', 'text-anchor': 'end' }, String(c)));
  }
  counts.forEach((c, i) => {
    if (!c) return;
    const rect = svgEl('rect', {
      x: L + i * bw + 1, y: y(c), width: Math.max(1, bw - 2), height: H - B - y(c), class: 'bar',
    });
    const a = start + i * width;
    rect.append(svgEl('title', {}, `${fmt(a)}–${fmt(a + width)} ms: ${c}`));
    svg.append(rect);
  });
  // x labels: at most ~10
  const every = Math.ceil((nBins + 1) / 10);
  for (let i = 0; i <= nBins; i += every) {
    svg.append(svgEl('text', { x: L + i * bw, y: H - B + 16, class: 'tick', 'text-anchor': 'middle' },
      fmt(start + i * width, decimals(width))));
  }
  svg.append(svgEl('text', { x: L + plotW / 2, y: H - 4, class: 'label', 'text-anchor': 'middle' }, 'RTT (ms)'));
  // median marker
  const med = quantile(values, 0.5);
  const mx = L + ((med - start) / (nBins * width)) * plotW;
  svg.append(svgEl('line', { x1: mx, y1: T, x2: mx, y2: H - B, class: 'median' }));
  svg.append(svgEl('text', { x: Math.min(Math.max(mx, L + 50), W - R - 50), y: T - 7, class: 'median-label', 'text-anchor': 'middle' },
    `median ${fmt(med)} ms`));
}

function niceBinWidth(range) {
  const target = range / 16;
  const steps = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];
  return steps.find((s) => s >= target) || 1000;
}

function yTicks(max) {
  const step = max <= 5 ? 1 : max <= 10 ? 2 : max <= 25 ? 5 : max <= 50 ? 10 : Math.ceil(max / 50) * 10;
  const out = [];
  for (let c = step; c <= max; c += step) out.push(c);
  return out;
}

function log(text) {
  const pre = $('log');
  const line = `${new Date().toLocaleTimeString()}  ${text}\n`;
  pre.textContent = (line + pre.textContent).split('\n').slice(0, 60).join('\n');
}

// ---------------------------------------------------------------------------
// Helpers

function rtt(r) { return (r.result && r.result.rtt) || {}; }
function isNum(v) { return typeof v === 'number' && Number.isFinite(v); }
function fmt(v, d = 2) { return isNum(v) ? v.toFixed(d) : '–'; }
function unit(v, d = 2) { return isNum(v) ? `${v.toFixed(d)} ms` : '–'; }
function decimals(w) { return w >= 1 ? 0 : w >= 0.1 ? 1 : 2; }
function short(id) { return id ? String(id).replace(/^probe_/, '').slice(0, 8) : '?'; }
function loss(s) {
  if (!isNum(s.sent)) return '–';
  const lost = isNum(s.lost) ? s.lost : 0;
  return `${lost}/${s.sent}`;
}
function connection(c) {
  if (!c) return '–';
  const types = c.local_candidate_type || c.remote_candidate_type
    ? ` (${c.local_candidate_type || '?'}→${c.remote_candidate_type || '?'}${c.protocol ? `/${c.protocol}` : ''})`
    : '';
  return `${c.type || '?'}${types}`;
}
function quantile(values, q) {
  const v = values.filter(isNum).sort((a, b) => a - b);
  if (!v.length) return null;
  const pos = (v.length - 1) * q, i = Math.floor(pos), f = pos - i;
  return i + 1 < v.length ? v[i] + f * (v[i + 1] - v[i]) : v[i];
}
function intParam(name, dflt, min, max) {
  const n = parseInt(params.get(name), 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}
function el(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}
function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}
