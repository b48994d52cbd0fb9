// p2p-probe live room page (/room, www/room.html): who is connected, the room's RTT matrix as
// a heatmap that fills in as the server's room run reports, and a button to re-probe the room.
//
// Data: GET /api/room (the latest run's snapshot) on load, then the server's socket.io
// broadcasts `presence`, `room_run` (a run started / ended: the whole snapshot) and `room_cell`
// (one pair changed). Re-probe: POST /api/room/probe_all {per_peer}.
// By default the page is a passive viewer (a socket without subject_id). With ?subject=ID it
// also joins the room as a participant, probing with the packed p2p-probe package.
//
// Automation hooks: window.__room = {ready, run, drawn, offDiagonal, errors, fills}.

import init, { attachProbeManager } from 'p2p-probe';
import wasmUrl from 'p2p-probe/p2p_probe_bg.wasm';
import { io } from '/vendor/socket.io.esm.min.js';
import './style.css';
import './room.css';

const params = new URLSearchParams(location.search);
const subject = params.get('subject');
const $ = (id) => document.getElementById(id);

const state = { presence: [], run: null, scale: 'rel', tick: null };
const R = window.__room = { ready: false, run: null, drawn: 0, offDiagonal: 0, errors: [], fills: [] };

main().catch((err) => {
  console.error(err);
  R.errors.push(String((err && err.stack) || err));
  setStatus('error', `failed: ${(err && err.message) || err}`);
});

async function main() {
  $('me').textContent = subject || 'viewer (not in the room)';
  const query = {};
  if (subject) {
    setStatus('busy', 'loading WebAssembly…');
    await init({ module_or_path: new URL(wasmUrl, import.meta.url) });
    query.subject_id = subject;
  }
  const socket = io({ transports: ['websocket'], query });
  if (subject) {
    const manager = attachProbeManager(socket, subject, { iceServers: [] });
    window.addEventListener('pagehide', () => { manager.close(); socket.close(); });
  }
  socket.on('connect', async () => {
    setStatus('ok', 'connected');
    await refresh();
    R.ready = true;
  });
  socket.on('disconnect', (reason) => setStatus('error', `disconnected: ${reason}`));
  socket.on('connect_error', (err) => setStatus('error', `cannot connect: ${err.message}`));
  socket.on('presence', (msg) => {
    state.presence = (msg && Array.isArray(msg.subjects)) ? msg.subjects.slice() : [];
    render();
  });
  socket.on('room_run', (snap) => {
    if (!snap || !snap.run_id) return;
    state.run = snap;  // sent when a run starts and when it ends: the whole snapshot
    render();
  });
  socket.on('room_cell', (msg) => {
    if (!msg || !msg.cell) return;
    if (!state.run || state.run.run_id !== msg.run_id) { refresh(); return; }
    const cells = state.run.cells;
    const i = cells.findIndex((c) => c.a === msg.cell.a && c.b === msg.cell.b);
    if (i >= 0) cells[i] = msg.cell; else cells.push(msg.cell);
    if (msg.run) Object.assign(state.run, msg.run);
    R.fills.push({ t: performance.now(), a: msg.cell.a, b: msg.cell.b, state: msg.cell.state,
                   sides: Object.keys(msg.cell.sides || {}).length });
    render();
  });
  for (const r of document.querySelectorAll('input[name=scale]')) {
    r.addEventListener('change', () => { state.scale = r.value; render(); });
  }
  $('reprobe-btn').addEventListener('click', reprobe);
  state.tick = setInterval(() => { if (state.run && state.run.state === 'running') renderSummary(); }, 250);
  render();
}

async function refresh() {
  try {
    const r = await fetch('/api/room');
    const body = await r.json();
    if (body && body.run) state.run = body.run;
    render();
  } catch (err) {
    R.errors.push(`refresh: ${err}`);
  }
}

async function reprobe() {
  const k = Math.max(1, Math.round(Number($('per-peer').value) || 2));
  $('reprobe-btn').disabled = true;
  try {
    const r = await fetch('/api/room/probe_all', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ per_peer: k }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    $('reprobe-msg').textContent = `run ${body.run_id}: ${body.pairs} pairs, at most ${k} per peer`;
  } catch (err) {
    $('reprobe-msg').textContent = `re-probe failed: ${err.message}`;
  }
  render();
}

// ---------------------------------------------------------------------------- rendering

function render() {
  try {
    renderPresence();
    renderMatrix();
    renderSummary();
    renderFailures();
  } catch (err) {
    console.error('render failed', err);
    R.errors.push(`render: ${(err && err.stack) || err}`);
  }
}

function setStatus(kind, text) {
  $('status').className = `pill ${kind}`;
  $('status').textContent = text;
}

