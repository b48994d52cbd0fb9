// In-page pair of RTCPeerConnections (no signaling server): shared by tests/turn and the
// getStats fixture recorder (tests/fixtures/record_stats.py). Evaluate this file in a page,
// then:  await window.inpagePair({config: {iceServers: [], iceTransportPolicy: 'all'}, timeoutMs: 10000})
//   -> {state: 'open'|'failed'|'timeout', openMs, candidates: {pc1: [...], pc2: [...]},
//       candidateErrors: {pc1: [...], pc2: [...]}}
// window.pair.pc1 is the offerer (creates data channel 'game', {ordered:false, maxRetransmits:0}).
// await window.pairStats('pc1') -> Array.from((await pc1.getStats()).values())
// await window.pairSelected('pc1') -> summary of the selected candidate pair or null
window.inpagePair = async ({ config = {}, config2 = null, timeoutMs = 10000 } = {}) => {
  const t0 = performance.now();
  const pc1 = new RTCPeerConnection(config);
  const pc2 = new RTCPeerConnection(config2 || config);
  const out = { candidates: { pc1: [], pc2: [] }, candidateErrors: { pc1: [], pc2: [] } };
  window.pair = { pc1, pc2, dc1: null, dc2: null };
  const wireIce = (from, to, name) => {
    from.onicecandidate = (e) => {
      if (e.candidate) { out.candidates[name].push(e.candidate.candidate); to.addIceCandidate(e.candidate).catch(() => {}); }
    };
    from.onicecandidateerror = (e) => out.candidateErrors[name].push({ url: e.url, errorCode: e.errorCode, errorText: e.errorText });
  };
  wireIce(pc1, pc2, 'pc1');
  wireIce(pc2, pc1, 'pc2');
  const dc1 = window.pair.dc1 = pc1.createDataChannel('game', { ordered: false, maxRetransmits: 0 });
  const opened = new Promise((resolve) => {
    let n = 0;
    const one = () => { if (++n === 2) resolve('open'); };
    dc1.onopen = one;
    pc2.ondatachannel = (e) => {
      window.pair.dc2 = e.channel;
      if (e.channel.readyState === 'open') one(); else e.channel.onopen = one;
    };
    const fail = () => { if (pc1.connectionState === 'failed' || pc2.connectionState === 'failed') resolve('failed'); };
    pc1.onconnectionstatechange = fail;
    pc2.onconnectionstatechange = fail;
    setTimeout(() => resolve('timeout'), timeoutMs);
  });
  await pc1.setLocalDescription(await pc1.createOffer());
  await pc2.setRemoteDescription(pc1.localDescription);
  await pc2.setLocalDescription(await pc2.createAnswer());
  await pc1.setRemoteDescription(pc2.localDescription);
  out.state = await opened;
  out.openMs = performance.now() - t0;
  return out;
};
window.pairStats = async (which) => Array.from((await window.pair[which].getStats()).values());
window.pairSelected = async (which) => {
  const reps = await window.pairStats(which);
  const byId = new Map(reps.map((r) => [r.id, r]));
  const t = reps.find((r) => r.type === 'transport');
  let pair = t && t.selectedCandidatePairId ? byId.get(t.selectedCandidatePairId) : null;
  if (!pair) pair = reps.find((r) => r.type === 'candidate-pair' && (r.selected || r.nominated) && r.state === 'succeeded');
  if (!pair) return null;
  const l = byId.get(pair.localCandidateId) || {}, rm = byId.get(pair.remoteCandidateId) || {};
  return { id: pair.id, transportSelectedId: t ? t.selectedCandidatePairId || null : null,
           state: pair.state, nominated: pair.nominated, selected: pair.selected,
           currentRoundTripTime: pair.currentRoundTripTime, totalRoundTripTime: pair.totalRoundTripTime,
           responsesReceived: pair.responsesReceived, localType: l.candidateType, remoteType: rm.candidateType,
           localAddress: l.address, remoteAddress: rm.address, protocol: l.protocol,
           relayProtocol: l.relayProtocol };
};
