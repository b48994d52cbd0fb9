//! Browser tests (wasm-pack test --headless --chrome / --firefox): real RTCPeerConnections in
//! one page, connected through an in-page fake relay (tests/support/harness.js). The real
//! server is exercised in tests/e2e.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Promise, Reflect};
use p2p_probe::web::{ProbeConnection, ProbeManager};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/support/harness.js")]
extern "C" {
    type FakeServer;
    #[wasm_bindgen(constructor)]
    fn new(delay: f64) -> FakeServer;
    #[wasm_bindgen(method)]
    fn socket(this: &FakeServer, subject: &str) -> JsValue;
    #[wasm_bindgen(method, js_name = handlerCount)]
    fn handler_count(this: &FakeServer, subject: &str) -> u32;
    #[wasm_bindgen(method, js_name = createProbe)]
    fn create_probe(this: &FakeServer, a: &str, b: &str, start_after_one_ready: bool) -> String;
    #[wasm_bindgen(method, js_name = waitResults)]
    fn wait_results(this: &FakeServer, id: &str, n: u32, timeout_ms: f64) -> Promise;
    #[wasm_bindgen(method, js_name = deliverRaw)]
    fn deliver_raw(this: &FakeServer, subject: &str, ev: &str, data: &JsValue);

    type Deferred;
    fn deferred() -> Deferred;
    #[wasm_bindgen(method, getter)]
    fn promise(this: &Deferred) -> Promise;
    #[wasm_bindgen(method, getter)]
    fn r#fn(this: &Deferred) -> js_sys::Function;
    #[wasm_bindgen(method, getter)]
    fn calls(this: &Deferred) -> u32;

    type Counter;
    #[wasm_bindgen(js_name = countWarnings)]
    fn count_warnings() -> Counter;
    #[wasm_bindgen(method, getter)]
    fn count(this: &Counter) -> u32;
    #[wasm_bindgen(method)]
    fn restore(this: &Counter);

    fn sleep(ms: f64) -> Promise;
    fn within(p: &Promise, ms: f64, label: &str) -> Promise;
    #[wasm_bindgen(js_name = junkPeer)]
    fn junk_peer(server: &FakeServer, subject: &str, session: &str, peer: &str) -> JsValue;
    #[wasm_bindgen(js_name = errorCode)]
    fn error_code(e: &JsValue) -> String;
}

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |o, k| Reflect::get(&o, &k.into()).unwrap_or(JsValue::UNDEFINED))
}

