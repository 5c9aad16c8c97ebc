//! The generic schema decoder against PktMon's own decoder: every event of
//! generated ETLs (64- and 32-bit, with and without extended items), decoded
//! by the schemas the writer embeds, gives the values the model holds.

use std::path::PathBuf;

use pktmon::etl::decode::{read_file, Value};
use pktmon::etl::writer::{EtlWriter, EtlWriterOptions};
use pktmon::generate::{generate, GenOptions, Scenario};
use pktmon::model::*;

fn temp_file(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pktmon-events-decode-{tag}-{}.etl", std::process::id()))
}

fn check(tag: &str, options: EtlWriterOptions) {
    let opts = GenOptions {
        seed: 3,
        scenario: Scenario::Mix,
        ..GenOptions::default()
    };
    let mut capture = CaptureBuilder::default();
    generate(&opts, &mut capture);
    let c = capture.capture;
    let mut w = EtlWriter::new(options);
    let t = c.appearances.iter().map(|a| a.time).max().unwrap_or(0) + 10;
    for a in &c.appearances {
        w.appearance(a);
    }
    for comp in c.components.iter() {
        w.record(
            0,
            t,
            4,
            8,
            &Record::Component(Component {
                properties: Vec::new(),
                ..comp.clone()
            }),
        );
    }
    for d in &c.drop_counters {
        w.record(0, t, 4, 8, &Record::DropCounters(d.clone()));
    }
    let path = temp_file(tag);
    std::fs::write(&path, w.finish()).unwrap();
    let mut packets = Vec::new();
    let mut names = Vec::new();
    let mut counters = Vec::new();
    let mut without = 0;
    let (etl, schemas, stats) = read_file(&path, |e| {
        let Some(d) = &e.decoded else {
            without += 1;
            return;
        };
        assert!(d.is_complete(), "{tag}: {d:?}");
        assert_eq!(e.provider, "Microsoft-Windows-PktMon");
        let u = |n: &str| d.field(n).and_then(Value::as_u64).unwrap();
        match e.record.id {
            160 | 170 => {
                let Some(Value::Bytes(payload)) = d.field("Payload") else {
                    panic!("{d:?}")
                };
                packets.push((
                    u("PktGroupId"),
                    u("ComponentId") as u16,
                    u("DropReason") as u32,
                    payload.clone(),
                ));
            }
            20 => {
                let Some(Value::Str(name)) = d.field("Name") else {
                    panic!("{d:?}")
                };
                names.push((u("Id") as u16, name.clone()));
            }
            80 => counters.push((u("ComponentId") as u16, u("PacketsIn"), u("PacketsOut"))),
            _ => {}
        }
    })
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(etl.diagnostics.items.is_empty(), "{tag}");
    assert!(schemas.len() >= 4, "{tag}");
    assert_eq!(
        packets.len() + names.len() + counters.len() + without as usize,
        stats.records as usize,
        "{tag}"
    );
    let want: Vec<_> = c
        .appearances
        .iter()
        .map(|a| {
            (
                a.group_id.unwrap(),
                a.component_id.unwrap(),
                a.drop.as_ref().and_then(|d| d.reason).unwrap_or(0),
                a.payload.clone(),
            )
        })
        .collect();
    let (mut got, mut want) = (packets, want);
    got.sort();
    want.sort();
    assert_eq!(got, want, "{tag}: packets");
    assert!(want.iter().any(|p| p.2 != 0), "{tag}: the mix has drops");
    let want_names: Vec<_> = c.components.iter().map(|x| (x.id, x.name.clone())).collect();
    names.sort();
    assert_eq!(names, want_names, "{tag}");
    let want_counters: Vec<_> = c
        .drop_counters
        .iter()
        .map(|d| (d.component_id, d.packets_in, d.packets_out))
        .collect();
    assert_eq!(counters, want_counters, "{tag}");
}

#[test]
fn generated_64_bit_etl_decodes_like_the_model() {
    check("64", EtlWriterOptions::default());
}

#[test]
fn generated_32_bit_etl_with_extended_items_decodes_like_the_model() {
    check(
        "32",
        EtlWriterOptions {
            pointer_size: 4,
            extended_items: true,
            compress: false,
            buffer_size: 64 << 10,
            ..EtlWriterOptions::default()
        },
    );
}
