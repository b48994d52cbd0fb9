//! `configure(options)`: package-wide defaults for every `ProbeConnection` and `ProbeManager`
//! created afterwards. The platform's own page code constructs `ProbeConnection`s with only
//! `{turnUsername, turnCredential}` (from `probe_prepare`); this is where a deployment says
//! which STUN/TURN servers those credentials are for, without touching that code.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::RefCell;

use js_sys::Object;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::convert::Options;

thread_local! {
    static DEFAULTS: RefCell<Option<Object>> = const { RefCell::new(None) };
}

/// `configure(options)`: validates `options` like a constructor does (throws a `ProbeError`
/// with code `invalid_option` / `invalid_argument`) and keeps a copy as the defaults that
/// constructor options are laid over, key by key. `configure(null)` clears them. Connections
/// and managers already created keep what they had.
#[wasm_bindgen(js_name = configure)]
pub fn configure(
    #[wasm_bindgen(unchecked_param_type = "ProbeConnectionOptions | null | undefined")] options: JsValue,
) -> Result<(), JsValue> {
    let copy = if options.is_undefined() || options.is_null() {
        None
    } else {
        super::convert::warn_unknown_options(&options, "configure");
        Options::parse(&options, true)?;
        Some(Object::assign(&Object::new(), options.unchecked_ref()))
    };
    DEFAULTS.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => {
            *d = copy;
            Ok(())
        }
        // only reachable if configure() re-entered itself, which no JS callback can do
        Err(_) => Err(super::js_error("invalid_argument", "configure() is already running")),
    })
}

/// The options a constructor works with: the `configure()` defaults with `options` laid over
/// them. Anything that is not an options object is passed through for the parser to reject.
pub fn with_defaults(options: &JsValue) -> JsValue {
    let defaults = DEFAULTS.with(|d| match d.try_borrow() {
        Ok(d) => d.clone(),
        // configure() runs no JS while it holds the cell: a conflict would be a bug
        Err(_) => {
            debug_assert!(false, "configure() defaults borrowed while being replaced");
            super::warn("configure", "internal error: defaults busy, not applied");
            None
        }
    });
    match defaults {
        None => options.clone(),
        Some(defaults) if options.is_undefined() || options.is_null() => {
            Object::assign(&Object::new(), &defaults).into()
        }
        Some(defaults) if options.is_object() => {
            let merged = Object::assign(&Object::new(), &defaults);
            Object::assign(&merged, options.unchecked_ref()).into()
        }
        Some(_) => options.clone(),
    }
}