fn options(extra: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"iceServers".into(), &js_sys::Array::new()).unwrap();
    for (k, v) in extra {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

async fn wait(p: Promise) -> JsValue {
    JsFuture::from(within(&p, 10_000.0, "a test step")).await.unwrap()
}

async fn wait_for(p: Promise, label: &str) -> JsValue {
    match JsFuture::from(within(&p, 10_000.0, label)).await {
        Ok(v) => v,
        Err(e) => panic!("{label}: {e:?}"),
    }
}

async fn pause(ms: f64) {
    wait(sleep(ms)).await;
}

fn results(v: &JsValue) -> Vec<JsValue> {
    js_sys::Array::from(v).iter().collect()
}

fn assert_success(r: &JsValue) {
    assert_eq!(get(r, "success"), JsValue::TRUE, "result: {:?}", js_sys::JSON::stringify(r));
    let rtt = get(r, "rtt_ms").as_f64().expect("rtt_ms is a number");
    assert!((0.0..1000.0).contains(&rtt), "rtt {rtt}");
    // the first burst of 5, and a chained phase when the burst did not show a steady path
    let sent = get(r, "rtt.sent").as_f64().expect("rtt.sent");
    assert!(sent >= 5.0, "sent {sent}");
    assert_eq!(get(r, "rtt.samples").as_f64(), Some(sent));
    assert_eq!(get(r, "rtt.lost").as_f64(), Some(0.0));
    let ci = js_sys::Array::from(&get(r, "rtt.ci95_ms"));
    let (lo, hi) = (ci.get(0).as_f64().expect("ci low"), ci.get(1).as_f64().expect("ci high"));
    assert!(lo <= rtt && rtt <= hi, "rtt {rtt} outside its interval [{lo}, {hi}]");
    assert!(matches!(get(r, "rtt.source").as_string().as_deref(), Some("pings" | "stats")));
    assert!(get(r, "rtt.median_ms").as_f64().is_some());
    assert!(get(r, "stats_rtt_ms").as_f64().is_some(), "getStats gave an RTT");
    assert_eq!(get(r, "connection.type").as_string().as_deref(), Some("direct"));
    assert!(get(r, "setup_ms").as_f64().is_some_and(|s| s > 0.0));
    assert!(get(r, "measure_ms").as_f64().is_some());
}

#[wasm_bindgen_test]
async fn two_managers_probe_each_other_through_a_relay_twice() {
    let server = FakeServer::new(1.0);
    let a = ProbeManager::new(server.socket("2"), "2".into(), Some(options(&[]))).unwrap();
    let b = ProbeManager::new(server.socket("10"), "10".into(), Some(options(&[]))).unwrap();
    for _ in 0..2 {
        let id = server.create_probe("2", "10", false);
        let got = results(&wait(server.wait_results(&id, 2, 8000.0)).await);
        assert_eq!(got.len(), 2, "one probe_result from each side");
        for r in &got {
            assert_success(r);
        }
        pause(50.0).await;
        assert_eq!(results(&wait(server.wait_results(&id, 3, 0.0)).await).len(), 2, "exactly once");
        assert_eq!(a.session_count(), 0);
        assert_eq!(b.session_count(), 0);
    }
    a.close();
    b.close();
    assert_eq!(server.handler_count("2"), 0, "close() removes the socket handlers");
    assert_eq!(server.handler_count("10"), 0);
}

#[wasm_bindgen_test]
async fn drop_in_probe_connections_connect_measure_and_close_twice() {
    let server = FakeServer::new(0.0);
    let sa = server.socket("alice");
    let sb = server.socket("bob");
    // the relay needs a session: make one that nobody is attached to for prepare/start
    let id = server.create_probe("alice", "bob", false);
    let a = ProbeConnection::new(sa, id.clone().into(), "alice".into(), "bob".into(), Some(options(&[]))).unwrap();
    let b = ProbeConnection::new(sb, id.clone().into(), "bob".into(), "alice".into(), Some(options(&[]))).unwrap();
    let (ca, cb) = (deferred(), deferred());
    a.set_on_connected(Some(ca.r#fn()));
    b.set_on_connected(Some(cb.r#fn()));
    let failed = deferred();
    a.set_on_failed(Some(failed.r#fn()));
    assert!(!a.is_ready());
    a.start();
    b.start();
    wait_for(ca.promise(), "a connected").await;
    wait_for(cb.promise(), "b connected").await;
    assert!(a.is_ready() && b.is_ready());
    let rtt = wait_for(a.measure_rtt(None), "measureRTT").await;
    assert!(rtt.as_f64().is_some_and(|r| r >= 0.0), "measureRTT resolves to a number");
    let report = a.last_report();
    assert_success(&report);
    assert_eq!(get(&report, "probe_session_id").as_string(), Some(id.clone()));
    let stats = wait_for(a.get_rtt(), "getRTT").await;
    assert!(stats.as_f64().is_some_and(|r| r >= 0.0), "getRTT reads the selected pair");
    // legacy-style options object
    let opts = options(&[("numPings", 3.into()), ("pingInterval", 0.into()), ("pingTimeout", 500.into())]);
    assert!(wait_for(b.measure_rtt(Some(opts)), "answerer measureRTT").await.as_f64().is_some());
    assert_eq!(get(&b.last_report(), "rtt.sent").as_f64(), Some(3.0));
    let closed = deferred();
    b.set_on_closed(Some(closed.r#fn()));
    a.close();
    a.close();
    assert!(!a.is_ready());
    assert_eq!(server.handler_count("alice"), 0);
    wait_for(closed.promise(), "peer sees the close").await;
    assert_eq!(failed.calls(), 0, "close() is not a failure");
    assert!(
        wait_for(a.measure_rtt(None), "measureRTT after close").await.is_null(),
        "after close, measureRTT gives null"
    );
    b.close();
    b.close();
    drop(a);
    drop(b);
}

#[wasm_bindgen_test]
async fn a_peer_that_never_answers_fails_once_with_connect_timeout() {
    let server = FakeServer::new(0.0);
    let _ghost = server.socket("ghost"); // connected, but runs no client
    let a = ProbeManager::new(server.socket("me"), "me".into(), Some(options(&[("connectTimeoutMs", 300.into())])))
        .unwrap();
    let id = server.create_probe("me", "ghost", true);
    let got = results(&wait(server.wait_results(&id, 1, 3000.0)).await);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(get(r, "success"), JsValue::FALSE);
    assert!(get(r, "rtt_ms").is_null());
    assert_eq!(get(r, "error.code").as_string().as_deref(), Some("connect_timeout"));
    pause(400.0).await;
    assert_eq!(results(&wait(server.wait_results(&id, 2, 0.0)).await).len(), 1, "exactly one result");
    assert_eq!(a.session_count(), 0);
    a.close();
}

#[wasm_bindgen_test]
async fn closing_a_manager_mid_probe_reports_closed_once_and_close_twice_is_harmless() {
    let server = FakeServer::new(0.0);
    let _ghost = server.socket("ghost");
    let a = ProbeManager::new(server.socket("me"), "me".into(), Some(options(&[]))).unwrap();
    let id = server.create_probe("me", "ghost", true);
    pause(100.0).await;
    assert_eq!(a.session_count(), 1);
    a.close();
    a.close();
    let got = results(&wait(server.wait_results(&id, 1, 1000.0)).await);
    assert_eq!(got.len(), 1);
    assert_eq!(get(&got[0], "error.code").as_string().as_deref(), Some("closed"));
    assert_eq!(a.session_count(), 0);
    assert_eq!(server.handler_count("me"), 0);
    // events after close are ignored
    let again = server.create_probe("me", "ghost", true);
    pause(100.0).await;
    assert_eq!(results(&wait(server.wait_results(&again, 1, 0.0)).await).len(), 0);
}

#[wasm_bindgen_test]
async fn junk_on_the_data_channel_is_ignored_and_the_probe_succeeds() {
    let server = FakeServer::new(0.0);
    let id = server.create_probe("1", "2", false);
    let peer = junk_peer(&server, "2", &id, "1");
    let warnings = count_warnings();
    let a = ProbeConnection::new(server.socket("1"), id.clone().into(), "1".into(), "2".into(), Some(options(&[])))
        .unwrap();
    let connected = deferred();
    a.set_on_connected(Some(connected.r#fn()));
    a.start();
    wait(connected.promise()).await;
    pause(100.0).await; // let the junk arrive first
    let rtt = wait(a.measure_rtt(None)).await;
    warnings.restore();
    assert!(rtt.as_f64().is_some(), "measured despite junk");
    assert_success(&a.last_report());
    assert!(warnings.count() >= 10, "each junk message is named in a warning ({})", warnings.count());
    assert!(warnings.count() <= 20, "warnings are rate-limited ({})", warnings.count());
    a.close();
    let _ = Reflect::get(&peer, &"close".into()).map(|f| js_sys::Function::from(f).call0(&peer));
}

#[wasm_bindgen_test]
async fn malformed_server_events_are_ignored_without_throwing() {
    let server = FakeServer::new(0.0);
    let a = ProbeManager::new(server.socket("1"), "1".into(), Some(options(&[]))).unwrap();
    let _b = ProbeManager::new(server.socket("2"), "2".into(), Some(options(&[]))).unwrap();
    let long = "x".repeat(100 * 1024);
    let junk: Vec<JsValue> = vec![
        JsValue::NULL,
        JsValue::UNDEFINED,
        5.into(),
        "probe_prepare".into(),
        js_sys::Array::new().into(),
        js_sys::JSON::parse(r#"{"probe_session_id": 5}"#).unwrap(),
        js_sys::JSON::parse(r#"{"probe_session_id": "s1"}"#).unwrap(),
        js_sys::JSON::parse(r#"{"probe_session_id": "s2", "peer_subject_id": "1"}"#).unwrap(),
        js_sys::JSON::parse(r#"{"probe_session_id": "s3", "peer_subject_id": {"x": 1}}"#).unwrap(),
        js_sys::JSON::parse(&format!(r#"{{"probe_session_id": "{long}", "peer_subject_id": "2"}}"#)).unwrap(),
    ];
    for ev in ["probe_prepare", "probe_start", "probe_signal"] {
        for j in &junk {
            server.deliver_raw("1", ev, j);
        }
    }
    let bad_signals = [
        r#"{"probe_session_id": "nope", "type": "offer", "from_subject_id": "2", "payload": {"type": "offer", "sdp": "x"}}"#,
        r#"{"probe_session_id": "s1", "type": 7, "from_subject_id": "2"}"#,
    ];
    for s in bad_signals {
        server.deliver_raw("1", "probe_signal", &js_sys::JSON::parse(s).unwrap());
    }
    assert_eq!(a.session_count(), 0, "nothing was prepared from junk");
    // a real probe right after works
    let id = server.create_probe("1", "2", false);
    let got = results(&wait(server.wait_results(&id, 2, 8000.0)).await);
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_success(r);
    }
    a.close();
}

#[wasm_bindgen_test]
fn bad_arguments_throw_real_errors_with_codes() {
    let server = FakeServer::new(0.0);
    let e =
        ProbeManager::new(server.socket("1"), "1".into(), Some(options(&[("pings", "five".into())]))).err().unwrap();
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(error_code(&e), "invalid_option");
    let e =
        ProbeManager::new(server.socket("1"), "1".into(), Some(options(&[("iceTransportPolicy", "sometimes".into())])))
            .err()
            .unwrap();
    assert_eq!(error_code(&e), "invalid_option");
    let e = ProbeManager::new(Object::new().into(), "1".into(), None).err().unwrap();
    assert_eq!(error_code(&e), "invalid_socket");
    let e = ProbeManager::new(server.socket("1"), JsValue::NULL, None).err().unwrap();
    assert_eq!(error_code(&e), "invalid_argument");
    let e = ProbeConnection::new(server.socket("1"), "s".into(), "1".into(), "1".into(), None).err().unwrap();
    assert_eq!(error_code(&e), "invalid_argument", "a probe with ourselves");
    assert_eq!(server.handler_count("1"), 0, "failed constructors leave no handlers behind");
}

#[wasm_bindgen_test]
fn dropping_a_manager_unsubscribes_it_like_close() {
    // `manager.free()`, a TypeScript `using` block, or garbage collection drop the Rust value
    let server = FakeServer::new(0.0);
    let a = ProbeManager::new(server.socket("1"), "1".into(), Some(options(&[]))).unwrap();
    assert_eq!(server.handler_count("1"), 3, "probe_prepare, probe_start, probe_signal");
    drop(a);
    assert_eq!(server.handler_count("1"), 0, "dropping the manager removes its socket handlers");
}

#[wasm_bindgen_test]
async fn configure_checks_its_options_and_supplies_the_drop_ins_defaults() {
    use p2p_probe::web::configure;
    let e = configure(options(&[("pingTimeoutMs", "soon".into())])).err().unwrap();
    assert_eq!(error_code(&e), "invalid_option");
    // defaults for the whole package: the platform's flow passes only the TURN credentials
    configure(options(&[("pings", 3.into()), ("pingIntervalMs", 0.into())])).unwrap();
    let server = FakeServer::new(0.0);
    let id = server.create_probe("p", "q", false);
    let creds = || {
        let o = Object::new();
        Reflect::set(&o, &"turnUsername".into(), &JsValue::NULL).unwrap();
        Reflect::set(&o, &"turnCredential".into(), &JsValue::NULL).unwrap();
        Some(JsValue::from(o))
    };
    let a = ProbeConnection::new(server.socket("p"), id.clone().into(), "p".into(), "q".into(), creds()).unwrap();
    let b = ProbeConnection::new(server.socket("q"), id.clone().into(), "q".into(), "p".into(), creds()).unwrap();
    configure(JsValue::NULL).unwrap();
    let connected = deferred();
    a.set_on_connected(Some(connected.r#fn()));
    a.start();
    b.start();
    wait_for(connected.promise(), "connected").await;
    assert!(wait_for(a.measure_rtt(None), "measureRTT").await.as_f64().is_some());
    assert_eq!(get(&a.last_report(), "rtt.sent").as_f64(), Some(3.0), "pings from configure()");
    a.close();
    b.close();
}

#[wasm_bindgen_test]
fn unknown_option_keys_are_named_in_one_warning_each() {
    let server = FakeServer::new(0.0);
    let warnings = count_warnings();
    let a = ProbeManager::new(
        server.socket("1"),
        "1".into(),
        Some(options(&[("pingCount", 3.into()), ("ping_interval_ms", 2.into())])),
    );
    warnings.restore();
    let a = a.expect("unknown keys are not an error");
    assert_eq!(warnings.count(), 2, "one warning per unknown key");
    a.close();
}

// --------------------------------------------------------------------------- cancel, abort, progress

#[wasm_bindgen(module = "/tests/support/progress.js")]
extern "C" {
    type Recorder;
    fn recorder() -> Recorder;
    #[wasm_bindgen(method, getter, js_name = fn)]
    fn callback(this: &Recorder) -> js_sys::Function;
    #[wasm_bindgen(method)]
    fn phases(this: &Recorder, sid: &str) -> String;

    type Thrower;
    fn thrower() -> Thrower;
    #[wasm_bindgen(method, getter, js_name = fn)]
    fn callback(this: &Thrower) -> js_sys::Function;
    #[wasm_bindgen(method, getter)]
    fn calls(this: &Thrower) -> u32;

    type WarnCounter;
    #[wasm_bindgen(js_name = warningsWith)]
    fn warnings_with(text: &str) -> WarnCounter;
    #[wasm_bindgen(method, getter)]
    fn count(this: &WarnCounter) -> u32;
    #[wasm_bindgen(method)]
    fn restore(this: &WarnCounter);

    #[wasm_bindgen(js_name = abortAfter)]
    fn abort_after(ms: f64) -> JsValue;
    type Controller;
    fn controller() -> Controller;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &Controller) -> JsValue;
    #[wasm_bindgen(method)]
    fn abort(this: &Controller);
    #[wasm_bindgen(js_name = isAbortError)]
    fn is_abort_error(e: &JsValue) -> bool;
    #[wasm_bindgen(js_name = measureOptions)]
    fn measure_options(num_pings: f64, ping_interval: f64, signal: &JsValue) -> JsValue;
}

#[wasm_bindgen_test]
async fn cancel_ends_one_probe_with_cancelled_once_and_releases_it() {
    let server = FakeServer::new(0.0);
    let _ghost = server.socket("ghost"); // connected, runs no client: the probe stays connecting
    let rec = recorder();
    let a =
        ProbeManager::new(server.socket("me"), "me".into(), Some(options(&[("onProgress", rec.callback().into())])))
            .unwrap();
    let id = server.create_probe("me", "ghost", true);
    pause(100.0).await;
    assert_eq!(a.session_count(), 1);
    assert!(a.cancel(id.clone().into()), "a live probe is cancelled");
    assert!(!a.cancel(id.clone().into()), "cancelling it again is a no-op");
    assert!(!a.cancel("probe_nobody".into()), "unknown id: false");
    assert!(!a.cancel(5.into()), "not a string: false");
    let got = results(&wait(server.wait_results(&id, 1, 1000.0)).await);
    assert_eq!(got.len(), 1);
    assert_eq!(get(&got[0], "success"), JsValue::FALSE);
    assert!(get(&got[0], "rtt_ms").is_null());
    assert_eq!(get(&got[0], "error.code").as_string().as_deref(), Some("cancelled"));
    pause(300.0).await;
    assert_eq!(results(&wait(server.wait_results(&id, 2, 0.0)).await).len(), 1, "exactly one probe_result");
    assert_eq!(a.session_count(), 0, "released");
    assert_eq!(rec.phases(&id), "prepared,started,done");
    assert!(!a.cancel(id.clone().into()), "a finished probe: false");
    assert_eq!(server.handler_count("me"), 3, "the manager itself stays subscribed");
    a.close();
    assert!(!a.cancel(id.into()), "after close(): false");
}

#[wasm_bindgen_test]
async fn on_progress_reports_every_phase_in_order_and_an_exception_in_it_is_warned_once() {
    let server = FakeServer::new(1.0);
    let rec = recorder();
    let bad = thrower();
    let a = ProbeManager::new(server.socket("2"), "2".into(), Some(options(&[("onProgress", rec.callback().into())])))
        .unwrap();
    let b =
        ProbeManager::new(server.socket("10"), "10".into(), Some(options(&[("onProgress", bad.callback().into())])))
            .unwrap();
    let warned = warnings_with("onProgress threw");
    let id = server.create_probe("2", "10", false);
    let got = results(&wait(server.wait_results(&id, 2, 8000.0)).await);
    pause(100.0).await;
    warned.restore();
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_success(r);
    }
    assert_eq!(rec.phases(&id), "prepared,started,connected,open,measuring,done");
    assert_eq!(bad.calls(), 6, "every phase reached the throwing callback");
    assert_eq!(warned.count(), 1, "its exceptions were caught and warned about once");
    // the result carries the path and the setup split
    for r in &got {
        for k in ["signaling_ms", "ice_ms", "dtls_ms", "channel_ms"] {
            assert!(
                get(r, &format!("setup.{k}")).as_f64().is_some_and(|v| v >= 0.0),
                "setup.{k}: {:?}",
                js_sys::JSON::stringify(r)
            );
        }
        assert_eq!(get(r, "rtt.lost_out").as_f64(), Some(0.0), "ours on both ends: the split is known");
        assert_eq!(get(r, "rtt.lost_back").as_f64(), Some(0.0));
        assert!(get(r, "connection.relay_host").is_null(), "direct: no relay");
    }
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn an_aborted_measure_rtt_rejects_with_abort_error_and_the_connection_stays_usable() {
    let server = FakeServer::new(0.0);
    let id = server.create_probe("alice", "bob", false);
    let rec = recorder();
    let a = ProbeConnection::new(
        server.socket("alice"),
        id.clone().into(),
        "alice".into(),
        "bob".into(),
        Some(options(&[("onProgress", rec.callback().into())])),
    )
    .unwrap();
    let b =
        ProbeConnection::new(server.socket("bob"), id.clone().into(), "bob".into(), "alice".into(), Some(options(&[])))
            .unwrap();
    let connected = deferred();
    a.set_on_connected(Some(connected.r#fn()));
    a.start();
    b.start();
    wait_for(connected.promise(), "connected").await;
    // 20 pings 100 ms apart: aborted after 150 ms
    let aborted = JsFuture::from(a.measure_rtt(Some(measure_options(20.0, 100.0, &abort_after(150.0))))).await;
    let e = aborted.expect_err("an aborted measureRTT() rejects");
    assert!(is_abort_error(&e), "a DOMException named AbortError: {e:?}");
    // already aborted: rejects at once, nothing is sent
    let e =
        JsFuture::from(a.measure_rtt(Some(measure_options(3.0, 0.0, &abort_after(0.0))))).await.expect_err("rejects");
    assert!(is_abort_error(&e));
    // not an AbortSignal: a ProbeError
    let e = JsFuture::from(a.measure_rtt(Some(measure_options(3.0, 0.0, &"soon".into())))).await.expect_err("rejects");
    assert_eq!(error_code(&e), "invalid_option");
    // the connection is still usable, and an abort after the result changes nothing
    let c = controller();
    let rtt = wait_for(a.measure_rtt(Some(measure_options(3.0, 0.0, &c.signal()))), "measureRTT after the abort").await;
    assert!(rtt.as_f64().is_some_and(|r| r >= 0.0), "the next measureRTT() measures: {rtt:?}");
    c.abort();
    assert_eq!(get(&a.last_report(), "rtt.sent").as_f64(), Some(3.0));
    assert_eq!(get(&a.last_report(), "rtt.lost").as_f64(), Some(0.0), "the aborted series' late pongs do not count");
    assert!(a.is_ready());
    assert_eq!(rec.phases(&id), "prepared,started,connected,open,measuring,done,measuring,done");
    a.close();
    b.close();
}
