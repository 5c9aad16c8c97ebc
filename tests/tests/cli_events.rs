//! `events` on the real corpus: every event of every ETL printed, every
//! event with an embedded schema decoded with all of its schema's fields and
//! nothing left over, checked against pktmon's own etl2txt where we have it.

use std::collections::BTreeMap;
use std::path::Path;

use pktmon::etl::bytes::guid_string;
use pktmon::etl::decode::Schemas;
use pktmon::etl::EtlFile;
use pktmon_tests::*;
use serde_json::Value;

const PKTMON: &str = "4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac";

/// (file, events 160, events 170, events 20) as CORPUS.md states them.
const FILES: &[(&str, usize, usize, Option<usize>)] = &[
    ("demikernel-PktMon.etl", 114, 0, Some(44)),
    ("finguard-PktMon.etl", 378, 28, None),
    ("vpn-PktMon.etl", 2705, 0, Some(141)),
    ("rundown-only-PktMon.etl", 0, 0, Some(161)),
];

fn events_json(etl: &Path, extra: &[&str]) -> (Vec<Value>, String) {
    let mut args = vec!["events", "--json", etl.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (lines, stderr(&out))
}

/// Top-level property names of every schema in the file, by (provider GUID, id, version).
fn schema_names(etl: &Path) -> BTreeMap<(String, u64, u64), Vec<String>> {
    let mut f = EtlFile::open(etl).unwrap();
    let schemas = Schemas::from_file(&mut f);
    schemas
        .iter()
        .map(|s| {
            let names = s.properties[..s.top_level_count]
                .iter()
                .map(|p| p.name.clone())
                .collect();
            ((guid_string(&s.provider), s.id as u64, s.version as u64), names)
        })
        .collect()
}

#[test]
fn every_event_of_every_corpus_etl_is_printed_and_every_schema_fully_decoded() {
    for &(name, packets, drops, components) in FILES {
        let Some(etl) = corpus(name) else { continue };
        let (events, summary) = events_json(&etl, &[]);
        let records = EtlFile::open(&etl).unwrap().read_records(|_| {}).records;
        assert_eq!(
            events.len() as u64,
            records,
            "{name}: one line per record the reader delivers"
        );
        let names = schema_names(&etl);
        assert!(names.len() >= 8, "{name}: {} schemas", names.len());
        let mut by_id: BTreeMap<u64, usize> = BTreeMap::new();
        let mut decoded = 0;
        for e in &events {
            let guid = e["provider_guid"].as_str().unwrap().to_string();
            let key = (guid.clone(), e["id"].as_u64().unwrap(), e["version"].as_u64().unwrap());
            let has_schema = names.contains_key(&key) && e["opcode"].as_u64().is_some();
            if guid == PKTMON {
                *by_id.entry(key.1).or_default() += 1;
                assert_eq!(e["provider"], "Microsoft-Windows-PktMon");
                assert!(has_schema, "{name}: PktMon event without a schema: {e}");
            }
            if e["schema"] == true {
                decoded += 1;
                let fields: Vec<&String> = e["fields"].as_object().unwrap().keys().collect();
                let mut want: Vec<&String> = names[&key].iter().collect();
                let mut got = fields.clone();
                want.sort();
                got.sort();
                assert_eq!(got, want, "{name}: fields of {e}");
                assert!(e.get("error").is_none() && e.get("undecoded").is_none(), "{name}: {e}");
            } else {
                assert!(
                    !names.contains_key(&key),
                    "{name}: a record with a schema left undecoded: {e}"
                );
                assert!(e["payload"].is_string());
            }
        }
        assert_eq!(by_id.get(&160).copied().unwrap_or(0), packets, "{name}");
        assert_eq!(by_id.get(&170).copied().unwrap_or(0), drops, "{name}");
        if let Some(c) = components {
            assert_eq!(by_id[&20], c, "{name}");
        }
        assert_eq!(
            decoded,
            by_id.values().sum::<usize>(),
            "{name}: every PktMon event, nothing else"
        );
        assert!(
            summary.contains(&format!("{} events: {decoded} decoded", events.len()))
                && summary.contains("0 with undecoded data"),
            "{name}: {summary}"
        );
    }
}

/// pktmon's own etl2txt of vpn-PktMon.etl has one line per PktMon event:
/// same prefixes in the same order, and the counter and component values it prints.
#[test]
fn vpn_events_match_pktmons_etl2txt_line_for_line() {
    let (Some(etl), Some(txt)) = (corpus("vpn-PktMon.etl"), corpus("vpn-PktMon.txt")) else {
        return;
    };
    let raw = std::fs::read(&txt).unwrap();
    let units: Vec<u16> = raw[2..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    let theirs: Vec<&str> = text
        .split("\r\n")
        .filter(|l| l.contains("::") && l.contains(" [Microsoft-Windows-PktMon] "))
        .collect();
    let (events, _) = events_json(&etl, &["--provider", "Microsoft-Windows-PktMon"]);
    assert_eq!(theirs.len(), 3651);
    assert_eq!(events.len(), theirs.len());
    let mut counters = 0;
    for (e, line) in events.iter().zip(&theirs) {
        let prefix = format!(
            "[{:02}]{:04X}.{:04X}::{} [Microsoft-Windows-PktMon] ",
            e["cpu"].as_u64().unwrap(),
            e["process_id"].as_u64().unwrap(),
            e["thread_id"].as_u64().unwrap(),
            e["time"].as_str().unwrap()
        );
        assert!(line.starts_with(&prefix), "{prefix} vs {line}");
        let f = &e["fields"];
        let message = &line[prefix.len()..];
        match e["id"].as_u64().unwrap() {
            20 => assert!(
                message.starts_with(&format!("Component {}, ", f["Id"]))
                    && message.contains(&format!(", Name {}, ", f["Name"].as_str().unwrap())),
                "{message} vs {f}"
            ),
            80 => {
                counters += 1;
                let want = format!(
                    "Drop Counters: Component {}, Direction In = Rx , Packets In {}, Bytes In {}, Direction Out = Tx , Packets Out {}, Bytes Out {} ",
                    f["ComponentId"], f["PacketsIn"], f["BytesIn"], f["PacketsOut"], f["BytesOut"]
                );
                assert_eq!(message, want);
            }
            90 => {
                counters += 1;
                let want = format!(
                    "Flow Counters: Component {}, Edge {}, Edge Id {}, Direction In = Rx , Packets In {}, Bytes In {}, Direction Out = Tx , Packets Out {}, Bytes Out {} ",
                    f["ComponentId"],
                    f["EdgeName"].as_str().unwrap(),
                    f["EdgeId"],
                    f["PacketsIn"],
                    f["BytesIn"],
                    f["PacketsOut"],
                    f["BytesOut"]
                );
                assert_eq!(message, want);
            }
            160 => assert!(
                message.starts_with(&format!(
                    "PktGroupId {}, PktNumber {}, ",
                    f["PktGroupId"], f["PktNumber"]
                )),
                "{message} vs {f}"
            ),
            _ => {}
        }
    }
    assert_eq!(counters, 141 + 178);
}

#[test]
fn finguard_drops_filter_by_provider_and_id_with_their_reason_texts() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let (drops, summary) = events_json(
        &etl,
        &["--provider", "{4D4F80D9-C8BD-4D73-BB5B-19C90402C5AC}", "--id", "170"],
    );
    assert_eq!(drops.len(), 28);
    assert!(summary.contains("28 events (of 1399)"), "{summary}");
    let reason = |t: &str| drops.iter().filter(|e| e["fields"]["DropReason"] == t).count();
    // CORPUS.md: 6 + 6 drops of reason 1204, 6 + 1 of 1210, 2 of 204.
    assert_eq!(reason("1204(INET: transport endpoint was not found)"), 12);
    assert_eq!(reason("1210(INET: received RST)"), 7);
    assert_eq!(reason("204(Unsupported EtherType)"), 2);
    assert_eq!(
        drops
            .iter()
            .filter(|e| e["fields"]["DropLocation"] == "0xE0004134")
            .count(),
        6
    );

    // The text form: the component table entry and the counters of component 101.
    let out = run(&[
        "events",
        etl.to_str().unwrap(),
        "--provider",
        "microsoft-windows-pktmon",
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    let component = text.lines().find(|l| l.contains("] 20 Id=101 ")).unwrap();
    assert!(
        component.ends_with(" Type=11 Name=\"tcpip.sys\" Description=\"TCP/IPv4 - L3/L4\""),
        "{component}"
    );
    let counters = text.lines().find(|l| l.contains("] 80 ComponentId=101 ")).unwrap();
    assert!(
        counters.ends_with(" DirTagIn=3(Rx) PacketsIn=26 BytesIn=857 DirTagOut=4(Tx) PacketsOut=0 BytesOut=0"),
        "{counters}"
    );
    assert!(!text.contains("SystemConfigEx"), "--provider keeps one provider only");
}

#[test]
fn events_refuses_what_is_not_an_etl() {
    let cap = capture("demikernel-PktMon.cap");
    let out = run(&["events", cap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("demikernel-PktMon.cap: not an ETL file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn events_of_a_damaged_or_cut_etl_keep_what_can_be_read_and_name_the_offset() {
    let bytes = std::fs::read(capture("demikernel-PktMon.etl")).unwrap();
    let dir = TempDir::new("events-damaged");

    let cut = dir.path("cut.etl");
    std::fs::write(&cut, &bytes[..15_000]).unwrap();
    let out = run(&["events", cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "a cut-short tail is a warning");
    let err = stderr(&out);
    assert!(
        err.contains("cut.etl: at offset 12950 (0x3296): file ends inside a buffer"),
        "{err}"
    );
    let lines = stdout(&out).lines().count();
    assert!(err.contains(&format!("cut.etl: {lines} events:")), "{err}");
    // The packets are in the complete buffers: all 114 survive.
    assert_eq!(
        stdout(&out)
            .matches("[Microsoft-Windows-PktMon] 160 PktGroupId=")
            .count(),
        114
    );

    let mut damaged = bytes.clone();
    for b in &mut damaged[9000..9400] {
        *b ^= 0x5A;
    }
    let path = dir.path("damaged.etl");
    std::fs::write(&path, &damaged).unwrap();
    let out = run(&["events", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("damaged.etl: at offset 1024 (0x400): corrupt compressed buffer")
            && err.contains("buffer skipped"),
        "{err}"
    );
    assert!(
        stdout(&out).lines().count() > 100,
        "the other buffers are still printed"
    );
}
