//! `install-plugin`: copy the already-built Wireshark plugin into the
//! personal (or global) plugin folder of the installed Wireshark, refusing a
//! version mismatch that Wireshark itself would only mention in passing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Marker the plugin carries (see plugin/src/marker.rs).
const MARKER: &[u8] = b"PKTMON_WIRESHARK_PLUGIN_FOR=";

/// Wireshark major.minor versions the plugin's tshark integration suite
/// passes on: the host's (Debian 12, scripts/test.sh) and Debian 13 and
/// unstable (scripts/test-wireshark-versions.sh).
pub const TESTED_VERSIONS: &[(u32, u32)] = &[(4, 0), (4, 4), (4, 6)];

/// "4.0, 4.4 and 4.6".
pub fn tested_versions() -> String {
    let names: Vec<String> = TESTED_VERSIONS.iter().map(|(a, b)| format!("{a}.{b}")).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The plugin file name cargo produces on this OS.
fn built_name() -> &'static str {
    if cfg!(windows) {
        "pktmon_wireshark.dll"
    } else if cfg!(target_os = "macos") {
        "libpktmon_wireshark.dylib"
    } else {
        "libpktmon_wireshark.so"
    }
}

/// The name Wireshark wants in its plugin folder (`.so` on macOS too).
fn installed_name() -> &'static str {
    if cfg!(windows) {
        "pktmon.dll"
    } else {
        "pktmon.so"
    }
}

/// Major.minor the plugin was built for, from its marker.
pub fn plugin_version(bytes: &[u8]) -> Option<(u32, u32)> {
    let at = bytes.windows(MARKER.len()).position(|w| w == MARKER)? + MARKER.len();
    let text = std::str::from_utf8(bytes.get(at..at + 8)?).ok()?;
    let (major, minor) = text.strip_suffix(';')?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Major.minor of `tshark --version` ("TShark (Wireshark) 4.0.17 …").
fn tshark_version(tshark: &Path) -> Result<(u32, u32), String> {
    let out = Command::new(tshark).arg("--version").output().map_err(|e| {
        format!(
            "cannot run {}: {e} (give --wireshark-version X.Y instead)",
            tshark.display()
        )
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(2))
        .ok_or_else(|| format!("{} --version printed no version", tshark.display()))?;
    parse_version(v).ok_or_else(|| format!("cannot read the version in {v:?}"))
}

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Wireshark's own plugin folders, from `tshark -G folders`.
fn tshark_folder(tshark: &Path, label: &str) -> Option<PathBuf> {
    let out = Command::new(tshark).args(["-G", "folders"]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == label).then(|| PathBuf::from(v.trim()))
    })
}

/// The personal plugin folder of a version when tshark cannot tell.
fn default_personal_folder(major: u32, minor: u32) -> Option<PathBuf> {
    if cfg!(windows) {
        let appdata = std::env::var_os("APPDATA")?;
        Some(
            PathBuf::from(appdata)
                .join("Wireshark")
                .join("plugins")
                .join(format!("{major}.{minor}")),
        )
    } else {
        let home = std::env::var_os("HOME")?;
        // macOS app bundles use "4-4" (a dot is not allowed in a code-signed bundle path).
        let dir = if cfg!(target_os = "macos") {
            format!("{major}-{minor}")
        } else {
            format!("{major}.{minor}")
        };
        Some(PathBuf::from(home).join(".local/lib/wireshark/plugins").join(dir))
    }
}

pub struct InstallArgs {
    pub plugin: Option<PathBuf>,
    pub tshark: PathBuf,
    pub wireshark_version: Option<String>,
    pub global: bool,
    pub dest: Option<PathBuf>,
}

pub fn install(args: InstallArgs) -> i32 {
    match run(args) {
        Ok(msg) => {
            println!("{msg}");
            0
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            2
        }
    }
}

