//! Every command streams: on a capture whose packets (their bytes alone) are
//! larger than a memory limit set on the command (RLIMIT_DATA through `ulimit
//! -d`: heap and private writable mappings, the memory a kept capture would
//! take), each of `drops`, `info`, `components`, `txt`, `dedup`, `convert`
//! and `diagnose` finishes and prints what it prints without a limit.
//!
//! The limits: 32 MiB for pcapng and etl2txt text (about 40 MB of packet
//! bytes each; the text file is 130 MB). A PktMon ETL is read one
//! relogged 16 MiB buffer per CPU at a time, plus one decompressed ahead and
//! a spare (4 CPUs here: 96 MiB of buffers), so its limit is 160 MiB, for a
//! capture of about 167 MB of packet bytes (a 48 MB file).

use std::path::Path;
use std::process::{Command, Output};

use pktmon_tests::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the binary under `ulimit -d` (KiB).
fn run_limited(limit_kib: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -d {limit_kib} && exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .output()
        .expect("sh runs")
}

/// Payload bytes of a capture, as `bench-read` counts them.
fn payload_bytes(f: &Path) -> u64 {
    let out = run(&["bench-read", s(f)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // "204400 appearances (172000000 payload bytes), 74 other records in 0.4 s"
    text.split('(')
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bench-read said {text:?}"))
}

fn generate(dir: &TempDir, packets: &str, format: &str) {
    let out = run(&[
        "generate",
        "--scenario",
        "mix",
        "--seed",
        "5",
        "--packets",
        packets,
        "--pkt-size",
        "0",
        "--format",
        format,
        "-o",
        s(&dir.0),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Each command under the limit: status 0 and its output; with `compare`, the
/// same standard output as without a limit (for commands writing a file, the
/// same file). Comparing doubles the runs, so the slower inputs (text is read
/// at about 100 MB/s) only check that each command finishes with its output.
fn every_command_within(f: &Path, limit_kib: u64, dir: &TempDir, compare: bool) {
    let bytes = payload_bytes(f);
    assert!(
        bytes > limit_kib * 1024,
        "{}: {bytes} bytes of packets, not more than the {limit_kib} KiB limit",
        f.display()
    );
    let free = dir.path("free.pcapng");
    let limited = dir.path("limited.pcapng");
    let commands: Vec<Vec<&str>> = vec![
        vec!["drops", s(f)],
        vec!["drops", s(f), "--format", "json"],
        vec!["info", s(f)],
        vec!["components", s(f)],
        vec!["txt", s(f)],
        vec!["diagnose", s(f)],
        vec!["convert", s(f), "-o"],
        vec!["dedup", s(f), "-o"],
    ];
    for args in &commands {
        let writes = args.last() == Some(&"-o");
        let with = |out: &Path| {
            let mut a = args.clone();
            if writes {
                a.push(s(out));
            }
            a.iter().map(|x| x.to_string()).collect::<Vec<_>>()
        };
        let a_free = with(&free);
        let a_limited = with(&limited);
        let out = run_limited(limit_kib, &a_limited.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} under a {limit_kib} KiB limit on {} ({bytes} bytes of packets): {}",
            f.display(),
            stderr(&out)
        );
        assert!(stdout(&out).len() > 100 || writes, "{args:?}: {}", stdout(&out));
        if writes {
            let written = std::fs::metadata(&limited).map(|m| m.len()).unwrap_or(0);
            assert!(written > 1_000_000, "{args:?}: {written} bytes written");
        }
        if compare {
            let unlimited = run(&a_free.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(unlimited.status.success(), "{args:?}: {}", stderr(&unlimited));
            assert_eq!(
                stdout(&out),
                stdout(&unlimited),
                "{args:?}: output differs under the limit"
            );
            if writes {
                let (a, b) = (std::fs::read(&free).unwrap(), std::fs::read(&limited).unwrap());
                assert!(a == b, "{args:?}: the file written under the limit differs");
            }
        }
        let _ = std::fs::remove_file(&free);
        let _ = std::fs::remove_file(&limited);
    }
}

/// The limit is real: a command that kept every packet would not fit under it.
#[test]
fn the_limit_stops_a_program_that_holds_more() {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -d 32768 && head -c 100000000 /dev/zero | tail -c 50000000 > /dev/null")
        .output()
        .expect("sh runs");
    assert!(!out.status.success(), "tail holding 50 MB ran under a 32 MiB limit");
}

#[test]
fn every_command_streams_a_pcapng_larger_than_its_memory_limit() {
    let dir = TempDir::new("memory-pcapng");
    generate(&dir, "60000", "pcapng");
    every_command_within(&dir.path("mix.pcapng"), 32 * 1024, &dir, true);
}

#[test]
fn every_command_streams_etl2txt_text_larger_than_its_memory_limit() {
    let dir = TempDir::new("memory-text");
    generate(&dir, "55000", "txt");
    every_command_within(&dir.path("mix.utf8.txt"), 32 * 1024, &dir, false);
}

#[test]
fn every_command_streams_an_etl_larger_than_its_memory_limit() {
    let dir = TempDir::new("memory-etl");
    generate(&dir, "260000", "etl");
    every_command_within(&dir.path("mix.etl"), 160 * 1024, &dir, false);
}
