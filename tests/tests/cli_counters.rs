//! PktMon's per-component drop counters end to end: `info` lists them beside
//! the drop events captured, and `diagnose` reports drops counted beyond them.

use pktmon::generate::files::EtlSink;
use pktmon::generate::{capture_info, generate, GenOptions, Scenario};
use pktmon::model::{Appearance, Context, Record, RecordSink};
use pktmon_tests::*;
use serde_json::Value;

const SYMPTOM: &str = "drops counted, not captured";

fn json_of(args: &[&str]) -> Value {
    let out = run(args);
    assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

#[test]
fn info_lists_finguards_drop_counters_beside_its_drop_events() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let out = run(&["info", etl.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("      101 tcpip.sys          Rx 26 packets 857 bytes [26], Tx 0 packets 0 bytes [0]\n"),
        "{text}"
    );
    assert!(
        text.contains("       12 rtwlane601.sys     Rx 2 packets 128 bytes [2], Tx 0 packets 0 bytes [0]\n"),
        "{text}"
    );
    let v = json_of(&["info", "--json", etl.to_str().unwrap()]);
    let counters = v[0]["drop_counters"].as_array().unwrap();
    assert_eq!(counters.len(), 2);
    let tcpip = &counters[0];
    assert_eq!(tcpip["component"], 101);
    assert_eq!(tcpip["component_name"], "tcpip.sys");
    assert_eq!(tcpip["direction_in"], "Rx");
    assert_eq!(
        (tcpip["packets_in"].as_u64(), tcpip["bytes_in"].as_u64()),
        (Some(26), Some(857))
    );
    assert_eq!(tcpip["drop_events_in"], 26);
    assert_eq!(counters[1]["component"], 12);
    assert_eq!(counters[1]["drop_events_in"], 2);
    // One event 80 per component in the rundown.
    assert_eq!(v[0]["drop_counters_reported"], 134);
}

#[test]
fn info_lists_flow_counters_per_edge_beside_the_flow_events_captured() {
    let Some(etl) = corpus("demikernel-PktMon.etl") else {
        return;
    };
    let out = run(&["info", etl.to_str().unwrap()]);
    let text = stdout(&out);
    // The capture was filtered to one adapter's path: what PktMon counted there is exactly what it logged.
    for line in [
        "       61 xdp.sys            Lower(2) Rx 19 packets 1862 bytes [19], Tx 19 packets 1862 bytes [19]\n",
        "       48 mlx5.sys           Upper(1) Rx 0 packets 0 bytes [0], Tx 19 packets 1862 bytes [19]\n",
    ] {
        assert!(text.contains(line), "{text}");
    }
    let v = json_of(&["info", "--json", etl.to_str().unwrap()]);
    let flows = v[0]["flow_counters"].as_array().unwrap();
    assert_eq!(flows.len(), 4);
    let counted: u64 = flows
        .iter()
        .map(|f| f["packets_in"].as_u64().unwrap() + f["packets_out"].as_u64().unwrap())
        .sum();
    let captured: u64 = flows
        .iter()
        .map(|f| f["flow_events_in"].as_u64().unwrap() + f["flow_events_out"].as_u64().unwrap())
        .sum();
    // CORPUS.md: 114 packet events, all at these four components.
    assert_eq!((counted, captured), (114, 114));
    assert_eq!(flows[0]["edge"], "Lower");
    assert_eq!(flows[0]["edge_id"], 2);
}

#[test]
fn info_says_when_every_counter_is_zero() {
    for (name, components) in [
        ("demikernel-PktMon.etl", 44),
        ("vpn-PktMon.etl", 141),
        ("rundown-only-PktMon.etl", 161),
    ] {
        let Some(etl) = corpus(name) else { continue };
        let out = run(&["info", etl.to_str().unwrap()]);
        assert!(
            stdout(&out).contains(&format!(
                "  drop counters:     0 on all {components} components that reported them"
            )),
            "{name}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn corpus_counters_match_their_drop_events_so_no_counter_finding() {
    for name in [
        "demikernel-PktMon.etl",
        "finguard-PktMon.etl",
        "vpn-PktMon.etl",
        "rundown-only-PktMon.etl",
    ] {
        let Some(etl) = corpus(name) else { continue };
        let v = json_of(&["diagnose", etl.to_str().unwrap(), "--json", "-"]);
        let findings = v["findings"].as_array().unwrap();
        assert!(findings.iter().all(|f| f["symptom"] != SYMPTOM), "{name}: {findings:?}");
    }
}

/// Leaves out every drop event but the first, as a capture filtered or
/// taken with `--type flow` would; the rundown's counters still count them all.
struct KeepFirstDrop<'a> {
    inner: &'a mut dyn RecordSink,
    drops: u64,
    lost: Vec<Appearance>,
}

impl RecordSink for KeepFirstDrop<'_> {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        if let Record::Packet(a) = &record {
            if a.is_drop() {
                self.drops += 1;
                if self.drops > 1 {
                    self.lost.push(a.clone());
                    return;
                }
            }
        }
        self.inner.record(ctx, record);
    }
}

