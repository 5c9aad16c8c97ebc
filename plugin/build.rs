//! Passes the Wireshark minor version that wireshark-sys found (its
//! `cargo:minor` metadata, `DEP_WIRESHARK_MINOR` here) on to this crate as
//! `cfg(ws_minor = "N")`, for the few callback signatures that differ
//! between 4.0, 4.4 and 4.6.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ws_minor, values(\"0\", \"2\", \"4\", \"6\"))");
    println!("cargo::rerun-if-env-changed=DEP_WIRESHARK_MINOR");
    let minor = std::env::var("DEP_WIRESHARK_MINOR").expect("wireshark-sys sets DEP_WIRESHARK_MINOR");
    println!("cargo::rustc-cfg=ws_minor=\"{minor}\"");
}
