//! The plugin in the real Wireshark window (Qt), on a virtual X display
//! (Xvfb), as an unprivileged user: a generated capture opens without an
//! error dialog, the Expert Information and Statistics > PktMon Drops
//! dialogs come up, and screenshots of them are taken.
//!
//! Needs `wireshark` (Debian `wireshark-qt`), `Xvfb`, `xdotool` and
//! `import` (imagemagick); each missing one is said on one line and the test
//! is skipped. `PKTMON_SCREENSHOTS=DIR` keeps the screenshots there (the
//! README's come from `PKTMON_SCREENSHOTS=docs/img`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pktmon_tests::*;

/// A program of this system, or `None` after saying the test is skipped.
fn program(name: &str, package: &str) -> Option<PathBuf> {
    let found = ["/usr/bin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipped: {name} is not installed (apt-get install {package})");
    }
    found
}

/// A virtual X display, stopped when dropped.
struct Display {
    server: Child,
    name: String,
}

impl Display {
    fn start(xvfb: &Path) -> Display {
        let mut server = Command::new(xvfb)
            .args(["-screen", "0", "1400x1000x24", "-nolisten", "tcp", "-displayfd", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs");
        let mut line = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("Xvfb names its display");
        let name = format!(":{}", line.trim());
        assert!(name.len() > 1, "Xvfb printed no display number");
        Display { server, name }
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.name)
            .output()
            .expect("xdotool runs");
        stdout(&out)
    }

    /// Names of the windows on screen.
    fn visible_windows(&self) -> Vec<(String, String)> {
        self.xdotool(&["search", "--onlyvisible", "--name", "."])
            .lines()
            .map(|id| {
                let name = self.xdotool(&["getwindowname", id]).trim().to_string();
                (id.to_string(), name)
            })
            .collect()
    }

    /// The id of the visible window named exactly `name`, waiting up to `secs`.
    fn wait_for(&self, name: &str, secs: u64) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            if let Some((id, _)) = self.visible_windows().into_iter().find(|(_, n)| n == name) {
                return Some(id);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        None
    }

    fn screenshot(&self, window: &str, to: &Path) {
        // 256 colours are plenty for a window and keep the PNG small.
        let out = Command::new("import")
            .args(["-window", window])
            .arg(format!("png8:{}", to.display()))
            .env("DISPLAY", &self.name)
            .output()
            .expect("import runs");
        assert!(out.status.success(), "import: {}", stderr(&out));
        assert!(std::fs::metadata(to).unwrap().len() > 1000, "{} is empty", to.display());
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Wireshark running on the display, stopped when dropped; its stderr is kept.
struct Window {
    child: Child,
    log: PathBuf,
}

impl Window {
    fn open(wireshark: &Path, home: &Path, display: &Display, args: &[&str], log: PathBuf) -> Window {
        let runtime = home.join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        let _ = Command::new("chmod").args(["-R", "a+rwX"]).arg(home).status();
        let err = std::fs::File::create(&log).unwrap();
        let child = wireshark_command(wireshark, home)
            .args(args)
            .env("DISPLAY", &display.name)
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("wireshark runs");
        Window { child, log }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What Wireshark must not say on stderr with the plugin loaded.
fn assert_no_errors(log: &str, what: &str) {
    for bad in [
        "Couldn't load plugin",
        "Dissector bug",
        "CRITICAL",
        "was compiled for Wireshark",
        "pktmon:",
    ] {
        assert!(!log.contains(bad), "{what}: Wireshark said {bad:?}:\n{log}");
    }
}

/// Only the expected windows are on screen (an error or warning dialog would be another).
fn assert_only(display: &Display, expected: &[&str], what: &str) {
    let windows = display.visible_windows();
    let unexpected: Vec<&(String, String)> = windows
        .iter()
        .filter(|(_, n)| !expected.contains(&n.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{what}: unexpected windows {unexpected:?} (expected {expected:?})"
    );
}

/// What a window test needs: Wireshark and Xvfb, a plugin home, and the mix
/// scenario generated there in `format` (pcapng: converted; etl: PktMon's own
/// file, opened with no conversion). `None`, having said why, when something
/// is missing.
struct WindowSetup {
    wireshark: PathBuf,
    xvfb: PathBuf,
    home: PluginHome,
    capture: PathBuf,
}

fn window_setup(name: &str, format: &str) -> Option<WindowSetup> {
    if wireshark_root().is_some() {
        eprintln!("skipped: the window test runs on the host's Wireshark only");
        return None;
    }
    let (Some(wireshark), Some(xvfb), Some(_), Some(_)) = (
        program("wireshark", "wireshark-qt"),
        program("Xvfb", "xvfb"),
        program("xdotool", "xdotool"),
        program("import", "imagemagick"),
    ) else {
        return None;
    };
    let home = PluginHome::new(name)?;
    // A generated capture with planted drops.
    let generated = home.dir.path("generated");
    let out = run(&[
        "generate",
        "--scenario",
        "mix",
        "--format",
        format,
        "-o",
        generated.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let capture = generated.join(format!("mix.{format}"));
    home.make_readable();
    Some(WindowSetup {
        wireshark,
        xvfb,
        home,
        capture,
    })
}

#[test]
fn the_wireshark_window_opens_a_converted_capture_with_the_plugin_and_its_dialogs() {
    let Some(WindowSetup {
        wireshark,
        xvfb,
        home,
        capture,
    }) = window_setup("window", "pcapng")
    else {
        return;
    };
    let file = capture.to_str().unwrap();
    // The colouring rule, as a user would install it.
    let user_home = home.dir.path("home");
    let plugin = plugin_library().to_str().unwrap().to_string();
    let version = wireshark_version(&home.tshark);
    let out = Command::new(bin())
        .args([
            "install-plugin",
            "--plugin",
            &plugin,
            "--wireshark-version",
            &version,
            "--colors",
        ])
        .env("HOME", &user_home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // A drop late on its packet's path, for the tree.
    let drop = stdout(&home.tshark(&[
        "-2",
        "-r",
        file,
        "-Y",
        "pktmon.drop && pktmon.hop > 3",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]))
    .lines()
    .next()
    .expect("a drop with a path")
    .to_string();
    let shots = std::env::var_os("PKTMON_SCREENSHOTS")
        .map(|d| root().join(d))
        .unwrap_or_else(|| home.dir.path("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    let display = Display::start(&xvfb);
    let title = "mix.pcapng";

    // The main window on the drop, its PktMon tree opened, and the Statistics menu.
    {
        let w = Window::open(
            &wireshark,
            &user_home,
            &display,
            &["-r", file, "-g", &drop],
            home.dir.path("main.log"),
        );
        let main = display
            .wait_for(title, 90)
            .unwrap_or_else(|| panic!("no window {title:?}: {:?}\n{}", display.visible_windows(), w.stderr()));
        std::thread::sleep(Duration::from_secs(3));
        assert_only(&display, &[title], "main window");
        display.xdotool(&["windowmove", &main, "0", "0"]);
        display.xdotool(&["windowsize", &main, "1400", "1000"]);
        std::thread::sleep(Duration::from_secs(2));
        // Packet details: its first row, then the last one (PktMon, the tree being
        // collapsed), opened.
        display.xdotool(&["mousemove", "120", "545", "click", "1"]);
        std::thread::sleep(Duration::from_millis(500));
        display.xdotool(&["key", "End", "Right"]);
        std::thread::sleep(Duration::from_secs(1));
        display.screenshot("root", &shots.join("plugin-window.png"));
        // Statistics > PktMon Drops, through the menu.
        display.xdotool(&["mousemove", "330", "10", "click", "1"]);
        std::thread::sleep(Duration::from_secs(1));
        display.xdotool(&["mousemove", "365", "311"]);
        std::thread::sleep(Duration::from_millis(500));
        display.screenshot("root", &shots.join("plugin-statistics-menu.png"));
        display.xdotool(&["click", "1"]);
        let dialog = format!("Wireshark · PktMon Drops · {title}");
        display.wait_for(&dialog, 30).unwrap_or_else(|| {
            panic!(
                "Statistics > PktMon Drops opened no {dialog:?}: {:?}",
                display.visible_windows()
            )
        });
        std::thread::sleep(Duration::from_secs(2));
        assert_only(&display, &[title, &dialog], "Statistics > PktMon Drops");
        assert_no_errors(&w.stderr(), "main window");
    }

    // Expert Information and Statistics > PktMon Drops, each opened with -z as the menus would.
    for (arg, dialog, shot) in [
        ("expert", "Expert Information", "plugin-expert.png"),
        ("pktmon,drops", "PktMon Drops", "plugin-drops.png"),
    ] {
        let w = Window::open(
            &wireshark,
            &user_home,
            &display,
            &["-r", file, "-z", arg],
            home.dir.path("dialog.log"),
        );
        let name = format!("Wireshark · {dialog} · {title}");
        let id = display
            .wait_for(&name, 90)
            .unwrap_or_else(|| panic!("no {name:?}: {:?}\n{}", display.visible_windows(), w.stderr()));
        std::thread::sleep(Duration::from_secs(3));
        assert_only(&display, &[title, &name], dialog);
        display.xdotool(&["windowmove", &id, "0", "0"]);
        display.xdotool(&["windowsize", &id, "900", "420"]);
        std::thread::sleep(Duration::from_secs(1));
        if arg == "expert" {
            // Open the PktMon group (fourth row) to list the drops.
            display.xdotool(&["mousemove", "21", "92", "click", "1"]);
            std::thread::sleep(Duration::from_secs(1));
        }
        display.screenshot(&id, &shots.join(shot));
        assert_no_errors(&w.stderr(), dialog);
    }
    eprintln!("screenshots in {}", shots.display());
}

#[test]
fn the_wireshark_window_opens_a_pktmon_etl_itself() {
    // PktMon's own ETL: no conversion.
    let Some(WindowSetup {
        wireshark,
        xvfb,
        home,
        capture,
    }) = window_setup("window-etl", "etl")
    else {
        return;
    };
    let file = capture.to_str().unwrap();
    let drop = stdout(&home.tshark(&[
        "-2",
        "-r",
        file,
        "-Y",
        "pktmon.drop && pktmon.hop > 3",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]))
    .lines()
    .next()
    .expect("a drop with a path, read from the ETL by tshark")
    .to_string();
    let shots = std::env::var_os("PKTMON_SCREENSHOTS")
        .map(|d| root().join(d))
        .unwrap_or_else(|| home.dir.path("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    let display = Display::start(&xvfb);
    let title = "mix.etl";
    let user_home = home.dir.path("home");
    let w = Window::open(
        &wireshark,
        &user_home,
        &display,
        &["-r", file, "-g", &drop],
        home.dir.path("etl.log"),
    );
    let main = display
        .wait_for(title, 90)
        .unwrap_or_else(|| panic!("no window {title:?}: {:?}\n{}", display.visible_windows(), w.stderr()));
    std::thread::sleep(Duration::from_secs(3));
    // No error dialog: the file opened.
    assert_only(&display, &[title], "main window on the ETL");
    display.xdotool(&["windowmove", &main, "0", "0"]);
    display.xdotool(&["windowsize", &main, "1400", "1000"]);
    std::thread::sleep(Duration::from_secs(2));
    display.xdotool(&["mousemove", "120", "545", "click", "1"]);
    std::thread::sleep(Duration::from_millis(500));
    display.xdotool(&["key", "End", "Right"]);
    std::thread::sleep(Duration::from_secs(1));
    display.screenshot("root", &shots.join("plugin-window-etl.png"));
    // File > Open: its "Files of type" list names the reader ("PktMon ETL (*.etl)", last).
    display.xdotool(&["mousemove", "19", "11", "click", "1"]);
    std::thread::sleep(Duration::from_secs(1));
    display.xdotool(&["mousemove", "51", "34", "click", "1"]);
    let open = "Wireshark · Open Capture File";
    display
        .wait_for(open, 30)
        .unwrap_or_else(|| panic!("File > Open opened no {open:?}: {:?}", display.visible_windows()));
    std::thread::sleep(Duration::from_secs(2));
    display.xdotool(&["mousemove", "690", "554", "click", "1"]);
    std::thread::sleep(Duration::from_secs(2));
    display.screenshot("root", &shots.join("plugin-open-etl.png"));
    assert_no_errors(&w.stderr(), "main window on the ETL");
    eprintln!("screenshot in {}", shots.display());
}