#[test]
fn diagnose_reports_drops_counted_beyond_those_captured() {
    let opts = GenOptions {
        seed: 11,
        scenario: Scenario::LocalResources,
        ..GenOptions::default()
    };
    let mut etl = EtlSink::new(&capture_info(&opts));
    let mut keep = KeepFirstDrop {
        inner: &mut etl,
        drops: 0,
        lost: Vec::new(),
    };
    generate(&opts, &mut keep);
    let lost = keep.lost;
    assert!(lost.len() >= 2, "the scenario drops packets: {}", lost.len());
    let dir = TempDir::new("counters");
    let path = dir.path("partial.etl");
    std::fs::write(&path, etl.finish()).unwrap();

    let v = json_of(&["diagnose", path.to_str().unwrap(), "--json", "-"]);
    assert_eq!(v["inputs"][0]["totals"]["drop_events"], 1);
    let found: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["symptom"] == SYMPTOM)
        .collect();
    let total: u64 = found.iter().map(|f| f["count"].as_u64().unwrap()).sum();
    assert_eq!(total, lost.len() as u64, "{found:#?}");
    for f in &found {
        assert_eq!(
            (f["locality"].as_str(), f["cause"].as_str()),
            (Some("local"), Some("other"))
        );
        let d = &f["drops"][0][0];
        let c = d["component"].as_u64().unwrap() as u16;
        let n = lost.iter().filter(|a| a.component_id == Some(c)).count() as u64;
        assert_eq!(f["drops"][0][1].as_u64(), f["count"].as_u64());
        assert!(f["count"].as_u64().unwrap() <= n);
        assert!(
            f["explanation"]
                .as_str()
                .unwrap()
                .contains(&format!("{} drops were not captured", f["count"])),
            "{f}"
        );
    }

    let out = run(&["diagnose", path.to_str().unwrap(), "--all"]);
    let text = stdout(&out);
    assert!(text.contains(&format!("LOCAL other — {SYMPTOM} ×")), "{text}");
    assert!(
        text.contains("drop: not captured (PktMon's drop counter) at ? by "),
        "{text}"
    );
}

/// Leaves out every drop event, as a capture taken with `--type flow` would.
struct NoDrops<'a>(&'a mut dyn RecordSink);

impl RecordSink for NoDrops<'_> {
    fn record(&mut self, ctx: &Context<'_>, record: Record) {
        if !matches!(&record, Record::Packet(a) if a.is_drop()) {
            self.0.record(ctx, record);
        }
    }
}

#[test]
fn drops_says_so_when_a_capture_has_none_with_what_pktmons_counters_say() {
    let out = run(&["drops", capture("demikernel-PktMon.etl").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "no drops recorded (PktMon's drop counters: 0 on all 44 components)\n"
    );
    // Machine formats keep their shape.
    let json = run(&[
        "drops",
        capture("demikernel-PktMon.etl").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(stdout(&json), "[]\n");

    // Drops happened but none was captured: the counters say how many.
    let opts = GenOptions {
        seed: 11,
        scenario: Scenario::LocalResources,
        ..GenOptions::default()
    };
    let mut etl = EtlSink::new(&capture_info(&opts));
    generate(&opts, &mut NoDrops(&mut etl));
    let dir = TempDir::new("no-drops");
    let path = dir.path("flow-only.etl");
    std::fs::write(&path, etl.finish()).unwrap();
    let c = pktmon::source::read_capture(&path).unwrap();
    assert_eq!(c.drops().count(), 0);
    let counted: u64 = c.drop_counters.iter().map(|d| d.packets_in + d.packets_out).sum();
    let components = c
        .drop_counters
        .iter()
        .filter(|d| d.packets_in + d.packets_out > 0)
        .count();
    assert!(counted >= 2, "the scenario drops packets: {counted}");
    let text = stdout(&run(&["drops", path.to_str().unwrap()]));
    let plural = if components == 1 { "component" } else { "components" };
    assert!(
        text.starts_with(&format!(
            "no drop events recorded, but PktMon's drop counters count {counted} dropped packets on {components} {plural}"
        )),
        "{text}"
    );

    // Two files: each line names its file, after the table of the one with drops.
    let with_drops = dir.path("with-drops.etl");
    let mut etl = EtlSink::new(&capture_info(&opts));
    generate(&opts, &mut etl);
    std::fs::write(&with_drops, etl.finish()).unwrap();
    let text = stdout(&run(&[
        "drops",
        with_drops.to_str().unwrap(),
        capture("demikernel-PktMon.etl").to_str().unwrap(),
    ]));
    assert!(text.starts_with("COUNT  REASON"), "{text}");
    assert!(
        text.ends_with(&format!(
            "\n{}: no drops recorded (PktMon's drop counters: 0 on all 44 components)\n",
            capture("demikernel-PktMon.etl").display()
        )),
        "{text}"
    );
}

#[test]
fn info_says_one_drop_event_not_one_drop_events() {
    let opts = GenOptions {
        seed: 11,
        scenario: Scenario::LocalResources,
        ..GenOptions::default()
    };
    let mut etl = EtlSink::new(&capture_info(&opts));
    let mut keep = KeepFirstDrop {
        inner: &mut etl,
        drops: 0,
        lost: Vec::new(),
    };
    generate(&opts, &mut keep);
    let dir = TempDir::new("one-drop");
    let path = dir.path("one.etl");
    std::fs::write(&path, etl.finish()).unwrap();
    let text = stdout(&run(&["info", path.to_str().unwrap()]));
    let line = text
        .lines()
        .find(|l| l.starts_with("  appearances:"))
        .unwrap_or_default();
    assert!(line.ends_with(" flow, 1 drop event)"), "{text}");
    // The component that dropped it: "1 drop", its other counts plural.
    assert!(text.lines().any(|l| l.ends_with("appearances     1 drop")), "{text}");
    assert!(!text.contains(" 1 drops"), "{text}");
    assert!(!text.contains(" 1 packets "), "{text}");
}
