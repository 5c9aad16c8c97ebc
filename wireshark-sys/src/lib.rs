//! Raw bindings to libwireshark and libwiretap for the installed Wireshark
//! (4.0 to 4.6), generated at build time from its own headers, plus the C
//! helpers of `src/helpers.c`. No safe API lives here: that is the plugin's
//! thin FFI layer.
//!
//! Dependents can tell the Wireshark minor version with `cfg(ws_minor = "0")`
//! and the like (re-exported through `DEP_WIRESHARK_MINOR` for build scripts).

#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    improper_ctypes,
    dead_code
)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
