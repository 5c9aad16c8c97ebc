//! Helpers for the end-to-end tests: where things are, how to run the binary,
//! and how to say clearly that a test could not run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A bundled capture under `captures/`.
pub fn capture(name: &str) -> PathBuf {
    root().join("captures").join(name)
}

/// A file of the shared real corpus (`../shared/corpus/`), or `None` after
/// printing one line saying the test is skipped because the corpus is absent.
pub fn corpus(name: &str) -> Option<PathBuf> {
    let p = root().join("../shared/corpus").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared/corpus/{name} not present");
        None
    }
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The `pktmon-analyzer` binary of this build profile, built once if needed.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(root())
            .args(["build", "--quiet", "-p", "pktmon-analyzer", "--bin", "pktmon-analyzer"]);
        if profile() == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building pktmon-analyzer failed");
        target.join(profile()).join("pktmon-analyzer")
    })
}

/// Runs the binary with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().expect("pktmon-analyzer runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("pktmon-tests-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tshark`, when installed (scripts/setup.sh installs it); `None` after saying so.
pub fn tshark() -> Option<PathBuf> {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join("tshark");
        if p.exists() {
            return Some(p);
        }
    }
    eprintln!("skipped: tshark is not installed (scripts/setup.sh installs it)");
    None
}

/// The Wireshark plugin of this build profile, built once if needed.
pub fn plugin_library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"));
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(root())
            .args(["build", "--quiet", "-p", "pktmon-wireshark"]);
        if profile() == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the plugin failed");
        target.join(profile()).join("libpktmon_wireshark.so")
    })
}

/// Major.minor of the installed Wireshark, from `tshark --version`.
pub fn wireshark_version(tshark: &Path) -> String {
    let out = Command::new(tshark).arg("--version").output().expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("");
    // "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3)."
    let v = first.split_whitespace().nth(2).unwrap_or("");
    let mut parts = v.split('.');
    format!("{}.{}", parts.next().unwrap_or("0"), parts.next().unwrap_or("0"))
}

/// A home directory with the plugin installed as a personal plugin, readable
/// by an unprivileged user: tshark ignores personal plugins when run as root,
/// so as root every run drops to uid/gid 65534 with `setpriv`.
pub struct PluginHome {
    pub dir: TempDir,
    pub tshark: PathBuf,
}

impl PluginHome {
    /// `None` (after saying why) when tshark is not installed.
    pub fn new(tag: &str) -> Option<PluginHome> {
        let tshark = tshark()?;
        let dir = TempDir::new(tag);
        let version = wireshark_version(&tshark);
        let epan = dir
            .0
            .join("home/.local/lib/wireshark/plugins")
            .join(&version)
            .join("epan");
        std::fs::create_dir_all(&epan).expect("plugin dir");
        std::fs::copy(plugin_library(), epan.join("pktmon.so")).expect("copy plugin");
        let home = PluginHome { dir, tshark };
        home.make_readable();
        Some(home)
    }

    /// Makes everything in the directory readable by the unprivileged user.
    pub fn make_readable(&self) {
        let _ = Command::new("chmod").args(["-R", "a+rwX"]).arg(&self.dir.0).status();
    }

    fn command(&self, with_plugin: bool) -> Command {
        let home = if with_plugin {
            self.dir.0.join("home")
        } else {
            self.dir.0.join("empty-home")
        };
        let _ = std::fs::create_dir_all(&home);
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false);
        let mut cmd = if is_root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "env"]);
            c.arg(format!("HOME={}", home.display()));
            c.arg(&self.tshark);
            c
        } else {
            let mut c = Command::new(&self.tshark);
            c.env("HOME", &home);
            c
        };
        cmd.current_dir(&self.dir.0);
        cmd
    }

    /// Runs tshark with the plugin.
    pub fn tshark(&self, args: &[&str]) -> Output {
        self.command(true).args(args).output().expect("tshark runs")
    }

    /// Runs tshark without the plugin (same user, empty personal folder).
    pub fn tshark_without_plugin(&self, args: &[&str]) -> Output {
        self.command(false).args(args).output().expect("tshark runs")
    }

    /// Converts `input` with the analyzer into this directory.
    pub fn convert(&self, input: &Path, name: &str) -> PathBuf {
        let out = self.dir.path(name);
        let o = run(&["convert", input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "convert failed: {}", stderr(&o));
        self.make_readable();
        out
    }
}

/// Lines of `-T fields` output split on tabs.
pub fn field_rows(out: &Output) -> Vec<Vec<String>> {
    stdout(out)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}
