//! The plugin's file reader: tshark opens a PktMon `.etl` itself, and shows
//! exactly what it shows for the same file converted to pcapng. Runs on the
//! host's Wireshark, and on 4.4 and 4.6 through
//! scripts/test-wireshark-versions.sh (`PKTMON_TSHARK_ROOT`, `PKTMON_PLUGIN_LIB`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pktmon_tests::*;

/// The bundled ETL and every ETL of the corpus (those absent are skipped, said once each).
fn etls() -> Vec<PathBuf> {
    let mut v = vec![capture("demikernel-PktMon.etl")];
    for name in ["finguard-PktMon.etl", "vpn-PktMon.etl", "rundown-only-PktMon.etl"] {
        v.extend(corpus(name));
    }
    v
}

/// Copies `src` into the home's directory (tshark may run inside a root) as `name`.
fn copy_in(home: &PluginHome, src: &Path, name: &str) -> PathBuf {
    let dst = home.dir.path(name);
    std::fs::copy(src, &dst).expect("copy capture");
    home.make_readable();
    dst
}

/// Frame, interface, time, length, comments, packet id, flags, verdict and
/// every `pktmon.*` field this tshark knows.
fn fields(home: &PluginHome, with_verdict: bool) -> Vec<String> {
    let mut f: Vec<String> = [
        "frame.number",
        "frame.time_epoch",
        "frame.interface_id",
        "frame.interface_name",
        "frame.interface_description",
        "frame.len",
        "frame.cap_len",
        "frame.encap_type",
        "frame.comment",
        "frame.packet_flags",
        "frame.packet_id",
        "frame.protocols",
    ]
    .map(String::from)
    .to_vec();
    if with_verdict {
        f.push("frame.verdict".into());
    }
    let all = stdout(&home.tshark(&["-G", "fields"]));
    f.extend(
        all.lines()
            .filter_map(|l| l.split('\t').nth(2))
            .filter(|name| name.starts_with("pktmon."))
            .map(String::from),
    );
    f
}

fn field_output(home: &PluginHome, file: &Path, fields: &[String]) -> (Output, Vec<Vec<String>>) {
    let mut args = vec!["-2", "-r", file.to_str().unwrap(), "-T", "fields"];
    for f in fields {
        args.push("-e");
        args.push(f);
    }
    let out = home.tshark(&args);
    let rows = field_rows(&out);
    (out, rows)
}

/// 4.0's pcapng writer mangles epb_verdict, so the reader leaves it out there.
fn reader_writes_verdicts(home: &PluginHome) -> bool {
    wireshark_version(&home.tshark) != "4.0"
}

