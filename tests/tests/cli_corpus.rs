//! The binary on real PktMon captures: what issue "read PktMon captures
//! anywhere" must show, checked end to end.

use pktmon_tests::*;

#[test]
fn txt_of_vpn_etl_reproduces_every_pktmon_packet_line() {
    let (Some(etl), Some(txt)) = (corpus("vpn-PktMon.etl"), corpus("vpn-PktMon.txt")) else {
        return;
    };
    let out = run(&["txt", etl.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ours = stdout(&out);
    // pktmon wrote UTF-16LE with BOM and CRLF.
    let raw = std::fs::read(&txt).unwrap();
    assert_eq!(&raw[..2], &[0xFF, 0xFE]);
    let units: Vec<u16> = raw[2..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let theirs = String::from_utf16(&units).unwrap();
    let theirs: Vec<&str> = theirs
        .split("\r\n")
        .filter(|l| {
            l.contains("[Microsoft-Windows-PktMon] PktGroupId ") || l.contains("[Microsoft-Windows-PktMon] Drop: ")
        })
        .collect();
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(theirs.len(), 2705);
    assert_eq!(ours.len(), theirs.len());
    let same = ours.iter().zip(&theirs).filter(|(a, b)| a == b).count();
    assert_eq!(
        same,
        2705,
        "first difference: {:?}",
        ours.iter().zip(&theirs).find(|(a, b)| a != b)
    );
}

#[test]
fn txt_utf16_output_is_byte_for_byte_pktmons_line_encoding() {
    let Some(etl) = corpus("vpn-PktMon.etl") else { return };
    let dir = TempDir::new("txt16");
    let out_path = dir.path("out.txt");
    let out = run(&[
        "txt",
        etl.to_str().unwrap(),
        "--utf16",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&out_path).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE]);
    let units: Vec<u16> = bytes[2..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    assert_eq!(text.matches("\r\n").count(), 2705);
    assert!(text.starts_with("[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 562949953421313, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 \r\n"));
}

/// CORPUS.md's table of the 28 drops in finguard-PktMon.etl.
const FINGUARD_DROPS: [(u32, &str, &str, u16, u64); 7] = [
    (918, "Arbitration unhandled", "0xE0004134", 101, 6),
    (1204, "INET: transport endpoint was not found", "0xE0004500", 101, 6),
    (1204, "INET: transport endpoint was not found", "0xE0004704", 101, 6),
    (1210, "INET: received RST", "0xE000450A", 101, 6),
    (204, "Unsupported EtherType", "0xE0001007", 12, 2),
    (1210, "INET: received RST", "0xE0004516", 101, 1),
    (1217, "INET: duplicate segment", "0xE0004513", 101, 1),
];

#[test]
fn drops_of_finguard_are_exactly_the_28_of_the_corpus_table() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let out = run(&["drops", etl.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let mut got: Vec<(u32, String, String, u16, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["reason"].as_u64().unwrap() as u32,
                r["reason_text"].as_str().unwrap().to_string(),
                r["location"].as_str().unwrap().to_string(),
                r["component"].as_u64().unwrap() as u16,
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(u32, String, String, u16, u64)> = FINGUARD_DROPS
        .iter()
        .map(|&(r, t, l, c, n)| (r, t.to_string(), l.to_string(), c, n))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(got.iter().map(|r| r.4).sum::<u64>(), 28);
    // Components are named as the ETL's own table names them, directions are Rx.
    for r in rows {
        let name = r["component_name"].as_str().unwrap();
        match r["component"].as_u64().unwrap() {
            101 => assert_eq!(
                (name, r["component_description"].as_str().unwrap()),
                ("tcpip.sys", "TCP/IPv4 - L3/L4")
            ),
            12 => assert_eq!(name, "rtwlane601.sys"),
            other => panic!("unexpected component {other}"),
        }
        assert_eq!(r["direction"], "Rx");
    }
}

#[test]
fn drops_csv_and_table_carry_the_same_counts() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let csv = stdout(&run(&["drops", etl.to_str().unwrap(), "--format", "csv"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "file,reason,reason_text,location,location_name,component,component_name,component_description,direction,category,count"
    );
    let counts: u64 = lines
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(counts, 28);
    let table = stdout(&run(&["drops", etl.to_str().unwrap()]));
    assert!(table.contains("0xE0004500"), "{table}");
    assert!(table.contains("INET: duplicate segment"));
}

#[test]
fn info_reports_what_corpus_md_says_of_each_etl() {
    let cases = [
        ("demikernel-PktMon.etl", 20348, 114, 0, 38, 44),
        ("finguard-PktMon.etl", 26200, 378, 28, 406, 134),
        ("vpn-PktMon.etl", 19042, 2705, 0, 260, 141),
        ("rundown-only-PktMon.etl", 22621, 0, 0, 0, 161),
    ];
    for (name, build, flows, drops, distinct, components) in cases {
        let Some(etl) = corpus(name) else { continue };
        let out = run(&["info", "--json", etl.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let r = &v[0];
        assert_eq!(r["windows_build"], build, "{name}");
        assert_eq!(r["flow_events"], flows, "{name}");
        assert_eq!(r["drop_events"], drops, "{name}");
        assert_eq!(r["distinct_pktmon_packets"], distinct, "{name}");
        assert_eq!(r["components_known"], components, "{name}");
        assert_eq!(r["events_lost"], 0, "{name}");
    }
}

#[test]
fn bad_inputs_fail_with_the_file_named_and_exit_code_2() {
    let dir = TempDir::new("bad");
    let random = dir.path("random.etl");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let empty = dir.path("empty.etl");
    std::fs::write(&empty, b"").unwrap();
    for (path, needle) in [
        (random.clone(), "not a PktMon capture"),
        (empty.clone(), "empty"),
        (dir.0.clone(), "directory"),
        (dir.path("missing.etl"), "missing.etl"),
    ] {
        for cmd in ["info", "drops", "txt"] {
            let out = run(&[cmd, path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(2), "{cmd} {}", path.display());
            let err = stderr(&out);
            assert!(err.contains(&*path.to_string_lossy()), "{cmd}: {err}");
            assert!(err.contains(needle), "{cmd}: {err}");
        }
    }
}

#[test]
fn convert_refuses_to_overwrite_its_input_and_leaves_no_partial_output() {
    let dir = TempDir::new("noclobber");
    let etl = dir.path("a.etl");
    std::fs::copy(capture("demikernel-PktMon.etl"), &etl).unwrap();
    let before = std::fs::read(&etl).unwrap();
    let out = run(&["convert", etl.to_str().unwrap(), "-o", etl.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("refusing to overwrite"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&etl).unwrap(), before);
    // A failed conversion leaves nothing behind.
    let bad = dir.path("bad.etl");
    std::fs::write(&bad, b"not an etl at all, just text").unwrap();
    let target = dir.path("out.pcapng");
    let out = run(&["convert", bad.to_str().unwrap(), "-o", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[cfg(unix)]
#[test]
fn convert_streams_into_a_pipe_the_same_bytes_it_writes_to_a_file() {
    use std::os::unix::fs::FileTypeExt;
    let dir = TempDir::new("stream");
    let etl = capture("demikernel-PktMon.etl");
    let file = dir.path("out.pcapng");
    let out = run(&["convert", etl.to_str().unwrap(), "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Run with stdout a pipe: /dev/stdout is the pipe, written directly, not replaced.
    let piped = run(&["convert", etl.to_str().unwrap(), "-o", "/dev/stdout"]);
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    let written = std::fs::read(&file).unwrap();
    assert!(written.len() > 10_000, "{} bytes", written.len());
    assert!(
        piped.stdout == written,
        "pipe got {} bytes, file {}",
        piped.stdout.len(),
        written.len()
    );
    // Standard output redirected to a file: /dev/stdout leads to that file, which gets the
    // bytes; the /dev/stdout link itself is left alone.
    let redirected = dir.path("redirected.pcapng");
    let status = std::process::Command::new(pktmon_tests::bin())
        .args(["convert", etl.to_str().unwrap(), "-o", "/dev/stdout"])
        .stdout(std::fs::File::create(&redirected).unwrap())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        std::fs::read(&redirected).unwrap() == written,
        "redirected output differs"
    );
    if std::fs::symlink_metadata("/dev/stdout").is_ok_and(|m| m.file_type().is_symlink()) {
        let leftovers: Vec<_> = std::fs::read_dir("/dev")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".stdout."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
    assert!(
        std::fs::symlink_metadata("/dev/stdout").is_ok_and(|m| !m.is_file()),
        "/dev/stdout was replaced"
    );
    // /dev/null stays the device it was.
    let null = run(&["convert", etl.to_str().unwrap(), "-o", "/dev/null"]);
    assert_eq!(null.status.code(), Some(0), "{}", stderr(&null));
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
}
