// The usage recipe of p2p-probe (tests/consumer/RECIPES.md), as a new user writes it.
// Only the window.__* lines are test hooks (read by tests/consumer/test_consumer.py).
import init, { attachProbeManager, type ProbeManager, type ProbeResult } from 'p2p-probe';
import { io } from 'socket.io-client';

declare global {
  interface Window {
    __results: ProbeResult[];
    __manager?: ProbeManager;
    __ready?: boolean;
    __error?: string;
  }
}

window.__results = [];
try {
  const mySubjectId = new URLSearchParams(location.search).get('subject') ?? 'subject-1';

  await init();
  const socket = io({ transports: ['websocket'], query: { subject_id: mySubjectId } });
  const manager = attachProbeManager(socket, mySubjectId, {
    iceServers: [],
    onResult: (result) => {
      window.__results.push(result);
    },
  });

  window.__manager = manager; // keep a reference for as long as the page should probe
  window.__ready = true;
} catch (e) {
  window.__error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
