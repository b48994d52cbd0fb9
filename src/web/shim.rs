//! The JS socket shim (js/shim.js, shipped as a wasm-bindgen snippet) and the owned
//! subscription built on it.

#[allow(unused_imports)]
use crate::prelude::*;
use js_sys::Function;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/shim.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn subscribe(socket: &JsValue, event: &str, handler: &Function) -> Result<Function, JsValue>;
    #[wasm_bindgen(catch)]
    pub fn emit(socket: &JsValue, event: &str, data: &JsValue) -> Result<(), JsValue>;
}

/// A socket handler: the closure and the function that unsubscribes it. Dropping it
/// unsubscribes first, then frees the closure (gloo's rule: the owner of a callback removes it).
pub struct Subscription {
    off: Function,
    _closure: Closure<dyn Fn(JsValue)>,
}

impl Subscription {
    /// `socket.on(event, f)`; `Err` when the socket has no on/off/emit. `Fn`, not `FnMut`:
    /// a socket (or a page's adapter) may deliver an event from inside our own `emit`.
    pub fn new(socket: &JsValue, event: &str, f: impl Fn(JsValue) + 'static) -> Result<Subscription, JsValue> {
        let closure = Closure::<dyn Fn(JsValue)>::new(f);
        let off = subscribe(socket, event, closure.as_ref().unchecked_ref())?;
        Ok(Subscription { off, _closure: closure })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // an adapter whose off() throws cannot stop the release of the closure
        let _ = self.off.call0(&JsValue::NULL);
    }
}
