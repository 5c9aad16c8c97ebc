//! Every command ends quietly with status 0 when its reader goes away
//! (`pktmon-analyzer txt X | head -1`).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use pktmon_tests::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the binary with standard output (and, with `stderr_too`, standard
/// error) a pipe whose reading end is already closed: the first write fails.
fn run_into_closed_pipe(args: &[&str], stderr_too: bool) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pktmon-analyzer runs");
    drop(child.stdout.take());
    let mut captured = Vec::new();
    let mut err = child.stderr.take().unwrap();
    if stderr_too {
        drop(err);
    } else {
        let _ = err.read_to_end(&mut captured);
    }
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: Vec::new(),
        stderr: captured,
    }
}

#[test]
fn every_command_ends_quietly_with_status_0_when_its_reader_goes_away() {
    let dir = TempDir::new("closed-pipe");
    let generated = run(&[
        "generate",
        "--scenario",
        "mix",
        "--seed",
        "1",
        "--format",
        "etl",
        "-o",
        s(&dir.0),
    ]);
    assert!(generated.status.success(), "{}", stderr(&generated));
    let mix = dir.path("mix.etl");
    let etl = capture("demikernel-PktMon.etl");
    let commands: Vec<Vec<&str>> = vec![
        vec!["info", s(&etl)],
        vec!["info", "--json", s(&mix)],
        vec!["components", s(&etl)],
        vec!["drops", s(&mix)],
        vec!["drops", s(&mix), "--format", "json"],
        vec!["txt", s(&mix)],
        vec!["events", s(&mix)],
        vec!["diagnose", s(&mix)],
        vec!["diagnose", s(&dir.0), "--json", "-"],
        vec!["convert", s(&mix), "-o", "/dev/stdout"],
        vec!["--help"],
    ];
    for args in &commands {
        for stderr_too in [false, true] {
            let out = run_into_closed_pipe(args, stderr_too);
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?} (stderr closed: {stderr_too}): {err}"
            );
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        }
    }
    // And through a shell as people write it, where pipefail makes the status count.
    for cmd in ["txt", "diagnose", "drops", "events"] {
        let line = format!(
            "set -o pipefail; '{}' {cmd} '{}' | head -n 1",
            bin().display(),
            mix.display()
        );
        let out = Command::new("bash").args(["-c", &line]).output().expect("bash runs");
        assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1, "{line}");
        assert!(!stderr(&out).contains("panicked"), "{line}: {}", stderr(&out));
    }
}
