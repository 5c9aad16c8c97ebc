//! Finds Wireshark with pkg-config, generates bindings for exactly the
//! installed headers (the epan API moves between minor versions), compiles
//! the C helpers, and tells dependents which minor version they build for.
//!
//! `WIRESHARK_SYS_SYSROOT=/path` takes headers and the pkg-config file from a
//! root filesystem (for example a Debian 13 chroot) instead of this system's,
//! and then does not link libwireshark (tshark resolves those symbols when it
//! loads the plugin).
//!
//! Without pkg-config (Windows): `WIRESHARK_SYS_INCLUDE` lists the include
//! folders (separated like PATH: Wireshark's headers folder, glib-2.0 and
//! glib's lib/glib-2.0/include), and `WIRESHARK_SYS_LIB_DIR` the folders of
//! the import libraries to link (libwireshark.lib, libwiretap.lib,
//! libwsutil.lib, glib-2.0.lib; `WIRESHARK_SYS_LIBS` overrides those names).

use std::env;
use std::path::{Path, PathBuf};

const MISSING: &str =
    "\n\nwireshark-sys: the Wireshark development files were not found (pkg-config wireshark >= 4.0).\n\
Install them, then build again:\n\
  Debian/Ubuntu:  apt-get install libwireshark-dev libglib2.0-dev libclang-dev pkg-config\n\
  Fedora:         dnf install wireshark-devel glib2-devel clang-devel pkgconf\n\
  macOS:          brew install wireshark pkg-config llvm   (and set PKG_CONFIG_PATH to Wireshark's lib/pkgconfig)\n\
  Windows:        bash scripts/build-windows.sh (cross-built; README, section \"Wireshark on Windows\")\n\
Or build only the analyzer: cargo build -p pktmon-analyzer\n";

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=src/helpers.c");
    println!("cargo:rerun-if-changed=src/helpers.h");
    println!("cargo:rerun-if-changed=src/helpers_win32.h");
    println!("cargo:rerun-if-changed=src/layout.h");
    println!("cargo:rerun-if-changed=src/wtap_helpers.c");
    println!("cargo:rerun-if-changed=src/wtap_helpers.h");
    println!("cargo:rerun-if-changed=src/wtap_struct.h");
    for var in [
        "WIRESHARK_SYS_SYSROOT",
        "WIRESHARK_SYS_INCLUDE",
        "WIRESHARK_SYS_LIB_DIR",
        "WIRESHARK_SYS_LIBS",
        "WIRESHARK_SYS_LAYOUT_EXPECTED",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo::rustc-check-cfg=cfg(ws_minor, values(\"0\", \"2\", \"4\", \"6\"))");

    let sysroot = env::var_os("WIRESHARK_SYS_SYSROOT").map(PathBuf::from);
    let include = env::var_os("WIRESHARK_SYS_INCLUDE").filter(|v| !v.is_empty());
    let (include_paths, version) = match (&sysroot, include) {
        (Some(root), _) => from_sysroot(root),
        (None, Some(include)) => from_include_env(&include),
        (None, None) => from_system(),
    };
    let (major, minor) = parse_version(&version);
    check_supported(&version, major, minor, &include_paths);
    println!("cargo:rustc-cfg=ws_minor=\"{minor}\"");
    println!("cargo:version={version}");
    println!("cargo:minor={minor}");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut cc = cc::Build::new();
    cc.file("src/helpers.c")
        .warnings(true)
        .flag_if_supported("-Wno-deprecated-declarations");
    for p in &include_paths {
        cc.include(p);
    }
    layout_check(&mut cc);
    cc.compile("pktmon_wireshark_helpers");
    // The wiretap reader's glue (a file of its own: see src/wtap_helpers.c).
    let mut wtap = cc::Build::new();
    wtap.file("src/wtap_helpers.c")
        .warnings(true)
        .flag_if_supported("-Wno-deprecated-declarations");
    for p in &include_paths {
        wtap.include(p);
    }
    layout_check(&mut wtap);
    wtap.compile("pktmon_wireshark_wtap_helpers");

    let mut b = bindgen::Builder::default()
        .header("wrapper.h")
        .allowlist_function(
            "proto_register_protocol|proto_register_field_array|proto_register_subtree_array|proto_register_plugin\
             |proto_registrar_get_id_byname|create_dissector_handle|register_postdissector\
             |expert_register_protocol|expert_register_field_array|register_init_routine|register_cleanup_routine\
             |register_tap|register_tap_listener|remove_tap_listener|register_stat_tap_ui|epan_get_version\
             |proto_field_is_referenced|pktmon_.*|g_string_free",
        )
        .allowlist_type(
            "hf_register_info|header_field_info|ei_register_info|expert_field|proto_plugin|packet_info|tvbuff_t\
             |proto_tree|proto_node|ftenum|field_display_e|hf_ref_type|stat_tap_ui|register_stat_group_t\
             |tap_packet_status|pktmon_.*|epan_dissect_t|tap_flags_t|GString",
        )
        .allowlist_var(
            "ENC_.*|BASE_.*|PI_.*|WIRESHARK_VERSION_.*|PKTMON_.*|TL_REQUIRES_NOTHING|REGISTER_STAT_GROUP_.*|TAP_PACKET_.*|WTAP_ENCAP_.*",
        )
        .default_enum_style(bindgen::EnumVariation::Consts)
        .layout_tests(false)
        .generate_comments(false)
        .clang_arg("-Wno-everything");
    for p in &include_paths {
        b = b.clang_arg(format!("-I{}", p.display()));
    }
    let bindings = b
        .generate()
        .unwrap_or_else(|e| panic!("wireshark-sys: bindgen failed: {e}{MISSING}"));
    bindings.write_to_file(out.join("bindings.rs")).expect("write bindings");
}

/// On Windows, `WIRESHARK_SYS_LAYOUT_EXPECTED=DIR` names a folder holding
/// `pktmon_layout_expected.h`, the structure sizes and offsets of
/// `src/layout.h` as a Linux build of the same headers sees them
/// (scripts/build-windows.sh makes it): `src/helpers_win32.h` then asserts
/// the Windows build sees the same, at compile time, and `src/wtap_helpers.c`
/// the same for the wiretap structures of `src/wtap_struct.h`.
fn layout_check(cc: &mut cc::Build) {
    let Some(dir) = env::var_os("WIRESHARK_SYS_LAYOUT_EXPECTED").filter(|v| !v.is_empty()) else {
        return;
    };
    let dir = PathBuf::from(dir);
    println!(
        "cargo:rerun-if-changed={}",
        dir.join("pktmon_layout_expected.h").display()
    );
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        cc.define("PKTMON_LAYOUT_EXPECTED", None).include(dir);
    }
}

