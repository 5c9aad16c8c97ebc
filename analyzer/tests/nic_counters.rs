//! Network adapter counter snapshots (issue #19): the fixtures written from
//! Microsoft's documented forms (`Get-NetAdapterStatistics | ConvertTo-Json`
//! as Windows PowerShell 5.1 and PowerShell 7 write it, typeperf CSV) read
//! value by value; their join to the bundled capture's adapters by ifIndex,
//! description (name), typeperf instance name and MAC; snapshots that match
//! nothing, counters that went down, one snapshot alone; and the verdict,
//! on screen, in JSON and in HTML, of the generator's nic-discard scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

use pktmon::diagnose::nic::{join, NicReport};
use pktmon::diagnose::{Cause, Locality};
use pktmon::generate::files::{self, Format};
use pktmon::generate::{GenOptions, Scenario};
use pktmon::nic::{read, read_bytes, Change, Counter, NicSet};

const BIN: &str = env!("CARGO_BIN_EXE_pktmon-analyzer");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nic")
        .join(name)
}

fn capture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/demikernel-PktMon.etl")
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("pktmon-nic-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// Copies files in; returns their new paths.
    fn with(&self, files: &[PathBuf]) -> Vec<PathBuf> {
        files
            .iter()
            .map(|f| {
                let to = self.0.join(f.file_name().unwrap());
                std::fs::copy(f, &to).unwrap();
                to
            })
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The bundled capture joined to these snapshot files.
fn joined(files: &[PathBuf]) -> NicReport {
    let c = pktmon::source::read_capture(&capture_path()).unwrap();
    let set = NicSet::read(files);
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let first = c.appearances.iter().map(|a| a.time).min();
    let last = c.appearances.iter().map(|a| a.time).max();
    join(&set, &c.components, &c.drop_counters, &c.flow_counters, first.zip(last))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn utf16_bom(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

#[test]
fn powershell_51_json_array_in_utf16le_reads_every_documented_property() {
    let bytes = std::fs::read(fixture("ps51-before.json")).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "the fixture is UTF-16LE with BOM");
    assert!(pktmon::nic::looks_like_snapshot(&bytes[..4096]));
    let s = read(&fixture("ps51-before.json")).unwrap();
    assert_eq!(s.len(), 1);
    let s = &s[0];
    assert_eq!(s.form, "json");
    assert_eq!(s.time, None, "Get-NetAdapterStatistics has no time of its own");
    assert_eq!(s.adapters.len(), 4);
    let vf = &s.adapters[1];
    assert_eq!(vf.name.as_deref(), Some("Ethernet 4"));
    assert_eq!(
        vf.description.as_deref(),
        Some("Mellanox ConnectX-4 Lx Virtual Ethernet Adapter #2")
    );
    assert_eq!(vf.if_index, None);
    assert_eq!(vf.counters[&Counter::ReceivedDiscarded], 3078);
    assert_eq!(vf.counters[&Counter::ReceivedErrors], 0);
    assert_eq!(vf.counters[&Counter::OutboundDiscarded], 0);
    assert_eq!(vf.counters[&Counter::OutboundErrors], 0);
    assert_eq!(vf.counters[&Counter::ReceivedBytes], 71_233_904_512);
    // Unicast + multicast + broadcast.
    let hv = &s.adapters[0];
    assert_eq!(hv.counters[&Counter::ReceivedPackets], 1_842_201 + 5_120 + 880);
    assert_eq!(hv.counters[&Counter::SentPackets], 1_799_334 + 410 + 12);
}

#[test]
fn powershell_7_single_object_in_utf8_with_get_netadapter_fields() {
    let bytes = std::fs::read(fixture("pwsh7-single.json")).unwrap();
    assert_eq!(bytes[0], b'{', "UTF-8 without BOM, one object");
    let s = read(&fixture("pwsh7-single.json")).unwrap();
    let a = &s[0].adapters[0];
    assert_eq!(a.if_index, Some(5));
    assert_eq!(a.mac_bytes(), Some([0x00, 0x22, 0x48, 0x7B, 0xB3, 0x80]));
    assert_eq!(a.name.as_deref(), Some("Ethernet 3"));
    assert_eq!(a.counters[&Counter::ReceivedDiscarded], 12);
    // The same object from Windows PowerShell 5.1 (UTF-16LE, BOM) and as `ConvertTo-Json`'s wrapped collection.
    let text = std::fs::read_to_string(fixture("pwsh7-single.json")).unwrap();
    let again = read_bytes("x.json", &utf16_bom(&text)).unwrap();
    assert_eq!(again[0].adapters, s[0].adapters);
    let wrapped = format!("{{\"value\": [{text}], \"Count\": 1}}");
    assert_eq!(
        read_bytes("w.json", wrapped.as_bytes()).unwrap()[0].adapters,
        s[0].adapters
    );
}

#[test]
fn typeperf_csv_rows_are_snapshots_with_utc_times() {
    let s = read(&fixture("typeperf.csv")).unwrap();
    assert_eq!(s.len(), 3, "three sample rows");
    assert_eq!(s[0].form, "typeperf_csv");
    assert_eq!(s[0].line, Some(2));
    assert_eq!(s[0].time_utc.as_deref(), Some("2024-06-10T20:18:30.1120000Z"));
    assert_eq!(s[2].time_utc.as_deref(), Some("2024-06-10T20:19:00.1210000Z"));
    assert_eq!(s[0].adapters.len(), 3);
    let vf = &s[2].adapters[1];
    assert_eq!(
        vf.instance.as_deref(),
        Some("Mellanox ConnectX-4 Lx Virtual Ethernet Adapter _2")
    );
    assert_eq!(vf.counters[&Counter::ReceivedErrors], 37);
    assert_eq!(
        vf.counters.len(),
        4,
        "the Packets Received/sec rate is not a total and is left out"
    );
    // Pacific Daylight Time: the header's bias (420 minutes) makes local 13:18:30 UTC 20:18:30.
    let r = read(&fixture("typeperf-reset.csv")).unwrap();
    assert_eq!(r[0].time_utc.as_deref(), Some("2024-06-10T20:18:30.0000000Z"));
}

#[test]
fn join_by_name_description_gives_a_local_resources_finding_with_pktmon_counts() {
    let r = joined(&[fixture("ps51-before.json"), fixture("ps51-after.json")]);
    let s = &r.summary;
    assert_eq!(s.order, "file_names");
    assert_eq!(s.adapters.len(), 4);
    let vf = s.adapters.iter().find(|a| a.adapter.starts_with("Mellanox")).unwrap();
    assert_eq!(vf.component, Some(48));
    assert_eq!(vf.joined_by, Some("description"));
    assert_eq!(vf.status, "loss");
    assert_eq!(
        vf.changes[&Counter::ReceivedDiscarded],
        Change::Rose {
            before: 3078,
            after: 4952,
            delta: 1874
        }
    );
    // PktMon's own counts at that adapter during the capture (event 90 says 0 received, 19 sent there).
    assert_eq!(vf.capture_received, Some(0));
    assert_eq!(vf.capture_sent, Some(19));
    assert_eq!(vf.capture_drops_in, Some(0));
    let hv = s.adapters.iter().find(|a| a.adapter.ends_with("#3")).unwrap();
    // Two components share that description (netvsc.sys 59 and NetVsc.sys 58): the one packets passed.
    assert_eq!(hv.component, Some(59));
    assert_eq!(hv.status, "clean");
    assert_eq!(hv.changes[&Counter::ReceivedDiscarded], Change::Unchanged { value: 12 });
    assert!(hv.line.contains("clean, no discards or errors"), "{}", hv.line);
    assert_eq!(hv.capture_received, Some(19));
    // The loopback adapter is in no component of the capture: reported, not dropped.
    assert_eq!(s.unmatched, vec!["Npcap Loopback Adapter".to_string()]);
    let npcap = s.adapters.iter().find(|a| a.adapter.starts_with("Npcap")).unwrap();
    assert!(
        npcap.line.contains("matches no adapter of the capture"),
        "{}",
        npcap.line
    );
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!((f.locality, f.cause), (Locality::Local, Cause::Resources));
    assert_eq!(f.count, 1874);
    assert_eq!(f.symptom, "adapter discards");
    assert_eq!(f.drops[0].0.component, Some(48));
    assert_eq!(f.drops[0].0.direction, "Rx");
    assert!(f.explanation.contains("from 3,078 to 4,952"), "{}", f.explanation);
    assert!(
        f.explanation.contains("PktMon counted 0 packets received"),
        "{}",
        f.explanation
    );
    assert!(f
        .next_step
        .contains("Get-NetAdapterAdvancedProperty -Name \"Ethernet 4\""));
    assert!(f.next_step.contains("Get-NetAdapterRss"));
}

#[test]
fn join_by_if_index_and_one_snapshot_gives_totals_since_boot() {
    let r = joined(&[fixture("pwsh7-single.json")]);
    let a = &r.summary.adapters[0];
    assert_eq!(r.summary.order, "single");
    assert_eq!(a.joined_by, Some("if_index"));
    assert_eq!(
        a.component,
        Some(59),
        "ifIndex 5 is netvsc.sys (59) and NetVsc.sys (58): the one packets passed"
    );
    assert_eq!(a.status, "totals");
    assert_eq!(a.changes[&Counter::ReceivedDiscarded], Change::Total { total: 12 });
    assert!(a.line.contains("totals since the adapter started"), "{}", a.line);
    assert!(r.findings.is_empty(), "totals since boot say nothing of the capture");
}

#[test]
fn join_by_mac_when_nothing_else_matches() {
    let dir = TempDir::new("mac");
    let snap = |discards: u64| {
        format!(
            "{{\"Name\": \"Renamed\", \"InterfaceDescription\": \"Some other description\", \"MacAddress\": \
             \"00-22-48-7B-B0-99\", \"ReceivedDiscardedPackets\": {discards}, \"ReceivedPacketErrors\": 0, \
             \"OutboundDiscardedPackets\": 0, \"OutboundPacketErrors\": 0}}"
        )
    };
    let before = dir.0.join("nic-before.json");
    let after = dir.0.join("nic-after.json");
    std::fs::write(&before, snap(5)).unwrap();
    std::fs::write(&after, snap(9)).unwrap();
    // Given after first: the names still tell which is which.
    let r = joined(&[after, before]);
    let a = &r.summary.adapters[0];
    assert_eq!(a.joined_by, Some("mac"));
    // MAC 00-22-48-7B-B0-99 is netvsc.sys (3) and NetVsc.sys (38), neither passed packets: the lowest id.
    assert_eq!(a.component, Some(3));
    assert_eq!(
        a.changes[&Counter::ReceivedDiscarded],
        Change::Rose {
            before: 5,
            after: 9,
            delta: 4
        }
    );
    assert_eq!(r.findings[0].count, 4);
    assert!(
        r.findings[0].explanation.contains("PktMon counted 0 packets received"),
        "the capture reported counters for component 3: {}",
        r.findings[0].explanation
    );
}

#[test]
fn typeperf_instance_names_join_and_errors_are_invalid_packets() {
    let r = joined(&[fixture("typeperf.csv")]);
    assert_eq!(r.summary.order, "timestamps");
    assert_eq!(r.summary.snapshots, 3);
    assert!(
        r.summary.notes.is_empty(),
        "the samples bracket the capture: {:?}",
        r.summary.notes
    );
    let vf = r.summary.adapters.iter().find(|a| a.component == Some(48)).unwrap();
    assert_eq!(vf.joined_by, Some("description"), "the mangled instance name");
    assert_eq!(r.summary.unmatched.len(), 0);
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(
        (f.locality, f.cause, f.count),
        (Locality::Local, Cause::InvalidPacket, 37)
    );
    assert_eq!(f.symptom, "adapter errors");
    assert!(f.explanation.contains("typeperf.csv:2 → "), "{}", f.explanation);
    assert!(f.explanation.contains("typeperf.csv:4"), "{}", f.explanation);
}

#[test]
fn counters_that_went_down_are_said_to_and_give_no_delta() {
    let r = joined(&[fixture("typeperf-reset.csv")]);
    let vf = r.summary.adapters.iter().find(|a| a.component == Some(48)).unwrap();
    assert_eq!(vf.status, "went_down");
    assert_eq!(
        vf.changes[&Counter::ReceivedDiscarded],
        Change::WentDown {
            before: 4_294_967_040,
            after: 96
        }
    );
    assert!(vf.line.contains("reset or restarted"), "{}", vf.line);
    assert!(vf.line.contains("4,294,967,040 → 96"), "{}", vf.line);
    assert!(
        r.findings.is_empty(),
        "no negative or wrapped-around delta becomes a finding"
    );
    // The CLI says it too, and no huge number appears as a count.
    let dir = TempDir::new("reset");
    let files = dir.with(&[capture_path(), fixture("typeperf-reset.csv")]);
    let (code, out, err) = run(&["diagnose", files[0].to_str().unwrap(), files[1].to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reset or restarted"), "{out}");
    assert!(out.contains("HEALTHY"), "{out}");
    assert!(!out.contains("4294967"), "{out}");
}

#[test]
fn a_snapshot_that_matches_nothing_is_reported_and_its_discards_still_count() {
    let dir = TempDir::new("nothing");
    let snap = |d: u64| {
        format!(
            "[{{\"Name\": \"Wi-Fi\", \"InterfaceDescription\": \"Intel(R) Wi-Fi 6E AX211 160MHz\", \
             \"ReceivedDiscardedPackets\": {d}, \"ReceivedPacketErrors\": 0, \"OutboundDiscardedPackets\": 0, \
             \"OutboundPacketErrors\": 0}}]"
        )
    };
    std::fs::write(dir.0.join("nic-before.json"), utf16_bom(&snap(100))).unwrap();
    std::fs::write(dir.0.join("nic-after.json"), utf16_bom(&snap(160))).unwrap();
    let cap = dir.with(&[capture_path()]);
    let (code, out, err) = run(&["diagnose", dir.0.to_str().unwrap(), "--json", "-"]);
    assert_eq!(code, 0, "{err}");
    let _ = cap;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let nic = &v["inputs"][0]["nic"];
    assert_eq!(nic["unmatched"][0], "Intel(R) Wi-Fi 6E AX211 160MHz");
    assert!(nic["adapters"][0]["line"]
        .as_str()
        .unwrap()
        .contains("matches no adapter of the capture"));
    let p = &v["inputs"][0]["verdict"]["problems"][0];
    assert_eq!(p["cause"], "resources");
    assert_eq!(p["packets"], 60);
    assert!(
        p["title"].as_str().unwrap().contains("in no component of the capture"),
        "{p}"
    );
}

#[test]
fn the_cli_joins_snapshots_beside_a_capture_in_text_json_html_and_info() {
    let dir = TempDir::new("cli");
    let files = dir.with(&[capture_path(), fixture("ps51-after.json"), fixture("ps51-before.json")]);
    let html = dir.0.join("report.html");
    let json = dir.0.join("out.json");
    let (code, out, err) = run(&[
        "diagnose",
        dir.0.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // On screen one: the header's join and the problem naming the adapter.
    let screen: Vec<&str> = out.lines().take(25).collect();
    let screen = screen.join("\n");
    assert!(screen.contains("adapter counters:"), "{screen}");
    assert!(screen.contains("[LOCAL resources]"), "{screen}");
    assert!(
        screen.contains("Mellanox ConnectX-4 Lx Virtual Ethernet Adapter #2"),
        "{screen}"
    );
    assert!(screen.contains("1,874 received packets"), "{screen}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let p = &v["inputs"][0]["verdict"]["problems"][0];
    assert_eq!(
        (p["locality"].as_str(), p["cause"].as_str()),
        (Some("local"), Some("resources"))
    );
    assert_eq!(p["endpoints"][0], "component 48 mlx5.sys");
    assert_eq!(p["packets"], 1874);
    assert_eq!(p["drop_events"], 0);
    assert_eq!(v["inputs"][0]["nic"]["order"], "file_names");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("adapter counters"));
    assert!(page.contains("discarded 1,874 received packets"));
    // `info` shows the join briefly.
    let (code, out, err) = run(&[
        "info",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        files[2].to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("adapter counters:"), "{out}");
    assert!(
        out.contains("Mellanox ConnectX-4 Lx Virtual Ethernet Adapter #2 (component 48 mlx5.sys, joined by description): 1,874 received packets discarded"),
        "{out}"
    );
    // --nic joins snapshots from elsewhere.
    let (code, out, _) = run(&[
        "diagnose",
        capture_path().to_str().unwrap(),
        "--nic",
        fixture("ps51-before.json").to_str().unwrap(),
        "--nic",
        fixture("ps51-after.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("1,874 received packets"), "{out}");
}

#[test]
fn snapshots_without_a_capture_and_damaged_snapshots_are_said_so() {
    let dir = TempDir::new("alone");
    let only = dir.with(&[fixture("ps51-before.json")]);
    let (code, _, err) = run(&["diagnose", only[0].to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("adapter counters with no capture in their folder"),
        "{err}"
    );
    assert!(err.contains("no capture among the inputs"), "{err}");
    // A snapshot cut short: the error names the file and line; the capture is still diagnosed.
    let dir = TempDir::new("damaged");
    let files = dir.with(&[capture_path()]);
    let text = std::fs::read_to_string(fixture("pwsh7-single.json")).unwrap();
    let cut = dir.0.join("nic-after.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let (code, out, err) = run(&["diagnose", files[0].to_str().unwrap(), cut.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nic-after.json") && err.contains("line"), "{err}");
    assert!(out.contains("HEALTHY"), "{out}");
}

#[test]
fn the_nic_discard_scenario_writes_matching_snapshots_and_its_verdict_names_the_adapter() {
    let dir = TempDir::new("gen");
    let o = GenOptions {
        scenario: Scenario::NicDiscard,
        seed: 7,
        ..Default::default()
    };
    let w = files::write(&o, &dir.0, &[Format::Etl]).unwrap();
    assert_eq!(w.snapshots.len(), 2);
    let planted = &w.truth.planted[0];
    assert_eq!((planted.locality, planted.cause), (Locality::Local, Cause::Resources));
    let (before, after) = match &planted.evidence[0] {
        pktmon::generate::Evidence::AdapterCounter { before, after, .. } => (*before, *after),
        e => panic!("{e:?}"),
    };
    let etl = w.files[0].1.to_str().unwrap().to_string();
    let html = dir.0.join("r.html");
    let json = dir.0.join("r.json");
    let mut args = vec![
        "diagnose".to_string(),
        etl,
        "--json".into(),
        json.display().to_string(),
        "--html".into(),
        html.display().to_string(),
    ];
    args.extend(w.snapshots.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let screen = out.lines().take(25).collect::<Vec<_>>().join("\n");
    let delta = after - before;
    let count = {
        let s = delta.to_string();
        if s.len() > 3 {
            format!("{},{}", &s[..s.len() - 3], &s[s.len() - 3..])
        } else {
            s
        }
    };
    assert!(screen.contains("PROBLEMS 1 problem"), "{screen}");
    assert!(screen.contains("[LOCAL resources]"), "{screen}");
    assert!(screen.contains("Intel(R) Ethernet Connection (7) I219-LM"), "{screen}");
    assert!(
        screen.contains(&format!("discarded {count} received packets")),
        "{screen}"
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let p = &v["inputs"][0]["verdict"]["problems"][0];
    assert_eq!(
        (p["locality"].as_str(), p["cause"].as_str()),
        (Some("local"), Some("resources"))
    );
    assert_eq!(p["packets"], delta);
    assert!(p["title"]
        .as_str()
        .unwrap()
        .contains("Intel(R) Ethernet Connection (7) I219-LM"));
    assert_eq!(v["inputs"][0]["nic"]["adapters"][0]["joined_by"], "description");
    // PktMon's own receive count at the NIC (event 90) stands beside the discards.
    let received = v["inputs"][0]["nic"]["adapters"][0]["capture_received"]
        .as_u64()
        .unwrap();
    assert!(received > 0);
    assert!(p["explanation"]
        .as_str()
        .unwrap()
        .contains(&format!("PktMon counted {received} packets received")));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Intel(R) Ethernet Connection (7) I219-LM"));
    assert!(page.contains(&format!("discarded {count} received packets")));
    // The whole folder as generated: the truth file (which names the counter) is not a snapshot.
    std::fs::remove_file(&html).unwrap();
    std::fs::remove_file(&json).unwrap();
    let (code, out, err) = run(&["diagnose", dir.0.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("truth.json: not a capture"), "{err}");
    assert!(out.contains(&format!("discarded {count} received packets")), "{out}");
}

#[test]
fn snapshots_taken_at_other_times_than_the_capture_are_noted() {
    let dir = TempDir::new("timing");
    let csv = fixture("typeperf.csv");
    // The same samples an hour later than the capture (20:18:35 – 20:18:53 UTC).
    let text = std::fs::read_to_string(&csv).unwrap().replace(" 20:1", " 21:1");
    let late = dir.0.join("late.csv");
    std::fs::write(&late, text).unwrap();
    let r = joined(&[late]);
    assert_eq!(r.summary.notes.len(), 1, "{:?}", r.summary.notes);
    assert!(
        r.summary.notes[0].contains("do not bracket the capture"),
        "{:?}",
        r.summary.notes
    );
    assert!(
        r.summary.notes[0].contains("2024-06-10T21:18:30"),
        "{:?}",
        r.summary.notes
    );
    assert!(
        r.findings[0].explanation.contains("do not bracket"),
        "{}",
        r.findings[0].explanation
    );
}

#[test]
fn damaged_snapshots_give_errors_naming_the_file_never_a_panic() {
    for name in [
        "ps51-before.json",
        "pwsh7-single.json",
        "typeperf.csv",
        "typeperf-reset.csv",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let mut errors = 0;
        for cut in (0..bytes.len()).step_by(13) {
            match read_bytes(name, &bytes[..cut]) {
                Ok(s) => assert!(!s.is_empty()),
                Err(e) => {
                    errors += 1;
                    assert_eq!(e.file, name);
                }
            }
            // Bytes flipped in the middle: read or refused, never a panic.
            let mut bent = bytes.clone();
            bent[cut] ^= 0x5A;
            let _ = read_bytes(name, &bent);
        }
        assert!(errors > 0, "{name}: some cut is refused");
    }
}
