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

/// A real capture of the corpus: from `captures/` when it is bundled there
/// (so the test runs in a plain clone), else from the shared real corpus
/// (`../shared/corpus/`), or `None` after saying the check is skipped
/// because the corpus is absent (see [`skip`]).
pub fn corpus(name: &str) -> Option<PathBuf> {
    let bundled = capture(name);
    if bundled.exists() {
        return Some(bundled);
    }
    let p = root().join("../shared/corpus").join(name);
    if p.exists() {
        Some(p)
    } else {
        skip("corpus", &format!("../shared/corpus/{name} not present"));
        None
    }
}

/// Environment variable naming the file where skipped checks are listed
/// (scripts/test.sh sets it, empties the file first and prints it at the end).
pub const SKIPS_FILE_VAR: &str = "PKTMON_SKIPS_FILE";

/// Says that a check of the running test is skipped and why. libtest shows a
/// test's standard error only when it fails, so besides the `skipped: …` line
/// on standard error this appends one line `test<TAB>need<TAB>why` to the file
/// `PKTMON_SKIPS_FILE` names, when set. `need` says what was missing:
/// `corpus` (../shared/corpus) or `program:NAME`; scripts/test.sh fails the run
/// when that was there all along (the check could have run).
pub fn skip(need: &str, why: &str) {
    eprintln!("skipped: {why}");
    let Some(file) = std::env::var_os(SKIPS_FILE_VAR).filter(|v| !v.is_empty()) else {
        return;
    };
    let line = format!("{}\t{need}\t{why}\n", current_test());
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    // A skip that cannot be listed would be a silent one.
    if let Err(e) = appended {
        panic!("{}: cannot list the skipped check: {e}", Path::new(&file).display());
    }
}

/// `binary::test_name` of the running test (libtest names each test's thread
/// after the test; the test binary is `name-hash`).
pub fn current_test() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => s,
        })
        .unwrap_or_default();
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("?"))
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

/// A fresh temporary directory, removed when dropped. With
/// `PKTMON_TSHARK_ROOT` set it lives under that root's `/tmp`, so tshark
/// inside the root sees it too.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = wireshark_root()
            .map(|r| r.join("tmp"))
            .unwrap_or_else(std::env::temp_dir);
        let p = base.join(format!("pktmon-tests-{tag}-{}-{n}", std::process::id()));
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

/// The root filesystem whose Wireshark the tshark tests run instead of this
/// system's: `PKTMON_TSHARK_ROOT=/path` (set by
/// scripts/test-wireshark-versions.sh for its Debian 13 and unstable roots).
/// Every Wireshark program then runs as `chroot ROOT setpriv … PROGRAM`, with
/// paths translated into the root. Needs root; a root that cannot be used
/// fails the test rather than skipping it, since the variable asks for it.
pub fn wireshark_root() -> Option<PathBuf> {
    std::env::var_os("PKTMON_TSHARK_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Whether this process runs as root (tshark ignores personal plugins then).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// A path of this process as Wireshark sees it (inside the root, if any).
pub fn inside(p: &Path) -> PathBuf {
    match wireshark_root() {
        Some(root) => match p.strip_prefix(&root) {
            Ok(rel) => Path::new("/").join(rel),
            Err(_) => p.to_path_buf(),
        },
        None => p.to_path_buf(),
    }
}

/// An argument with this process's paths under the root rewritten as Wireshark sees them.
fn inside_arg(arg: &str) -> String {
    match wireshark_root() {
        Some(root) if Path::new(arg).starts_with(&root) => inside(Path::new(arg)).display().to_string(),
        _ => arg.to_string(),
    }
}

/// A program of the Wireshark under test (`tshark`, `editcap`, `valgrind`),
/// as a path of this process; `None` after saying so when it is absent.
pub fn wireshark_program(name: &str) -> Option<PathBuf> {
    if let Some(root) = wireshark_root() {
        assert!(
            is_root(),
            "PKTMON_TSHARK_ROOT={} needs root (the tests chroot into it)",
            root.display()
        );
        let p = root.join("usr/bin").join(name);
        if name == "tshark" {
            assert!(
                p.exists(),
                "PKTMON_TSHARK_ROOT={}: no /usr/bin/tshark in it",
                root.display()
            );
        }
        if p.exists() {
            return Some(p);
        }
        // Not test.sh's business: the root is made by scripts/test-wireshark-versions.sh.
        skip(
            &format!("root-program:{name}"),
            &format!("{name} is not installed in {}", root.display()),
        );
        return None;
    }
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return Some(p);
        }
    }
    skip(
        &format!("program:{name}"),
        &format!("{name} is not installed (scripts/setup.sh installs it)"),
    );
    None
}