fn from_system() -> (Vec<PathBuf>, String) {
    let lib = pkg_config::Config::new()
        .atleast_version("4.0")
        .cargo_metadata(false)
        .probe("wireshark")
        .unwrap_or_else(|e| panic!("{e}{MISSING}"));
    for p in &lib.link_paths {
        println!("cargo:rustc-link-search=native={}", p.display());
    }
    for l in &lib.libs {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
    // wiretap is not in wireshark.pc but the comment and option accessors live there.
    println!("cargo:rustc-link-lib=dylib=wiretap");
    (lib.include_paths, lib.version)
}

/// `WIRESHARK_SYS_INCLUDE` (and `WIRESHARK_SYS_LIB_DIR`), for systems without pkg-config.
fn from_include_env(include: &std::ffi::OsStr) -> (Vec<PathBuf>, String) {
    let paths: Vec<PathBuf> = env::split_paths(include).collect();
    let ws = paths
        .iter()
        .find(|p| p.join("ws_version.h").exists())
        .unwrap_or_else(|| panic!("wireshark-sys: no ws_version.h in WIRESHARK_SYS_INCLUDE={include:?}{MISSING}"));
    let version = version_from_header(ws);
    if let Some(dirs) = env::var_os("WIRESHARK_SYS_LIB_DIR").filter(|v| !v.is_empty()) {
        for d in env::split_paths(&dirs) {
            println!("cargo:rustc-link-search=native={}", d.display());
        }
        let windows = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows");
        let default = if windows {
            "libwireshark,libwiretap,libwsutil,glib-2.0"
        } else {
            "wireshark,wiretap,wsutil,glib-2.0"
        };
        let libs = env::var("WIRESHARK_SYS_LIBS").unwrap_or_else(|_| default.to_string());
        for l in libs.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            println!("cargo:rustc-link-lib=dylib={l}");
        }
    }
    (paths, version)
}

