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

/// The plugin for Wireshark `major.minor` beside this program, as
/// scripts/build-windows.sh names them (`pktmon-for-wireshark-4.6.dll`,
/// one per version, in dist/windows/), else cargo's own name.
fn plugin_beside(dir: &Path, version: Option<(u32, u32)>) -> PathBuf {
    let ext = if cfg!(windows) { "dll" } else { "so" };
    if let Some((major, minor)) = version {
        let versioned = dir.join(format!("pktmon-for-wireshark-{major}.{minor}.{ext}"));
        if versioned.is_file() {
            return versioned;
        }
    }
    dir.join(built_name())
}

/// tshark as given; on Windows, when the default `tshark` is not on the
/// PATH (the installer does not put it there), Wireshark's own
/// `%ProgramFiles%\Wireshark\tshark.exe` if it is there.
fn resolve_tshark(given: &Path) -> PathBuf {
    if cfg!(windows) && given == Path::new("tshark") && Command::new(given).arg("--version").output().is_err() {
        if let Some(pf) = std::env::var_os("ProgramFiles") {
            let installed = PathBuf::from(pf).join("Wireshark").join("tshark.exe");
            if installed.is_file() {
                return installed;
            }
        }
    }
    given.to_path_buf()
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
    /// `Some(true)`: add the "PktMon drop" coloring rule; `Some(false)`: remove it.
    pub colors: Option<bool>,
}

/// The coloring rule `--colors` adds: white on dark magenta (the file
/// lists the background first, then the text), first in the list so that it
/// wins over Wireshark's own rules (the first match colours a row).
pub const DROP_RULE_NAME: &str = "PktMon drop";
const DROP_RULE: &str = "@PktMon drop@pktmon.drop@[35723,0,35723][65535,65535,65535]";

/// Whether a colorfilters line is our rule (enabled, or disabled with `!`).
fn is_drop_rule(line: &str) -> bool {
    line.trim_start_matches('!').starts_with(&format!("@{DROP_RULE_NAME}@"))
}

/// `colorfilters` text with our rule first among the rules (after the
/// leading comments) and every other line as it was.
pub fn with_drop_rule(existing: &str) -> String {
    let lines: Vec<&str> = existing.lines().filter(|l| !is_drop_rule(l)).collect();
    let at = lines.iter().position(|l| !l.starts_with('#')).unwrap_or(lines.len());
    let mut out: Vec<&str> = lines[..at].to_vec();
    out.push(DROP_RULE);
    out.extend_from_slice(&lines[at..]);
    out.join("\n") + "\n"
}

/// `colorfilters` text without our rule; every other line as it was.
pub fn without_drop_rule(existing: &str) -> String {
    let lines: Vec<&str> = existing.lines().filter(|l| !is_drop_rule(l)).collect();
    if lines.is_empty() {
        String::new()
    } else {
        lines.join("\n") + "\n"
    }
}

