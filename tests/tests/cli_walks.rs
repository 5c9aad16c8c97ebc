//! Folder walks of `diagnose`: symbolic links, FIFOs, files that are not captures.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pktmon_tests::*;
use serde_json::Value;

/// Runs the binary, killing it after `limit` (a walk that blocks on a FIFO or
/// loops must fail the test, not hang it).
fn run_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pktmon-analyzer runs");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pktmon-analyzer {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn inputs_of(out: &Output) -> Vec<String> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)));
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["file"].as_str().unwrap().to_string())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[cfg(unix)]
#[test]
fn a_link_back_up_the_tree_is_reported_once_and_each_file_diagnosed_once() {
    use std::os::unix::fs::symlink;
    let dir = TempDir::new("walk-links");
    let top = dir.path("top");
    std::fs::create_dir_all(top.join("sub/deeper")).unwrap();
    let etl = top.join("sub/a.etl");
    std::fs::copy(capture("demikernel-PktMon.etl"), &etl).unwrap();
    symlink("../..", top.join("sub/deeper/up")).unwrap(); // back to top: a cycle
    symlink("..", top.join("sub/parent")).unwrap(); // back to top again
    symlink("../..", top.join("sub/outside")).unwrap(); // above the walk: would widen it
    symlink("sub", top.join("alias")).unwrap(); // a second way to the same folder
    symlink("sub/a.etl", top.join("b.etl")).unwrap(); // a second name for the same file
    symlink("nowhere.etl", top.join("dangling.etl")).unwrap();
    std::fs::write(dir.path("beside-the-walk.txt"), b"not to be read").unwrap();

    let out = run_within(&["diagnose", s(&top), "--json", "-"], Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(inputs_of(&out), vec![etl.display().to_string()], "{err}");
    for link in ["sub/deeper/up", "sub/parent", "sub/outside"] {
        let warning = format!("warning: {}: symbolic link to ", top.join(link).display());
        assert_eq!(err.matches(&warning).count(), 1, "{link}: {err}");
    }
    assert_eq!(err.matches("leads back up the folder walk").count(), 3, "{err}");
    assert!(
        err.contains(&format!(
            "skipped {}: symbolic link leads nowhere",
            top.join("dangling.etl").display()
        )),
        "{err}"
    );
    assert!(!err.contains("beside-the-walk"), "{err}");
    assert!(!err.contains("error"), "{err}");
}

#[cfg(unix)]
#[test]
fn the_same_file_through_a_link_to_its_folder_is_diagnosed_once_under_its_own_path() {
    use std::os::unix::fs::symlink;
    let dir = TempDir::new("walk-alias");
    std::fs::create_dir_all(dir.path("real")).unwrap();
    std::fs::copy(capture("demikernel-PktMon.etl"), dir.path("real/x.etl")).unwrap();
    std::fs::copy(capture("demikernel-PktMon.cap"), dir.path("real/y.cap")).unwrap();
    // "a-link" sorts before "real": the file must still be named by its real path.
    symlink("real", dir.path("a-link")).unwrap();
    let out = run_within(&["diagnose", s(&dir.0), "--json", "-"], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        inputs_of(&out),
        vec![
            dir.path("real/x.etl").display().to_string(),
            dir.path("real/y.cap").display().to_string()
        ]
    );
    // Named twice on the command line, by two paths: still once.
    let out = run_within(
        &[
            "diagnose",
            s(&dir.path("real/x.etl")),
            s(&dir.path("a-link/x.etl")),
            "--json",
            "-",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(inputs_of(&out), vec![dir.path("real/x.etl").display().to_string()]);
}

#[cfg(unix)]
#[test]
fn a_fifo_in_a_folder_is_skipped_with_a_note_instead_of_blocking() {
    let dir = TempDir::new("walk-fifo");
    std::fs::copy(capture("demikernel-PktMon.etl"), dir.path("a.etl")).unwrap();
    let fifo = dir.path("pipe.etl");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    // Opening a FIFO nobody writes to blocks forever: the walk must not open it.
    let out = run_within(&["diagnose", s(&dir.0), "--json", "-"], Duration::from_secs(30));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("skipped ")).collect::<Vec<_>>(),
        vec![format!("skipped {}: a FIFO, not a regular file", fifo.display())]
    );
    assert_eq!(inputs_of(&out), vec![dir.path("a.etl").display().to_string()]);
}

#[test]
fn files_of_a_folder_that_are_not_captures_are_skipped_in_one_line_each() {
    let dir = TempDir::new("walk-readme");
    std::fs::copy(capture("demikernel-PktMon.etl"), dir.path("a.etl")).unwrap();
    std::fs::write(dir.path("README.md"), b"# Captures of host A\n\nTaken on Monday.\n").unwrap();
    std::fs::write(dir.path("notes.txt"), b"pktmon start --capture --comp nics\n").unwrap();
    let out = run_within(&["diagnose", s(&dir.0), "--json", "-"], Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        vec![
            format!("skipped {}: not a capture", dir.path("README.md").display()),
            format!("skipped {}: not a capture", dir.path("notes.txt").display()),
        ]
    );
    assert_eq!(inputs_of(&out), vec![dir.path("a.etl").display().to_string()]);

    // A damaged capture in the same folder still fails the run, with its name.
    let damaged = dir.path("cut.etl");
    let bytes = std::fs::read(capture("demikernel-PktMon.etl")).unwrap();
    std::fs::write(&damaged, &bytes[..300]).unwrap();
    let out = run_within(&["diagnose", s(&dir.0)], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("error: {}", damaged.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).matches("not a capture").count(), 2, "{}", stderr(&out));

    // Named on the command line, a file that is not a capture is an error.
    let out = run(&["diagnose", s(&dir.path("README.md"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a PktMon capture"), "{}", stderr(&out));
}