/// "4.4.19" from a Wireshark headers folder's ws_version.h.
fn version_from_header(ws: &Path) -> String {
    let version_h = std::fs::read_to_string(ws.join("ws_version.h"))
        .unwrap_or_else(|e| panic!("wireshark-sys: {}/ws_version.h: {e}{MISSING}", ws.display()));
    let num = |name: &str| {
        version_h
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "0".into())
    };
    format!(
        "{}.{}.{}",
        num("WIRESHARK_VERSION_MAJOR"),
        num("WIRESHARK_VERSION_MINOR"),
        num("WIRESHARK_VERSION_MICRO")
    )
}

fn from_sysroot(root: &Path) -> (Vec<PathBuf>, String) {
    let include = root.join("usr/include");
    let ws = include.join("wireshark");
    let version = version_from_header(&ws);
    let glib_config = std::fs::read_dir(root.join("usr/lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("glib-2.0/include"))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("wireshark-sys: no glib-2.0 include directory in {}", root.display()));
    (vec![ws, include.join("glib-2.0"), glib_config], version)
}

/// Wireshark versions whose plugin ABI this crate implements: the loader
/// of 4.0 to 4.6 looks for `plugin_version`, `plugin_want_major`,
/// `plugin_want_minor` and `plugin_register` in `<plugins>/<major.minor>/epan/*.so`
/// (4.2 adds the optional `plugin_describe`).
const SUPPORTED: &str = "4.0, 4.2, 4.4 and 4.6 (tested on 4.0, 4.4 and 4.6)";

/// Stops the build, with the reason, for a Wireshark whose plugin loader
/// this crate does not speak: it would build a plugin Wireshark never loads
/// (and says so only in a warning). `WIRESHARK_SYS_ALLOW_UNSUPPORTED=1`
/// builds anyway, for porting work.
fn check_supported(version: &str, major: u32, minor: u32, include_paths: &[PathBuf]) {
    println!("cargo:rerun-if-env-changed=WIRESHARK_SYS_ALLOW_UNSUPPORTED");
    let new_loader = include_paths.iter().any(|p| {
        std::fs::read_to_string(p.join("wsutil/plugins.h")).is_ok_and(|h| h.contains("wireshark_load_module"))
    });
    let why = if major == 4 && minor <= 6 && !new_loader {
        return;
    } else if major < 4 {
        format!("Wireshark {version} is older than 4.0: its headers and plugin loader differ. Supported: {SUPPORTED}.")
    } else if new_loader || (major == 4 && minor >= 7) || major > 4 {
        format!(
            "Wireshark {version} (4.7, the development branch, and later) loads plugins differently: one \
             `wireshark_load_module(int *abi_version, int *min_api_level, struct ws_module **)` symbol instead of \
             plugin_version/plugin_want_major/plugin_want_minor/plugin_register, a per-type ABI number checked \
             instead of major.minor, and files named `<name>.so.<ABI>` in unversioned plugin folders \
             (wsutil/plugins.c, wsutil/plugins.h). This plugin implements the loader of {SUPPORTED}, so \
             Wireshark {version} would not load it. Build against one of those versions."
        )
    } else {
        format!("Wireshark {version} is not a version this plugin supports: {SUPPORTED}.")
    };
    if env::var_os("WIRESHARK_SYS_ALLOW_UNSUPPORTED").is_some_and(|v| v == "1") {
        println!("cargo:warning=wireshark-sys: {why} (building anyway: WIRESHARK_SYS_ALLOW_UNSUPPORTED=1)");
        return;
    }
    panic!("\n\nwireshark-sys: {why}\nSet WIRESHARK_SYS_ALLOW_UNSUPPORTED=1 to build anyway (porting work only).\n");
}

fn parse_version(v: &str) -> (u32, u32) {
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}