/// `tshark`, when installed (scripts/setup.sh installs it); `None` after saying so.
pub fn tshark() -> Option<PathBuf> {
    wireshark_program("tshark")
}

/// Runs `program` (a path from [`wireshark_program`]) with `HOME=home`: as
/// uid/gid 65534 when this process is root (tshark ignores personal plugins
/// as root), inside the root filesystem when one is set.
pub fn wireshark_command(program: &Path, home: &Path) -> Command {
    let unprivileged = ["--reuid=65534", "--regid=65534", "--clear-groups", "env"];
    if let Some(root) = wireshark_root() {
        let mut c = Command::new("chroot");
        c.arg(&root).arg("setpriv").args(unprivileged);
        c.arg(format!("HOME={}", inside(home).display()));
        c.arg(inside(program));
        c
    } else if is_root() {
        let mut c = Command::new("setpriv");
        c.args(unprivileged);
        c.arg(format!("HOME={}", home.display()));
        c.arg(program);
        c
    } else {
        let mut c = Command::new(program);
        c.env("HOME", home);
        c
    }
}

/// The Wireshark plugin to test: `PKTMON_PLUGIN_LIB` when set (a plugin
/// already built, for example against a root's headers), else the plugin of
/// this build profile, built once if needed.
pub fn plugin_library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        if let Some(p) = std::env::var_os("PKTMON_PLUGIN_LIB").filter(|v| !v.is_empty()) {
            let p = PathBuf::from(p);
            assert!(p.exists(), "PKTMON_PLUGIN_LIB={}: no such file", p.display());
            return p;
        }
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

/// Major.minor of the Wireshark under test, from `tshark --version`.
pub fn wireshark_version(tshark: &Path) -> String {
    let v = wireshark_full_version(tshark);
    let mut parts = v.split('.');
    format!("{}.{}", parts.next().unwrap_or("0"), parts.next().unwrap_or("0"))
}

/// The whole version of the Wireshark under test ("4.0.17"), from `tshark --version`.
pub fn wireshark_full_version(tshark: &Path) -> String {
    static VERSIONS: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    let mut known = VERSIONS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, v)) = known.iter().find(|(p, _)| p == tshark) {
        return v.clone();
    }
    let v = ask_version(tshark);
    known.push((tshark.to_path_buf(), v.clone()));
    v
}

fn ask_version(tshark: &Path) -> String {
    let out = match wireshark_root() {
        Some(root) => Command::new("chroot")
            .arg(root)
            .arg(inside(tshark))
            .arg("--version")
            .output(),
        None => Command::new(tshark).arg("--version").output(),
    }
    .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("");
    // "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3)." or "… 4.4.19."
    first
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .trim_end_matches('.')
        .to_string()
}

/// The file offset of a dynamic symbol's bytes in a 64-bit little-endian ELF
/// file (enough for `plugin_want_minor` of the plugin built here).
pub fn elf_symbol_offset(elf: &[u8], name: &str) -> Option<usize> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(elf.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(elf.get(o..o + 8)?.try_into().ok()?) as usize);
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let (shoff, shentsize, shnum) = (u64_at(0x28)?, u16_at(0x3a)? as usize, u16_at(0x3c)? as usize);
    let section = |i: usize| {
        let h = shoff + i * shentsize;
        // (type, addr, offset, size, link, entsize)
        Some((
            u32_at(h + 4)?,
            u64_at(h + 0x10)?,
            u64_at(h + 0x18)?,
            u64_at(h + 0x20)?,
            u32_at(h + 0x28)? as usize,
            u64_at(h + 0x38)?,
        ))
    };
    const SHT_DYNSYM: u32 = 11;
    let (_, _, symoff, symsize, strtab, entsize) = (0..shnum).filter_map(section).find(|s| s.0 == SHT_DYNSYM)?;
    let (_, _, stroff, _, _, _) = section(strtab)?;
    (0..symsize / entsize.max(1)).find_map(|i| {
        let sym = symoff + i * entsize;
        let name_at = stroff + u32_at(sym)? as usize;
        let end = name_at + elf.get(name_at..)?.iter().position(|&b| b == 0)?;
        if &elf[name_at..end] != name.as_bytes() {
            return None;
        }
        let (_, addr, offset, _, _, _) = section(u16_at(sym + 6)? as usize)?;
        Some(offset + (u64_at(sym + 8)? - addr))
    })
}