/// Wireshark's default coloring rules, made a personal list (its header
/// says not to edit the global file).
fn personal_copy_of(global: &str) -> String {
    let rules: Vec<&str> = global.lines().filter(|l| !l.starts_with("# DO NOT EDIT")).collect();
    let mut out = String::from("# This file was created by Wireshark. Edit with care.\n");
    for l in rules {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The personal configuration folder (holding the default profile's
/// `colorfilters`) and the global one, from `tshark -G folders`, or the usual
/// places when tshark cannot tell.
fn config_folders(tshark: &Path, ask_tshark: bool) -> (Option<PathBuf>, Option<PathBuf>) {
    let personal = ask_tshark
        .then(|| tshark_folder(tshark, "Personal configuration"))
        .flatten()
        .or_else(|| {
            if cfg!(windows) {
                std::env::var_os("APPDATA").map(|a| PathBuf::from(a).join("Wireshark"))
            } else {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/wireshark"))
            }
        });
    let global = ask_tshark
        .then(|| tshark_folder(tshark, "Global configuration"))
        .flatten()
        .or_else(|| (!cfg!(windows)).then(|| PathBuf::from("/usr/share/wireshark")));
    (personal, global)
}

/// Adds (`add`) or removes our rule in the default profile's colorfilters.
fn set_colors(tshark: &Path, ask_tshark: bool, add: bool) -> Result<String, String> {
    let (personal, global) = config_folders(tshark, ask_tshark);
    let dir = personal.ok_or("cannot find Wireshark's personal configuration folder (no HOME)")?;
    let file = dir.join("colorfilters");
    let existing = match std::fs::read_to_string(&file) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let text = match (add, existing) {
        (false, None) => return Ok(format!("no coloring rules in {}: nothing to remove", file.display())),
        (false, Some(t)) if !t.lines().any(is_drop_rule) => {
            return Ok(format!(
                "{} has no \"{DROP_RULE_NAME}\" rule: nothing to remove",
                file.display()
            ))
        }
        (false, Some(t)) => without_drop_rule(&t),
        (true, Some(t)) => with_drop_rule(&t),
        (true, None) => {
            // The personal list replaces Wireshark's defaults: start from them.
            let defaults = global
                .map(|g| g.join("colorfilters"))
                .and_then(|g| std::fs::read_to_string(g).ok())
                .unwrap_or_default();
            with_drop_rule(&personal_copy_of(&defaults))
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = pktmon::sink::atomic::AtomicFile::create(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    std::io::Write::write_all(&mut out, text.as_bytes()).map_err(|e| format!("{}: {e}", file.display()))?;
    out.commit().map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(if add {
        format!(
            "coloring rule \"{DROP_RULE_NAME}\" (pktmon.drop) is first in {} (View > Coloring Rules; remove it with --no-colors)",
            file.display()
        )
    } else {
        format!("removed the \"{DROP_RULE_NAME}\" coloring rule from {}", file.display())
    })
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

fn run(mut args: InstallArgs) -> Result<String, String> {
    args.tshark = resolve_tshark(&args.tshark);
    let (wmaj, wmin) = match &args.wireshark_version {
        Some(v) => parse_version(v).ok_or_else(|| format!("--wireshark-version {v:?} is not MAJOR.MINOR"))?,
        None => tshark_version(&args.tshark)?,
    };
    let plugin = match args.plugin {
        Some(p) => p,
        None => std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| plugin_beside(d, Some((wmaj, wmin)))))
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
    if (pmaj, pmin) != (wmaj, wmin) {
        return Err(format!(
            "{} was built for Wireshark {pmaj}.{pmin}, but Wireshark {wmaj}.{wmin} is installed; Wireshark loads \
             plugins only into the major.minor they were built for (it would skip this one with only a warning). \
             Rebuild it against Wireshark {wmaj}.{wmin}'s own development files, then run install-plugin again:\n  \
             Debian/Ubuntu: apt-get install libwireshark-dev libglib2.0-dev libclang-dev pkg-config, then \
             cargo build --release -p pktmon-wireshark\n  \
             other systems: see the README, sections \"Wireshark versions\" and \"Wireshark on Windows\"\n\
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
        "installed {} (for Wireshark {pmaj}.{pmin}) as {}\ncheck with: {} -G plugins | {} pktmon",
        plugin.display(),
        target.display(),
        if cfg!(windows) {
            format!("\"{}\"", args.tshark.display())
        } else {
            args.tshark.display().to_string()
        },
        if cfg!(windows) { "findstr" } else { "grep" }
    );
    if cfg!(windows) {
        msg.push_str(&format!(
            "\nnote: on Windows the plugin for Wireshark {} is checked under Wine with stand-ins for Wireshark's \
             DLLs, not yet inside a real Windows Wireshark (README, \"Wireshark on Windows\")",
            tested_versions()
        ));
    } else if TESTED_VERSIONS.contains(&(pmaj, pmin)) {
        msg.push_str(&format!("\nthe plugin is tested on Wireshark {}", tested_versions()));
    } else {
        msg.push_str(&format!(
            "\nnote: the plugin has been tested on Wireshark {} only, not on {pmaj}.{pmin}",
            tested_versions()
        ));
    }
    if let Some(add) = args.colors {
        msg.push('\n');
        msg.push_str(&set_colors(&args.tshark, args.wireshark_version.is_none(), add)?);
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

    const USER: &str = "# This file was created by Wireshark. Edit with care.\n\
                        @My rule@ip.addr == 10.0.0.1@[0,0,0][65535,0,0]\n\
                        !@Disabled@udp@[0,0,0][0,0,65535]\n\
                        @TCP@tcp@[59345,58980,65535][4718,10030,11796]\n";

    #[test]
    fn the_drop_rule_goes_first_and_keeps_the_users_rules() {
        let with = with_drop_rule(USER);
        let lines: Vec<&str> = with.lines().collect();
        assert_eq!(lines[0], "# This file was created by Wireshark. Edit with care.");
        assert_eq!(lines[1], DROP_RULE);
        assert_eq!(lines[2..], USER.lines().skip(1).collect::<Vec<_>>()[..]);
        assert_eq!(with_drop_rule(&with), with, "adding twice adds once");
        assert_eq!(without_drop_rule(&with), USER, "removing gives the user's file back");
        // A rule the user disabled is ours too: --colors enables it again, --no-colors removes it.
        let disabled = with.replace("@PktMon drop@", "!@PktMon drop@");
        assert_eq!(with_drop_rule(&disabled), with);
        assert_eq!(without_drop_rule(&disabled), USER);
        assert_eq!(without_drop_rule(USER), USER, "only ours is removed");
    }

    #[test]
    fn a_new_list_starts_from_wiresharks_defaults() {
        let global = "# DO NOT EDIT THIS FILE!  It was created by Wireshark\n@Bad TCP@tcp.analysis.flags@[0,0,0][1,1,1]\n@UDP@udp@[0,0,0][2,2,2]\n";
        let made = with_drop_rule(&personal_copy_of(global));
        assert_eq!(
            made,
            format!(
                "# This file was created by Wireshark. Edit with care.\n{DROP_RULE}\n@Bad TCP@tcp.analysis.flags@[0,0,0][1,1,1]\n@UDP@udp@[0,0,0][2,2,2]\n"
            )
        );
        assert_eq!(with_drop_rule(""), format!("{DROP_RULE}\n"));
    }

    #[test]
    fn finds_the_plugin_built_for_the_installed_version_beside_the_program() {
        let dir = std::env::temp_dir().join(format!("pktmon-install-beside-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ext = if cfg!(windows) { "dll" } else { "so" };
        let v46 = dir.join(format!("pktmon-for-wireshark-4.6.{ext}"));
        std::fs::write(&v46, b"x").unwrap();
        assert_eq!(plugin_beside(&dir, Some((4, 6))), v46);
        // No file for 4.4: cargo's own name, whose marker then says what it was built for.
        assert_eq!(plugin_beside(&dir, Some((4, 4))), dir.join(built_name()));
        assert_eq!(plugin_beside(&dir, None), dir.join(built_name()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_the_tested_versions() {
        assert_eq!(tested_versions(), "4.0, 4.4 and 4.6");
    }
}
