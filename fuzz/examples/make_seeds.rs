//! Builds the seed corpus from the bundled capture (run by `fuzz/seed.sh`).
//!
//! `make_seeds <captures dir> <corpus root>` writes:
//! * `etl_reader/`: the real ETL, the real ETL cut after its first 1, 2 and 3
//!   buffers, and tiny ETLs from `pktmon::etl::writer` in every shape it
//!   knows (compressed or plain, 64- or 32-bit, with and without schemas,
//!   extended items, lost events, a localized template, no events at all);
//! * `pcapng_reader/`: the real .cap, that file cut after its first blocks,
//!   and classic pcap files (both byte orders, micro- and nanosecond magics)
//!   holding a few of the real packets.
//!
//! Files from the CLI (`convert`, `txt`) are added by seed.sh itself.

use std::fs;
use std::path::{Path, PathBuf};

use pktmon::etl::writer::{EtlWriter, EtlWriterOptions};
use pktmon::etl::EtlFile;
use pktmon::model::{Context, DropInfo, Record};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    println!("  {:>8} bytes  {}", bytes.len(), path.display());
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [captures, corpus] = args.as_slice() else {
        eprintln!("usage: make_seeds <captures dir> <corpus root>");
        std::process::exit(2);
    };
    let etl_path = captures.join("demikernel-PktMon.etl");
    let cap_path = captures.join("demikernel-PktMon.cap");
    let etl_dir = corpus.join("etl_reader");
    let pcap_dir = corpus.join("pcapng_reader");
    fs::create_dir_all(&etl_dir).unwrap();
    fs::create_dir_all(&pcap_dir).unwrap();

    // ---- ETL: the real file and its first buffers ----
    let real = fs::read(&etl_path).unwrap_or_else(|e| panic!("{}: {e}", etl_path.display()));
    write(&etl_dir, "real.etl", &real);
    let etl = EtlFile::open(&etl_path).expect("the bundled ETL opens");
    let mut ends: Vec<u64> = etl
        .buffers
        .iter()
        .map(|b| b.file_offset + u64::from(b.size_on_disk))
        .collect();
    ends.sort_unstable();
    for (n, &end) in ends.iter().take(3).enumerate() {
        if (end as usize) < real.len() {
            write(
                &etl_dir,
                &format!("real-first-{}-buffers.etl", n + 1),
                &real[..end as usize],
            );
        }
    }

    // ---- ETL: tiny files from the writer, with records of the real capture ----
    let mut records: Vec<Record> = Vec::new();
    let mut keep = |_: &Context<'_>, r: Record| records.push(r);
    pktmon::source::etl::read(&etl_path, &mut keep).expect("the bundled ETL reads");
    let rundown: Vec<&Record> = records
        .iter()
        .filter(|r| !matches!(r, Record::Packet(_)))
        .take(12)
        .collect();
    let mut packets: Vec<pktmon::model::Appearance> = records
        .iter()
        .filter_map(|r| match r {
            Record::Packet(a) => Some(a.clone()),
            _ => None,
        })
        .take(6)
        .collect();
    // The capture has no drop in its first packets: make the last one a drop.
    if let Some(last) = packets.last_mut() {
        if last.drop.is_none() {
            last.drop = Some(DropInfo {
                reason: Some(25),
                reason_text: None,
                location: Some(0xE000_4500),
            });
        }
    }
    let t0 = packets.first().map(|a| a.time).unwrap_or(133_590_960_000_000_000);

    let tiny = |options: EtlWriterOptions, with_events: bool| -> Vec<u8> {
        let mut w = EtlWriter::new(options);
        if with_events {
            for a in &packets {
                w.appearance(a);
            }
            for (i, r) in rundown.iter().enumerate() {
                w.record((i % 2) as u16, t0 + 1_000_000 + i as i64, 4, 8, r);
            }
        }
        w.finish()
    };
    let default = EtlWriterOptions {
        start_time: t0 - 10_000_000,
        ..Default::default()
    };
    write(&etl_dir, "tiny-compressed.etl", &tiny(default.clone(), true));
    write(
        &etl_dir,
        "tiny-plain-32bit-noschema.etl",
        &tiny(
            EtlWriterOptions {
                compress: false,
                buffer_size: 4096,
                pointer_size: 4,
                processors: 2,
                embed_schema: false,
                os_build: 19041,
                ..default.clone()
            },
            true,
        ),
    );
    write(
        &etl_dir,
        "tiny-plain-64bit.etl",
        &tiny(
            EtlWriterOptions {
                compress: false,
                buffer_size: 4096,
                ..default.clone()
            },
            true,
        ),
    );
    write(
        &etl_dir,
        "tiny-extended-lost-localized.etl",
        &tiny(
            EtlWriterOptions {
                extended_items: true,
                events_lost: 3,
                buffers_lost: 1,
                flag_events_lost_on_buffer: Some(0),
                os_description: Some("Windows Server 2022 Datacenter".into()),
                timezone_bias_minutes: -120,
                perf_freq: 3_000_000,
                message_templates: Some((
                    "Paketgruppe %1, Paketnummer %2, Auftreten %3, Richtung %4, Typ %5, Komponente %6, Rand %7, Filter %8, Originalgröße %11, Protokollierte Größe %12 ".into(),
                    "Verwerfen: Paketgruppe %1, Paketnummer %2, Auftreten %3, Richtung %4, Typ %5, Komponente %6, Filter %8, DropReason %9, DropLocation %10, Originalgröße %11, Protokollierte Größe %12 ".into(),
                )),
                ..default.clone()
            },
            true,
        ),
    );
    write(&etl_dir, "tiny-no-events.etl", &tiny(default, false));

    // ---- pcapng: the real file and its first blocks ----
    let cap = fs::read(&cap_path).unwrap_or_else(|e| panic!("{}: {e}", cap_path.display()));
    write(&pcap_dir, "real.cap", &cap);
    let mut offset = 0usize;
    let mut blocks = 0usize;
    while offset + 12 <= cap.len() && blocks < 4 {
        let len = u32::from_le_bytes(cap[offset + 4..offset + 8].try_into().unwrap()) as usize;
        if len < 12 || offset + len > cap.len() {
            break;
        }
        offset += len;
        blocks += 1;
    }
    if blocks > 0 && offset < cap.len() {
        write(&pcap_dir, &format!("real-first-{blocks}-blocks.cap"), &cap[..offset]);
    }

    // ---- classic pcap with a few real packets ----
    for (name, magic, big_endian, nanos) in [
        ("le-micros.pcap", 0xA1B2_C3D4u32, false, false),
        ("be-nanos.pcap", 0xA1B2_3C4Du32, true, true),
    ] {
        let u32b = |v: u32| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let u16b = |v: u16| if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut out = Vec::new();
        out.extend_from_slice(&u32b(magic));
        out.extend_from_slice(&u16b(2));
        out.extend_from_slice(&u16b(4));
        out.extend_from_slice(&u32b(0)); // thiszone
        out.extend_from_slice(&u32b(0)); // sigfigs
        out.extend_from_slice(&u32b(65_535)); // snaplen
        out.extend_from_slice(&u32b(1)); // LINKTYPE_ETHERNET
        for a in packets.iter().filter(|a| !a.payload.is_empty()).take(3) {
            let unix = (a.time - pktmon::model::UNIX_EPOCH_FILETIME).max(0);
            let secs = (unix / 10_000_000) as u32;
            let frac = if nanos {
                (unix % 10_000_000 * 100) as u32
            } else {
                (unix % 10_000_000 / 10) as u32
            };
            out.extend_from_slice(&u32b(secs));
            out.extend_from_slice(&u32b(frac));
            out.extend_from_slice(&u32b(a.payload.len() as u32));
            out.extend_from_slice(&u32b(a.original_size.max(a.payload.len() as u32)));
            out.extend_from_slice(&a.payload);
        }
        write(&pcap_dir, name, &out);
    }
}