#[test]
fn tshark_opens_every_etl_as_it_opens_the_converted_pcapng() {
    let Some(home) = PluginHome::new("wtap-same") else {
        return;
    };
    let verdicts = reader_writes_verdicts(&home);
    let all_fields = fields(&home, true);
    assert!(all_fields.len() > 35, "{all_fields:?}");
    let compared = fields(&home, verdicts);
    let mut drops_seen = 0;
    let inputs = etls();
    for etl in &inputs {
        let etl = etl.clone();
        let name = etl.file_name().unwrap().to_str().unwrap().to_string();
        let local = copy_in(&home, &etl, &name);
        let pcap = home.convert(&etl, &format!("{name}.pcapng"));
        let (o_etl, from_etl) = field_output(&home, &local, &compared);
        assert!(o_etl.status.success(), "{name}: {}", stderr(&o_etl));
        assert_eq!(stderr(&o_etl), "", "{name}");
        let (o_pcap, from_pcap) = field_output(&home, &pcap, &compared);
        assert!(o_pcap.status.success(), "{name}: {}", stderr(&o_pcap));
        let appearances = pktmon::source::read_capture(&etl).unwrap().appearances.len();
        assert_eq!(from_etl.len(), appearances, "{name}: one frame per appearance");
        for (i, (a, b)) in from_etl.iter().zip(&from_pcap).enumerate() {
            for (k, f) in compared.iter().enumerate() {
                assert_eq!(a.get(k), b.get(k), "{name}: frame {}, {f}", i + 1);
            }
        }
        assert_eq!(from_etl.len(), from_pcap.len(), "{name}");
        // The values compared are real ones: names, comments, packet ids, plugin fields.
        if appearances > 0 {
            let col = |f: &str| compared.iter().position(|c| c == f).unwrap();
            let first = &from_etl[0];
            assert!(!first[col("frame.interface_name")].is_empty(), "{name}: {first:?}");
            assert!(first[col("frame.comment")].contains("PktGroupId "), "{name}: {first:?}");
            assert!(!first[col("frame.packet_id")].is_empty(), "{name}");
            assert!(!first[col("pktmon.component_name")].is_empty(), "{name}");
            assert!(first[col("frame.protocols")].contains("pktmon"), "{name}");
            // Booleans print as 1 on 4.0, True later.
            let drops = from_etl
                .iter()
                .filter(|r| matches!(r[col("pktmon.drop")].as_str(), "1" | "True"))
                .count();
            let code_comments = from_etl
                .iter()
                .filter(|r| r[col("frame.comment")].contains("DropReasonCode "))
                .count();
            assert_eq!(drops, code_comments, "{name}: every drop carries its code");
            drops_seen += drops;
        }
        // On 4.0 the verdict is the one thing left out (the rest is compared above).
        if !verdicts {
            let v = all_fields.iter().position(|c| c == "frame.verdict").unwrap();
            let (_, rows) = field_output(&home, &local, &all_fields);
            assert!(rows.iter().all(|r| r[v].is_empty()), "{name}: 4.0 gets no verdict");
        }
    }
    // The bundled capture has no drop; the corpus does (finguard: 28).
    if inputs.iter().any(|p| p.ends_with("finguard-PktMon.etl")) {
        assert!(drops_seen >= 28, "{drops_seen}");
    }
    // Without the plugin tshark cannot read an ETL at all: the comparison above could fail.
    let local = copy_in(&home, &capture("demikernel-PktMon.etl"), "bare.etl");
    let bare = home.tshark_without_plugin(&["-r", local.to_str().unwrap()]);
    assert!(!bare.status.success());
    assert!(
        stderr(&bare).contains("isn't a capture file in a format"),
        "{}",
        stderr(&bare)
    );
}

#[test]
fn the_bundled_etls_frames_are_pktmons_own_bytes_and_save_as_pcapng_reads_back_the_same() {
    let Some(home) = PluginHome::new("wtap-bytes") else {
        return;
    };
    let etl = copy_in(&home, &capture("demikernel-PktMon.etl"), "demikernel.etl");
    let out = home.dir.path("saved.pcapng");
    let w = home.tshark(&["-r", etl.to_str().unwrap(), "-F", "pcapng", "-w", out.to_str().unwrap()]);
    assert!(w.status.success(), "{}", stderr(&w));
    // Frame bytes: those of PktMon's own etl2pcap output for the same capture.
    let saved = pktmon::source::read_capture(&out).unwrap();
    let cap = pktmon::source::read_capture(&capture("demikernel-PktMon.cap")).unwrap();
    assert_eq!(saved.appearances.len(), 114);
    assert_eq!(saved.appearances.len(), cap.appearances.len());
    for (i, (a, b)) in saved.appearances.iter().zip(&cap.appearances).enumerate() {
        assert_eq!(a.payload, b.payload, "frame {}", i + 1);
        // PktMon's etl2pcap keeps microseconds: the same time to within one.
        assert!((a.time - b.time).abs() < 10, "frame {}: {} {}", i + 1, a.time, b.time);
    }
    // What was saved keeps every PktMon detail: the analyzer reads components back from it.
    assert!(saved
        .appearances
        .iter()
        .all(|a| a.component_id.is_some() && a.group_id.is_some()));
    // And tshark shows the saved file as it shows the ETL.
    home.make_readable();
    let f = fields(&home, reader_writes_verdicts(&home));
    let (_, from_etl) = field_output(&home, &etl, &f);
    let (o, from_saved) = field_output(&home, &out, &f);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(from_etl, from_saved);
}

