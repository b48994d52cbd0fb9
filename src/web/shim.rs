//! The JS shim (js/shim.js, shipped as a wasm-bindgen snippet) and the two owned handles built
//! on it: [`Handler`] (the one closure a connection or manager gives to JS) and [`Timer`].

#[allow(unused_imports)]
use crate::prelude::*;
use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::RtcPeerConnection;

#[wasm_bindgen(module = "/js/shim.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    pub fn subscribe(socket: &JsValue, events: &Array, handler: &Function) -> Result<Function, JsValue>;
    pub fn emit(socket: &JsValue, event: &str, data: &JsValue) -> JsValue;

    /// `{ fire(tag, value), off() }` around a handler (see js/shim.js).
    #[derive(Clone)]
    pub type Port;
    fn port(handler: &Function) -> Port;
    #[wasm_bindgen(method)]
    fn off(this: &Port);

    pub fn listen(target: &JsValue, events: &Array, port: &Port) -> Function;
    #[wasm_bindgen(js_name = describeLocal)]
    pub fn describe_local(pc: &RtcPeerConnection, kind: &str, port: &Port);
    #[wasm_bindgen(js_name = applyRemote)]
    pub fn apply_remote(pc: &RtcPeerConnection, desc: &Object, port: &Port);
    #[wasm_bindgen(js_name = addCandidate)]
    pub fn add_candidate(pc: &RtcPeerConnection, init: &Object, port: &Port);
    pub fn stats(pc: &RtcPeerConnection, ms: u32, port: &Port);
    #[wasm_bindgen(js_name = statsRtt)]
    pub fn stats_rtt(pc: &RtcPeerConnection, ms: u32, port: &Port) -> Promise;
    fn after(ms: u32, tag: &str, value: &JsValue, port: &Port) -> JsValue;
    /// `[promise, resolve]`.
    pub fn deferred() -> Array;
    #[wasm_bindgen(js_name = statValues)]
    pub fn stat_values(report: &JsValue) -> Array;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// An owned `Closure<dyn Fn(tag, value)>` and its port. Dropping it turns the port off first,
/// so a callback that arrives later (a promise settling after close) is a no-op instead of a
/// call into a dropped closure. `Fn`, not `FnMut`: JS may re-enter it.
pub struct Handler {
    port: Port,
    closure: Closure<dyn Fn(JsValue, JsValue)>,
}

impl Handler {
    pub fn new(f: impl Fn(JsValue, JsValue) + 'static) -> Handler {
        let closure = Closure::<dyn Fn(JsValue, JsValue)>::new(f);
        let port = port(closure.as_ref().unchecked_ref());
        Handler { port, closure }
    }

    pub fn port(&self) -> &Port {
        &self.port
    }

    /// The closure itself, for `subscribe` (which is undone before the handler drops).
    pub fn function(&self) -> &Function {
        self.closure.as_ref().unchecked_ref()
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        self.port.off();
    }
}

/// A `setTimeout` that fires `port`'s handler with `(tag, value)`; dropping it clears it.
pub struct Timer(JsValue);

impl Timer {
    pub fn new(ms: u32, tag: &str, value: &JsValue, port: &Port) -> Timer {
        Timer(after(ms, tag, value, port))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}