/// A copy of the plugin's bytes that claims to be built for Wireshark
/// `major.minor`: both the `plugin_want_minor` Wireshark checks and the
/// marker `install-plugin` reads are rewritten.
pub fn plugin_for_other_version(plugin: &[u8], major: u32, minor: u32) -> Vec<u8> {
    let mut bytes = plugin.to_vec();
    let at = elf_symbol_offset(&bytes, "plugin_want_minor").expect("plugin_want_minor in the plugin's symbols");
    bytes[at..at + 4].copy_from_slice(&(minor as i32).to_le_bytes());
    let marker = b"PKTMON_WIRESHARK_PLUGIN_FOR=";
    let m = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the plugin carries its version marker")
        + marker.len();
    bytes[m..m + 8].copy_from_slice(format!("{major:03}.{minor:03};").as_bytes());
    bytes
}

/// Major.minor named by the plugin's version marker (what `install-plugin` reads).
pub fn plugin_marker_version(plugin: &[u8]) -> Option<(u32, u32)> {
    let marker = b"PKTMON_WIRESHARK_PLUGIN_FOR=";
    let at = plugin.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let text = std::str::from_utf8(plugin.get(at..at + 7)?).ok()?;
    let (major, minor) = text.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
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
        Self::with_plugin(tag, &std::fs::read(plugin_library()).expect("read plugin"))
    }

    /// Like [`PluginHome::new`] with these plugin bytes installed instead.
    pub fn with_plugin(tag: &str, plugin: &[u8]) -> Option<PluginHome> {
        let tshark = tshark()?;
        let dir = TempDir::new(tag);
        let home = PluginHome { dir, tshark };
        std::fs::create_dir_all(home.plugin_folder()).expect("plugin dir");
        std::fs::write(home.plugin_folder().join("pktmon.so"), plugin).expect("copy plugin");
        home.make_readable();
        Some(home)
    }

    /// The personal `epan` plugin folder of the Wireshark under test in this home.
    pub fn plugin_folder(&self) -> PathBuf {
        self.dir
            .0
            .join("home/.local/lib/wireshark/plugins")
            .join(wireshark_version(&self.tshark))
            .join("epan")
    }

    /// Makes everything in the directory readable by the unprivileged user.
    pub fn make_readable(&self) {
        let _ = Command::new("chmod").args(["-R", "a+rwX"]).arg(&self.dir.0).status();
    }

    /// Runs a Wireshark program (from [`wireshark_program`]) as tshark runs, with
    /// this home (`with_plugin`) or an empty one; paths in `args` are translated.
    pub fn program(&self, program: &Path, with_plugin: bool, args: &[&str]) -> Output {
        let home = if with_plugin {
            self.dir.0.join("home")
        } else {
            self.dir.0.join("empty-home")
        };
        let _ = std::fs::create_dir_all(&home);
        let _ = Command::new("chmod").args(["a+rwx"]).arg(&home).status();
        let mut cmd = wireshark_command(program, &home);
        cmd.current_dir(&self.dir.0);
        cmd.args(args.iter().map(|a| inside_arg(a)));
        cmd.output().expect("tshark runs")
    }

    /// Runs tshark with the plugin.
    pub fn tshark(&self, args: &[&str]) -> Output {
        self.program(&self.tshark, true, args)
    }

    /// Runs tshark without the plugin (same user, empty personal folder).
    pub fn tshark_without_plugin(&self, args: &[&str]) -> Output {
        self.program(&self.tshark, false, args)
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