#[test]
fn content_decides_not_the_name_and_a_non_pktmon_etl_is_refused_by_name() {
    let Some(home) = PluginHome::new("wtap-content") else {
        return;
    };
    let bundled = capture("demikernel-PktMon.etl");
    // A PktMon ETL under another name is still read; a pcapng named .etl is still a pcapng.
    let renamed = copy_in(&home, &bundled, "capture.bin");
    let o = home.tshark(&["-r", renamed.to_str().unwrap(), "-T", "fields", "-e", "frame.comment"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 114);
    assert!(stdout(&o).starts_with("PktGroupId "));
    let pcap = home.convert(&bundled, "converted.pcapng");
    let disguised = copy_in(&home, &pcap, "disguised.etl");
    let o = home.tshark(&["-r", disguised.to_str().unwrap(), "-T", "fields", "-e", "frame.number"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 114);
    // Text named .etl: not claimed, tshark's own "unknown format".
    std::fs::write(home.dir.path("notes.etl"), "not a trace at all\n".repeat(20)).unwrap();
    home.make_readable();
    let o = home.tshark(&["-r", home.dir.path("notes.etl").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("isn't a capture file in a format"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("PktMon"), "{}", stderr(&o));
    // An ETL with no PktMon event or schema (what a kernel or netsh trace is to this reader).
    let options = pktmon::etl::writer::EtlWriterOptions {
        embed_schema: false,
        ..Default::default()
    };
    let other = pktmon::etl::writer::EtlWriter::new(options).finish();
    assert!(pktmon::etl::looks_like_etl(&other));
    std::fs::write(home.dir.path("kernel.etl"), other).unwrap();
    home.make_readable();
    let o = home.tshark(&["-r", home.dir.path("kernel.etl").to_str().unwrap()]);
    assert!(!o.status.success());
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(
        err.contains("kernel.etl is an ETL trace but not a PktMon capture"),
        "{err}"
    );
}

#[test]
fn a_cut_or_damaged_etl_shows_every_frame_before_the_damage_then_names_it() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let Some(home) = PluginHome::new("wtap-damaged") else {
        return;
    };
    let bytes = std::fs::read(&etl).unwrap();
    // Cut inside its second data buffer: the first's frames, then "cut short".
    let cut = home.dir.path("cut.etl");
    std::fs::write(&cut, &bytes[..40_000]).unwrap();
    home.make_readable();
    let want = pktmon::source::read_capture(&cut).unwrap().appearances.len();
    assert!(want > 0 && want < 406, "{want}");
    // (tshark's exit code for a read error: 2 up to 4.4, 14 on 4.6.)
    let o = home.tshark(&["-r", cut.to_str().unwrap(), "-T", "fields", "-e", "frame.number"]);
    assert!(!o.status.success());
    assert_eq!(stdout(&o).lines().count(), want);
    assert!(stderr(&o).contains("appears to have been cut short"), "{}", stderr(&o));
    // Cut inside its first buffer: no frame, "cut short", not "unknown format".
    let stub = home.dir.path("stub.etl");
    std::fs::write(&stub, &bytes[..300]).unwrap();
    home.make_readable();
    let o = home.tshark(&["-r", stub.to_str().unwrap()]);
    assert!(!o.status.success());
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("cut short"), "{}", stderr(&o));
    // Compressed data damaged: Wireshark's "damaged or corrupt", with the reader's offset.
    let mut flipped = bytes.clone();
    for i in (33_000..33_400).step_by(7) {
        flipped[i] ^= 0x5A;
    }
    let bad = home.dir.path("flipped.etl");
    std::fs::write(&bad, &flipped).unwrap();
    home.make_readable();
    let want = pktmon::source::read_capture(&bad).unwrap().appearances.len();
    let o = home.tshark(&["-r", bad.to_str().unwrap(), "-T", "fields", "-e", "frame.number"]);
    assert!(!o.status.success());
    assert_eq!(stdout(&o).lines().count(), want);
    let err = stderr(&o);
    assert!(err.contains("appears to be damaged or corrupt"), "{err}");
    assert!(err.contains("PktMon ETL reader: at offset "), "{err}");
}

/// A seeded variant of `bytes`: cut at a random point or with random bytes flipped.
fn variant(bytes: &[u8], seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut v = bytes.to_vec();
    match seed % 3 {
        0 => v.truncate((next() % bytes.len() as u64) as usize),
        1 => {
            // A few bytes anywhere (headers included).
            for _ in 0..1 + next() % 8 {
                let i = (next() % v.len() as u64) as usize;
                v[i] ^= (next() % 255 + 1) as u8;
            }
        }
        _ => {
            // Like `editcap -E 0.02`: each byte past the first buffer header changed with probability 2%.
            for b in v.iter_mut().skip(0x48) {
                if next() % 50 == 0 {
                    *b ^= (next() % 255 + 1) as u8;
                }
            }
        }
    }
    v
}

/// Runs tshark with the plugin, killed after `limit`: (output, hung).
fn tshark_within(home: &PluginHome, args: &[&str], limit: Duration) -> (Option<std::process::ExitStatus>, bool) {
    let dir = home.dir.0.join("home");
    let mut cmd: Command = wireshark_command(&home.tshark, &dir);
    cmd.args(args.iter().map(|a| inside(Path::new(a)).display().to_string()));
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("tshark runs");
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return (Some(st), false);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `variants` corrupt variants of every ETL through `tshark -2 -V` with the
/// reader: none may crash (killed by a signal: a fault, an abort, an
/// assertion) or hang. Read errors are fine; their exit code varies by version.
fn corrupted_etls(variants: u64) {
    let Some(home) = PluginHome::new("wtap-fuzz") else {
        return;
    };
    let inputs: Vec<Vec<u8>> = etls().iter().map(|p| std::fs::read(p).unwrap()).collect();
    let work: Vec<u64> = (0..variants).collect();
    let bad: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = work
            .chunks(work.len().div_ceil(2).max(1))
            .map(|chunk| {
                let (home, inputs) = (&home, &inputs);
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for &seed in chunk {
                        let input = &inputs[(seed as usize) % inputs.len()];
                        let v = home.dir.path(&format!("v{seed}.etl"));
                        std::fs::write(&v, variant(input, seed)).unwrap();
                        let _ = Command::new("chmod").arg("a+r").arg(&v).status();
                        let args = ["-2", "-V", "-r", v.to_str().unwrap()];
                        let (status, hung) = tshark_within(home, &args, Duration::from_secs(60));
                        let crashed = status.is_some_and(|st| {
                            use std::os::unix::process::ExitStatusExt;
                            st.signal().is_some() || st.code().is_none_or(|c| c >= 128)
                        });
                        if hung || crashed {
                            bad.push(format!("seed {seed}: {}", if hung { "hung" } else { "crashed" }));
                            let _ = std::fs::copy(&v, std::env::temp_dir().join(format!("pktmon-wtap-bad-{seed}.etl")));
                        }
                        let _ = std::fs::remove_file(&v);
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(
        bad.is_empty(),
        "tshark with the reader: {bad:?} (variants kept in the temp dir)"
    );
}

#[test]
fn corrupted_etls_never_crash_or_hang_tshark() {
    corrupted_etls(24);
}

/// The whole comparison of the issue: 500 variants (about 3 minutes on 2 cores).
/// `cargo test --release -p pktmon-tests --test plugin_wiretap -- --ignored`.
#[test]
#[ignore]
fn five_hundred_corrupted_etls_never_crash_or_hang_tshark() {
    corrupted_etls(500);
}
