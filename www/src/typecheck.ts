// Type-checks what main.js does with the package against its shipped p2p_probe.d.ts
// (build.mjs runs `tsc -p src/tsconfig.json`; this file is never bundled).
// If the package renames an export, an option or a result field main.js reads, the build fails.
import init, { attachProbeManager } from 'p2p-probe';
import type { ProbeManager, ProbeResult, ProbeSocket } from 'p2p-probe';

function readsLikeMainJs(r: ProbeResult): Array<number | string | boolean | null> {
  const c = r.connection;
  return [
    r.probe_session_id, r.success, r.rtt_ms, r.stats_rtt_ms, r.setup_ms, r.measure_ms,
    r.rtt.median_ms, r.rtt.min_ms, r.rtt.max_ms, r.rtt.jitter_ms, r.rtt.sent, r.rtt.lost, r.rtt.samples,
    c ? c.type : null, c ? c.local_candidate_type : null, c ? c.remote_candidate_type : null, c ? c.protocol : null,
    r.error ? r.error.code : null, r.error ? r.error.message : null,
  ];
}

export async function check(socket: ProbeSocket, wasmUrl: string): Promise<void> {
  await init({ module_or_path: new URL(wasmUrl, import.meta.url) });
  const manager: ProbeManager = attachProbeManager(socket, 'subject-1', {
    iceServers: [],
    pings: 5,
    onResult: (result: ProbeResult) => { readsLikeMainJs(result); },
  });
  manager.close();
}