fn run(args: InstallArgs) -> Result<String, String> {
    let plugin = match args.plugin {
        Some(p) => p,
        None => std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join(built_name())))
            .ok_or("cannot tell where this program is; give --plugin PATH")?,
    };
    let bytes = std::fs::read(&plugin).map_err(|e| {
        format!(
            "{}: {e}. Build the plugin first (cargo build --release -p pktmon-wireshark) or give --plugin PATH",
            plugin.display()
        )
    })?;
    let (pmaj, pmin) = plugin_version(&bytes).ok_or_else(|| {
        format!(
            "{} is not the pktmon Wireshark plugin (no version marker)",
            plugin.display()
        )
    })?;
    let (wmaj, wmin) = match &args.wireshark_version {
        Some(v) => parse_version(v).ok_or_else(|| format!("--wireshark-version {v:?} is not MAJOR.MINOR"))?,
        None => tshark_version(&args.tshark)?,
    };
    if (pmaj, pmin) != (wmaj, wmin) {
        return Err(format!(
            "{} was built for Wireshark {pmaj}.{pmin}, but Wireshark {wmaj}.{wmin} is installed; Wireshark loads \
             plugins only into the major.minor they were built for (it would skip this one with only a warning). \
             Rebuild it against Wireshark {wmaj}.{wmin}'s own development files, then run install-plugin again:\n  \
             Debian/Ubuntu: apt-get install libwireshark-dev libglib2.0-dev libclang-dev pkg-config, then \
             cargo build --release -p pktmon-wireshark\n  \
             other systems: see the README, sections \"Wireshark versions\" and \"Building the plugin on Windows\"\n\
             The plugin has been tested on Wireshark {}.",
            plugin.display(),
            tested_versions()
        ));
    }
    let folder = match (&args.dest, args.global) {
        (Some(d), _) => d.clone(),
        (None, true) => tshark_folder(&args.tshark, "Global Plugins")
            .ok_or("cannot find Wireshark's global plugin folder with tshark -G folders; give --dest DIR")?,
        (None, false) => tshark_folder(&args.tshark, "Personal Plugins")
            .filter(|_| args.wireshark_version.is_none())
            .or_else(|| default_personal_folder(wmaj, wmin))
            .ok_or("cannot find the personal plugin folder; give --dest DIR")?,
    };
    let dir = folder.join("epan");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let target = dir.join(installed_name());
    let mut out =
        pktmon::sink::atomic::AtomicFile::create(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    std::io::Write::write_all(&mut out, &bytes).map_err(|e| format!("{}: {e}", target.display()))?;
    out.commit().map_err(|e| format!("{}: {e}", target.display()))?;
    let mut msg = format!(
        "installed {} (for Wireshark {pmaj}.{pmin}) as {}\ncheck with: tshark -G plugins | grep pktmon",
        plugin.display(),
        target.display()
    );
    if TESTED_VERSIONS.contains(&(pmaj, pmin)) {
        msg.push_str(&format!("\nthe plugin is tested on Wireshark {}", tested_versions()));
    } else {
        msg.push_str(&format!(
            "\nnote: the plugin has been tested on Wireshark {} only, not on {pmaj}.{pmin}",
            tested_versions()
        ));
    }
    #[cfg(unix)]
    if !args.global && args.dest.is_none() && is_root() {
        msg.push_str(
            "\nnote: Wireshark ignores personal plugins when it runs as root; run it as your own user, or install with --global",
        );
    }
    Ok(msg)
}

#[cfg(unix)]
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_marker() {
        let mut bytes = vec![0u8; 100];
        bytes.extend_from_slice(b"PKTMON_WIRESHARK_PLUGIN_FOR=004.006;");
        assert_eq!(plugin_version(&bytes), Some((4, 6)));
        assert_eq!(plugin_version(b"nothing here"), None);
        assert_eq!(parse_version("4.0.17"), Some((4, 0)));
    }

    #[test]
    fn names_the_tested_versions() {
        assert_eq!(tested_versions(), "4.0, 4.4 and 4.6");
    }
}