function renderPresence() {
  const ul = $('subjects');
  ul.replaceChildren();
  const inRun = new Set(state.run ? state.run.subjects : []);
  $('count').textContent = String(state.presence.length);
  if (!state.presence.length) ul.append(el('li', { className: 'muted' }, 'nobody yet'));
  for (const s of state.presence) {
    const li = el('li', {}, el('span', { className: 'dot' }), el('code', {}, s));
    if (s === subject) li.append(el('span', { className: 'tag' }, 'you'));
    if (!inRun.has(s) && state.run) li.append(el('span', { className: 'tag' }, 'not in this run'));
    ul.append(li);
  }
  if (state.run) {
    for (const s of state.run.subjects) {
      if (!state.presence.includes(s)) {
        ul.append(el('li', { className: 'gone' }, el('span', { className: 'dot off' }), el('code', {}, s),
          el('span', { className: 'tag' }, 'left')));
      }
    }
  }
  const running = state.run && state.run.state === 'running';
  $('reprobe-btn').disabled = running || state.presence.length < 2;
  $('reprobe-btn').textContent = running ? 'Probing the room…' : 'Re-probe room';
}

// the row subject's own result for the pair (row, col)
function sideOf(cell, row) {
  const s = cell && cell.sides && cell.sides[row];
  return s ? s.payload : null;
}

function cellFor(row, col) {
  if (!state.run) return null;
  return state.run.cells.find((c) => (c.a === row && c.b === col) || (c.a === col && c.b === row)) || null;
}

function rttsOfRun() {
  const out = [];
  if (!state.run) return out;
  for (const c of state.run.cells) {
    for (const s of [c.a, c.b]) {
      const p = sideOf(c, s);
      if (p && p.success && typeof p.rtt_ms === 'number') out.push(p.rtt_ms);
    }
  }
  return out;
}

function scaleRange() {
  if (state.scale === 'abs') return { lo: 0, hi: 150 };
  const v = rttsOfRun();
  if (!v.length) return { lo: 0, hi: 1 };
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return { lo, hi: Math.max(hi, lo + 10) };  // at least 10 ms of range: a few ms of loopback noise stays greenish
}

// green -> yellow -> red (ColorBrewer RdYlGn, light stops so the numbers stay readable)
const STOPS = [[102, 189, 99], [254, 224, 139], [244, 109, 67]];
function colour(t) {
  t = Math.max(0, Math.min(1, t));
  const x = t * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const c = STOPS[i].map((v, k) => Math.round(v + f * (STOPS[i + 1][k] - v)));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}
function tOf(rtt, { lo, hi }) {
  if (state.scale === 'abs') return Math.sqrt(Math.max(0, Math.min(1, rtt / hi)));
  return (rtt - lo) / (hi - lo);
}

function renderMatrix() {
  const table = $('matrix');
  table.replaceChildren();
  const run = state.run;
  const subs = run ? run.subjects : [];
  if (!subs.length) {
    table.append(el('tr', {}, el('td', { className: 'muted' }, 'No room run yet: press "Re-probe room".')));
    R.drawn = 0; R.offDiagonal = 0; R.run = run;
    renderLegend(null);
    return;
  }
  const range = scaleRange();
  const head = el('tr', {}, el('th', { className: 'corner' }, 'measured by ↓ / peer →'));
  for (const s of subs) head.append(el('th', { className: 'col' }, s));
  table.append(head);
  let drawn = 0;
  for (const r of subs) {
    const tr = el('tr', {}, el('th', { className: 'row' }, r));
    for (const c of subs) {
      if (r === c) {
        tr.append(el('td', { className: 'diag' }, '—'));
        continue;
      }
      const cell = cellFor(r, c);
      const p = sideOf(cell, r);
      const td = el('td', { className: 'cell' });
      td.dataset.row = r;
      td.dataset.col = c;
      if (p && p.success && typeof p.rtt_ms === 'number') {
        const ci = p.rtt && Array.isArray(p.rtt.ci95_ms) ? p.rtt.ci95_ms : null;
        td.classList.add('ok');
        td.style.backgroundColor = colour(tOf(p.rtt_ms, range));
        td.dataset.rtt = String(p.rtt_ms);
        td.append(el('span', { className: 'v' }, fmt(p.rtt_ms)));
        if (ci) td.append(el('span', { className: 'ci' }, `±${fmt((ci[1] - ci[0]) / 2)}`));
        td.title = details(r, c, cell, p);
        drawn++;
      } else if (p) {
        td.classList.add('fail');
        td.dataset.state = 'failed';
        td.append(el('span', { className: 'v' }, (p.error && p.error.code) || 'failed'));
        td.title = details(r, c, cell, p);
      } else if (cell && cell.state !== 'pending' && cell.state !== 'timeout' && run.state !== 'done') {
        // started, and this side has not reported yet (the other side's result may be in)
        td.classList.add('running');
        td.dataset.state = 'running';
        td.append(el('span', { className: 'v' }, '…'));
      } else if (cell && cell.state !== 'pending') {
        td.classList.add('fail');
        td.dataset.state = cell.state;
        td.append(el('span', { className: 'v' }, cell.state === 'timeout' ? 'timeout' : 'no result'));
      } else {
        td.classList.add('pending');
        td.dataset.state = 'pending';
        td.append(el('span', { className: 'v' }, '·'));
      }
      tr.append(td);
    }
    table.append(tr);
  }
  R.drawn = drawn;
  R.offDiagonal = subs.length * (subs.length - 1);
  R.run = run;
  renderLegend(rttsOfRun().length ? range : null);
}

function details(r, c, cell, p) {
  const x = p.rtt || {};
  const lines = [`${r} → ${c}   (${cell ? cell.probe_session_id : '?'})`];
  if (p.success) {
    lines.push(`rtt_ms ${fmt(p.rtt_ms)}   95 % interval [${(x.ci95_ms || []).map((v) => fmt(v)).join(', ')}]   source ${x.source}`);
    lines.push(`pings: ${x.samples}/${x.sent} answered, ${x.lost} lost; median ${fmt(x.median_ms)}, min ${fmt(x.min_ms)}, jitter ${fmt(x.jitter_ms)}`);
  } else {
    lines.push(`failed: ${p.error ? `${p.error.code}: ${p.error.message}` : 'no error object'}`);
  }
  const cn = p.connection;
  if (cn) lines.push(`connection ${cn.type} ${cn.local_candidate_type || '?'}>${cn.remote_candidate_type || '?'}/${cn.protocol || '?'}`);
  lines.push(`setup ${fmt(p.setup_ms, 0)} ms, measure ${fmt(p.measure_ms, 0)} ms`);
  return lines.join('\n');
}

function renderLegend(range) {
  const lg = $('legend');
  lg.replaceChildren();
  if (!range) return;
  const stops = [];
  for (let i = 0; i <= 10; i++) stops.push(colour(i / 10));
  const bar = el('div', { className: 'bar' });
  bar.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
  const label = (v) => el('span', {}, `${fmt(v)} ms`);
  const mid = state.scale === 'abs' ? range.hi / 4 : (range.lo + range.hi) / 2;  // sqrt scale: t=0.5 at hi/4
  lg.append(label(range.lo), bar, label(range.hi));
  lg.title = `middle of the bar: ${fmt(mid)} ms`;
}

function renderSummary() {
  const dl = $('summary');
  dl.replaceChildren();
  const run = state.run;
  if (!run) { dl.append(item('run', '–')); return; }
  const n = run.cells.length;
  const filled = run.cells.filter((c) => c.completed_ms !== null && c.completed_ms !== undefined).length;
  const sides = run.cells.reduce((k, c) => k + Object.keys(c.sides || {}).length, 0);
  const ok = run.cells.reduce((k, c) => k + Object.values(c.sides || {}).filter((s) => s.payload && s.payload.success).length, 0);
  const inflight = Object.values(run.in_flight || {}).reduce((a, b) => a + b, 0);
  const elapsed = run.filled_ms !== null && run.filled_ms !== undefined
    ? `${fmt(run.filled_ms / 1000, 2)} s`
    : `${fmt(Math.max(0, Date.now() / 1000 - run.started_at), 1)} s…`;
  dl.append(
    item('participants', String(run.subjects.length)),
    item('pairs filled', `${filled} / ${n}`),
    item('results ok', `${ok} / ${2 * n}`),
    item('time to fill', elapsed),
    item('per peer (K)', String(run.per_peer)),
    item('max in flight', `${run.max_in_flight_total}`),
    item('state', run.state === 'done' ? 'done' : `running, ${inflight} side(s) busy`),
    item('side results', `${sides}`),
  );
  dl.title = run.run_id;
}

function renderFailures() {
  const ul = $('failures');
  ul.replaceChildren();
  const run = state.run;
  const out = [];
  if (run) {
    for (const c of run.cells) {
      for (const s of [c.a, c.b]) {
        const p = sideOf(c, s);
        if (p && !p.success) out.push(`${s} → ${s === c.a ? c.b : c.a}: ${p.error ? `${p.error.code} (${p.error.message})` : 'failed'}`);
      }
      if (c.state === 'timeout' || c.state === 'failed') {
        if (!Object.values(c.sides || {}).some((x) => x.payload && !x.payload.success)) out.push(`${c.a} ↔ ${c.b}: ${c.state}`);
      }
    }
  }
  if (!out.length) ul.append(el('li', { className: 'muted' }, 'none'));
  for (const f of out) ul.append(el('li', {}, f));
}

function item(k, v) {
  return el('div', {}, el('dt', {}, k), el('dd', {}, v));
}

function fmt(v, d = 2) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–';
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}
