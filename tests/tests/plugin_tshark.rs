//! The Wireshark plugin inside a real tshark, run as an unprivileged user
//! (tshark ignores personal plugins as root): the host's Wireshark, or with
//! `PKTMON_TSHARK_ROOT` and `PKTMON_PLUGIN_LIB` the Wireshark of a Debian
//! root filesystem and a plugin built against its headers
//! (scripts/test-wireshark-versions.sh runs these same tests on 4.4 and 4.6).

use std::collections::BTreeMap;

use pktmon::model::{Appearance, LinkType};
use pktmon::packets::Paths;
use pktmon::sink::pcapng_blocks::*;
use pktmon_tests::*;

const ISSUE_FIELDS: [&str; 27] = [
    "pktmon.group_id",
    "pktmon.pkt_number",
    "pktmon.appearance",
    "pktmon.direction",
    "pktmon.packet_type",
    "pktmon.component_id",
    "pktmon.component_name",
    "pktmon.component_description",
    "pktmon.edge_id",
    "pktmon.filter_id",
    "pktmon.original_size",
    "pktmon.logged_size",
    "pktmon.drop",
    "pktmon.drop_reason",
    "pktmon.drop_reason_code",
    "pktmon.drop_location",
    "pktmon.drop_category",
    "pktmon.first_frame",
    "pktmon.prev_frame",
    "pktmon.next_frame",
    "pktmon.last_frame",
    "pktmon.appearance_count",
    "pktmon.delta_from_first",
    "pktmon.dropped_in_frame",
    "pktmon.duplicate",
    "pktmon.hop",
    "pktmon.drop_location_name",
];

#[test]
fn tshark_loads_the_plugin_and_lists_every_field() {
    let Some(home) = PluginHome::new("fields") else { return };
    let plugins = stdout(&home.tshark(&["-G", "plugins"]));
    assert!(
        plugins
            .lines()
            .any(|l| l.starts_with("pktmon.so") && l.contains("dissector")),
        "{plugins}"
    );
    // name, short name, filter name (4.4 and later add T/F columns after these).
    let is_pktmon = |l: &str| l.split('\t').take(3).eq(["PktMon", "PktMon", "pktmon"]);
    let protocols = stdout(&home.tshark(&["-G", "protocols"]));
    assert!(protocols.lines().any(is_pktmon), "protocol not registered");
    let fields = stdout(&home.tshark(&["-G", "fields"]));
    let registered: Vec<&str> = fields.lines().filter_map(|l| l.split('\t').nth(2)).collect();
    for f in ISSUE_FIELDS {
        assert!(registered.contains(&f), "{f} missing from tshark -G fields");
    }
    // Forward references say they need two passes.
    let next = fields
        .lines()
        .find(|l| l.split('\t').nth(2) == Some("pktmon.next_frame"))
        .unwrap();
    assert!(next.contains("tshark -2"), "{next}");
    // Without the plugin none of this exists: the check above could fail.
    let bare = stdout(&home.tshark_without_plugin(&["-G", "protocols"]));
    assert!(bare.lines().count() > 1000, "tshark -G protocols ran: {bare:.200}");
    assert!(!bare.lines().any(|l| l.split('\t').nth(2) == Some("pktmon")));
}

#[test]
fn finguard_drops_are_28_frames_with_the_corpus_reasons_locations_and_components() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let Some(home) = PluginHome::new("finguard") else {
        return;
    };
    let pcap = home.convert(&etl, "finguard.pcapng");
    let out = home.tshark(&[
        "-r",
        pcap.to_str().unwrap(),
        "-Y",
        "pktmon.drop",
        "-T",
        "fields",
        "-e",
        "pktmon.drop_reason_code",
        "-e",
        "pktmon.drop_reason",
        "-e",
        "pktmon.drop_location",
        "-e",
        "pktmon.component_id",
        "-e",
        "pktmon.component_name",
        "-e",
        "pktmon.component_description",
        "-e",
        "pktmon.drop_category",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = field_rows(&out);
    assert_eq!(rows.len(), 28);
    let mut counts: BTreeMap<(String, String, String, String), u32> = BTreeMap::new();
    for r in &rows {
        *counts
            .entry((r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
            .or_default() += 1;
        match r[3].as_str() {
            "101" => assert_eq!((r[4].as_str(), r[5].as_str()), ("tcpip.sys", "TCP/IPv4 - L3/L4")),
            "12" => assert_eq!(r[4], "rtwlane601.sys"),
            other => panic!("unexpected component {other}"),
        }
    }
    let want = [
        ("918", "Arbitration unhandled", "0xe0004134", "101", 6),
        ("1204", "INET: transport endpoint was not found", "0xe0004500", "101", 6),
        ("1204", "INET: transport endpoint was not found", "0xe0004704", "101", 6),
        ("1210", "INET: received RST", "0xe000450a", "101", 6),
        ("204", "Unsupported EtherType", "0xe0001007", "12", 2),
        ("1210", "INET: received RST", "0xe0004516", "101", 1),
        ("1217", "INET: duplicate segment", "0xe0004513", "101", 1),
    ];
    let want: BTreeMap<(String, String, String, String), u32> = want
        .iter()
        .map(|&(c, t, l, comp, n)| ((c.into(), t.into(), l.into(), comp.into()), n))
        .collect();
    assert_eq!(counts, want);
    // 1204 is a local "unreachable" cause.
    assert!(rows.iter().filter(|r| r[0] == "1204").all(|r| r[6] == "unreachable"));

    // Expert info and the Info column.
    let expert = stdout(&home.tshark(&["-r", pcap.to_str().unwrap(), "-q", "-z", "expert,warn"]));
    assert!(
        expert.contains("Dropped by tcpip.sys: INET: transport endpoint was not found"),
        "{expert}"
    );
    let summary = stdout(&home.tshark(&["-r", pcap.to_str().unwrap(), "-Y", "pktmon.drop_reason_code == 204"]));
    assert_eq!(
        summary
            .matches("[PktMon drop: Unsupported EtherType @ rtwlane601.sys]")
            .count(),
        2,
        "{summary}"
    );

    // The statistics tap: drops per reason × component.
    let tap = stdout(&home.tshark(&["-r", pcap.to_str().unwrap(), "-q", "-z", "pktmon,drops"]));
    let tables = drops_tables(&tap);
    assert_eq!(tables.len(), 1, "{tap}");
    let line = |reason: &str, comp: &str| tables[0].get(&(reason.to_string(), comp.to_string())).copied();
    assert_eq!(
        line("INET: transport endpoint was not found", "tcpip.sys"),
        Some(12),
        "{tap}"
    );
    assert_eq!(line("Unsupported EtherType", "rtwlane601.sys"), Some(2), "{tap}");
    assert_eq!(line("Total", ""), Some(28), "{tap}");
}

/// The tables `-z pktmon,drops` printed (Wireshark's stat-table layout,
/// `cell |cell |count |` rows): (reason, component) → drops, with the total
/// as ("Total", "").
fn drops_tables(text: &str) -> Vec<BTreeMap<(String, String), u32>> {
    let mut tables = Vec::new();
    let mut current: Option<BTreeMap<(String, String), u32>> = None;
    for l in text.lines() {
        if l.starts_with("PktMon Drops") {
            current = Some(BTreeMap::new());
        } else if l.starts_with("=====") {
            if let Some(t) = current.take().filter(|t| !t.is_empty()) {
                tables.push(t);
            }
        } else if let Some(t) = current.as_mut() {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            if let [reason, component, count, ..] = cells[..] {
                if let Ok(n) = count.parse::<u32>() {
                    t.insert((reason.to_string(), component.to_string()), n);
                }
            }
        }
    }
    tables
}

/// Asserts two tables are equal, naming the first row that differs.
fn same_rows(a: &[Vec<String>], b: &[Vec<String>], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: row counts");
    if let Some((i, (x, y))) = a.iter().zip(b).enumerate().find(|(_, (x, y))| x != y) {
        panic!("{what}: row {} differs:\n  {x:?}\n  {y:?}", i + 1);
    }
}

/// Path fields of every frame as tshark -2 prints them.
fn path_fields(home: &PluginHome, pcap: &std::path::Path) -> Vec<Vec<String>> {
    let out = home.tshark(&[
        "-2",
        "-r",
        pcap.to_str().unwrap(),
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "pktmon.first_frame",
        "-e",
        "pktmon.prev_frame",
        "-e",
        "pktmon.next_frame",
        "-e",
        "pktmon.last_frame",
        "-e",
        "pktmon.appearance_count",
        "-e",
        "pktmon.duplicate",
        "-e",
        "pktmon.dropped_in_frame",
        "-e",
        "pktmon.group_id",
        "-e",
        "pktmon.drop",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Booleans (duplicate, drop) print as "1" on 4.0 and "True" from 4.2 on.
    let mut rows = field_rows(&out);
    for row in &mut rows {
        for i in [6, 9] {
            if let Some(v) = row.get_mut(i) {
                if v == "True" {
                    *v = "1".into();
                }
            }
        }
    }
    rows
}

/// The same fields computed by the analyzer library from the ETL itself.
fn expected_paths(appearances: &[Appearance], build: Option<u32>) -> Vec<Vec<String>> {
    let paths = Paths::build(appearances, build);
    appearances
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (p, hop) = paths.position[i];
            let pkt = &paths.packets[p];
            let frame = |k: usize| (pkt.hops[k].appearance + 1).to_string();
            vec![
                (i + 1).to_string(),
                frame(0),
                if hop > 0 { frame(hop - 1) } else { String::new() },
                if hop + 1 < pkt.hops.len() {
                    frame(hop + 1)
                } else {
                    String::new()
                },
                frame(pkt.hops.len() - 1),
                pkt.hops.len().to_string(),
                if hop > 0 { "1".into() } else { String::new() },
                // A drop is its own drop; the others name the packet's first drop (its path ends there).
                if a.is_drop() {
                    (i + 1).to_string()
                } else {
                    pkt.hops
                        .iter()
                        .find(|h| appearances[h.appearance].is_drop())
                        .map(|h| (h.appearance + 1).to_string())
                        .unwrap_or_default()
                },
                a.group_id.map(|g| g.to_string()).unwrap_or_default(),
                if a.is_drop() { "1".into() } else { String::new() },
            ]
        })
        .collect()
}

/// The same fields from the ETL's own ids alone, for a capture of a build that
/// keeps one PktGroupId along the path, with no drops and no id reused: a
/// packet is a (PktGroupId, PktNumber), its hops in Appearance order. An
/// oracle that owes nothing to the grouper the plugin and `expected_paths` share.
fn id_paths(appearances: &[Appearance]) -> Vec<Vec<String>> {
    let id = |a: &Appearance| (a.group_id.expect("a PktGroupId"), a.pkt_number.expect("a PktNumber"));
    let mut packets: BTreeMap<(u64, u16), Vec<usize>> = BTreeMap::new();
    for (i, a) in appearances.iter().enumerate() {
        assert!(!a.is_drop(), "id_paths is for captures without drops");
        packets.entry(id(a)).or_default().push(i);
    }
    for hops in packets.values_mut() {
        hops.sort_by_key(|&i| (appearances[i].appearance, i));
    }
    appearances
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let hops = &packets[&id(a)];
            let k = hops.iter().position(|&h| h == i).unwrap();
            let frame = |j: usize| (hops[j] + 1).to_string();
            vec![
                (i + 1).to_string(),
                frame(0),
                if k > 0 { frame(k - 1) } else { String::new() },
                if k + 1 < hops.len() {
                    frame(k + 1)
                } else {
                    String::new()
                },
                frame(hops.len() - 1),
                hops.len().to_string(),
                if k > 0 { "1".into() } else { String::new() },
                String::new(),
                id(a).0.to_string(),
                String::new(),
            ]
        })
        .collect()
}

#[test]
fn demikernel_shows_each_of_its_38_packets_once_and_paths_agree_with_the_etl() {
    let Some(home) = PluginHome::new("demikernel") else {
        return;
    };
    let etl = capture("demikernel-PktMon.etl");
    let pcap = home.convert(&etl, "demikernel.pcapng");
    let once = home.tshark(&["-2", "-r", pcap.to_str().unwrap(), "-Y", "!pktmon.duplicate"]);
    assert_eq!(stdout(&once).lines().count(), 38);
    let all = home.tshark(&["-2", "-r", pcap.to_str().unwrap(), "-Y", "pktmon"]);
    assert_eq!(stdout(&all).lines().count(), 114);
    let capture = pktmon::source::read_capture(&etl).unwrap();
    same_rows(
        &path_fields(&home, &pcap),
        &expected_paths(&capture.appearances, capture.info.os_build),
        "demikernel",
    );
    // And from the ids alone (build 20348 keeps the PktGroupId along the path).
    assert_eq!(capture.info.os_build, Some(20348));
    same_rows(
        &path_fields(&home, &pcap),
        &id_paths(&capture.appearances),
        "demikernel, by its ids",
    );
    // The path of frame 3's packet runs over 4 components.
    let rows = path_fields(&home, &pcap);
    assert_eq!(rows[2][5], "4");
}

#[test]
fn finguard_paths_on_a_24h2_build_agree_with_the_etl() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let Some(home) = PluginHome::new("finguard-paths") else {
        return;
    };
    let pcap = home.convert(&etl, "finguard.pcapng");
    let capture = pktmon::source::read_capture(&etl).unwrap();
    let expected = expected_paths(&capture.appearances, capture.info.os_build);
    same_rows(&path_fields(&home, &pcap), &expected, "finguard");
    // Every event has its own PktGroupId on 26200, yet packets are linked.
    let packets = expected.iter().filter(|r| r[6].is_empty()).count();
    assert!(packets < 406 * 9 / 10, "{packets} packets: hops were not chained");
}

/// Writes `appearances` as microsoft/etl2pcapng would (IDB per component,
/// packet id, verdict, no comments) or with PktMon lines in comments only.
fn write_variant(capture: &pktmon::Capture, etl2pcapng_style: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_shb(&mut out, &Options::default()).unwrap();
    let mut interfaces: Vec<(Option<u16>, LinkType)> = Vec::new();
    let ctx = pktmon::model::Context {
        info: &capture.info,
        catalog: &capture.catalog,
        schemas: &Default::default(),
    };
    let mut blocks = Vec::new();
    for a in &capture.appearances {
        let key = if etl2pcapng_style {
            (a.component_id, a.link_type)
        } else {
            (None, a.link_type)
        };
        let iface = match interfaces.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                interfaces.push(key);
                let mut o = Options::default();
                if let Some(c) = key.0.and_then(|id| capture.components.get(id)) {
                    o.add_str(IF_NAME, &c.name);
                    o.add_str(IF_DESCRIPTION, &c.description);
                }
                o.add(IF_TSRESOL, &[7]);
                write_idb(&mut blocks, key.1.pcap_linktype(), 65535, &o).unwrap();
                interfaces.len() - 1
            }
        };
        let mut o = Options::default();
        if etl2pcapng_style {
            o.add(EPB_PACKETID, &a.group_id.unwrap().to_le_bytes());
            if a.is_drop() {
                o.add(EPB_VERDICT, &VERDICT_XDP_DROP);
            }
        } else {
            let line = pktmon::sink::txt::render_line(a, &ctx, None);
            o.add_str(OPT_COMMENT, &line);
        }
        let ts = pktmon::time::unix_ticks_100ns(a.time) as u64;
        write_epb(&mut blocks, iface as u32, ts, a.original_size, &a.payload, &o).unwrap();
    }
    out.extend_from_slice(&blocks);
    out
}

#[test]
fn the_same_events_written_three_ways_give_the_same_field_values() {
    let Some(home) = PluginHome::new("three-ways") else {
        return;
    };
    let mut etls = vec![capture("demikernel-PktMon.etl")];
    etls.extend(corpus("finguard-PktMon.etl"));
    for etl in etls {
        let capture = pktmon::source::read_capture(&etl).unwrap();
        let converted = home.convert(&etl, "converted.pcapng");
        let etl2pcapng = home.dir.path("etl2pcapng.pcapng");
        std::fs::write(&etl2pcapng, write_variant(&capture, true)).unwrap();
        let comments = home.dir.path("comments.pcapng");
        std::fs::write(&comments, write_variant(&capture, false)).unwrap();
        home.make_readable();
        let a = path_fields(&home, &converted);
        let b = path_fields(&home, &etl2pcapng);
        let c = path_fields(&home, &comments);
        assert_eq!(a.len(), capture.appearances.len());
        // Paths, group ids and drops are carried by all three.
        same_rows(&a, &b, &format!("{}: converter vs etl2pcapng-style", etl.display()));
        same_rows(&a, &c, &format!("{}: converter vs comment-only", etl.display()));
        // Direction and reason are carried by comments only; component names by interfaces only.
        let fields = |p: &std::path::Path| {
            field_rows(&home.tshark(&[
                "-r",
                p.to_str().unwrap(),
                "-T",
                "fields",
                "-e",
                "pktmon.direction",
                "-e",
                "pktmon.drop_reason",
                "-e",
                "pktmon.component_name",
                "-e",
                "pktmon.component_id",
            ]))
        };
        let (fa, fb, fc) = (fields(&converted), fields(&etl2pcapng), fields(&comments));
        for i in 0..fa.len() {
            assert_eq!(fa[i][0], fc[i][0], "direction, frame {}", i + 1);
            assert_eq!(fa[i][1], fc[i][1], "drop reason, frame {}", i + 1);
            assert_eq!(fa[i][3], fc[i][3], "component id, frame {}", i + 1);
            assert_eq!(fa[i][2], fb[i][2], "component name, frame {}", i + 1);
            assert!(
                fb[i][0].is_empty() && fb[i][1].is_empty(),
                "etl2pcapng carries no direction or reason"
            );
        }
    }
}

#[test]
fn plain_pktmon_etl2pcap_output_gets_one_note_and_no_guessing() {
    let Some(home) = PluginHome::new("plain") else { return };
    let cap = home.dir.path("plain.cap");
    std::fs::copy(capture("demikernel-PktMon.cap"), &cap).unwrap();
    home.make_readable();
    let out = home.tshark(&["-r", cap.to_str().unwrap(), "-q", "-z", "expert,note"]);
    let text = stdout(&out);
    assert!(text.contains("no PktMon metadata"), "{text}");
    let fields = stdout(&home.tshark(&["-r", cap.to_str().unwrap(), "-Y", "pktmon.group_id || pktmon.drop"]));
    assert_eq!(fields.lines().count(), 0, "no fields may be invented: {fields}");
    let notes = stdout(&home.tshark(&["-r", cap.to_str().unwrap(), "-Y", "pktmon"]));
    assert_eq!(notes.lines().count(), 1, "the note is said once: {notes}");
}

#[test]
fn corrupted_captures_crash_tshark_with_the_plugin_no_more_than_without() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let Some(home) = PluginHome::new("fuzz") else { return };
    let Some(editcap) = wireshark_program("editcap") else {
        return;
    };
    let pcap = home.convert(&etl, "base.pcapng");
    let variants = 500;
    let crashed = |o: &std::process::Output| {
        use std::os::unix::process::ExitStatusExt;
        o.status.signal().is_some() || !matches!(o.status.code(), Some(0) | Some(2))
    };
    let work: Vec<u32> = (0..variants).collect();
    let results: Vec<(u32, bool, bool)> = std::thread::scope(|s| {
        let chunks: Vec<_> = work
            .chunks(variants as usize / 2)
            .map(|chunk| {
                let home = &home;
                let pcap = &pcap;
                let editcap = &editcap;
                s.spawn(move || {
                    let mut res = Vec::new();
                    for &seed in chunk {
                        let v = home.dir.path(&format!("v{seed}.pcapng"));
                        let seed_arg = seed.to_string();
                        let editcap_args = [
                            "-E",
                            "0.02",
                            "--seed",
                            &seed_arg,
                            pcap.to_str().unwrap(),
                            v.to_str().unwrap(),
                        ];
                        let st = home.program(editcap, false, &editcap_args);
                        assert!(st.status.success() || v.exists(), "editcap failed: {}", stderr(&st));
                        let _ = std::process::Command::new("chmod").arg("a+r").arg(&v).status();
                        let args = ["-2", "-r", v.to_str().unwrap(), "-V"];
                        let with = home.tshark(&args);
                        let with_crash = crashed(&with);
                        // Only a crash needs the comparison run.
                        let without_crash = with_crash && crashed(&home.tshark_without_plugin(&args));
                        let _ = std::fs::remove_file(&v);
                        res.push((seed, with_crash, without_crash));
                    }
                    res
                })
            })
            .collect();
        chunks.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), variants as usize);
    let plugin_only: Vec<u32> = results
        .iter()
        .filter(|(_, w, wo)| *w && !*wo)
        .map(|(s, _, _)| *s)
        .collect();
    assert!(
        plugin_only.is_empty(),
        "tshark crashed with the plugin only on seeds {plugin_only:?}"
    );
}

#[test]
fn valgrind_sees_no_invalid_access_in_the_plugin() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let Some(home) = PluginHome::new("valgrind") else {
        return;
    };
    let Some(valgrind) = wireshark_program("valgrind") else {
        return;
    };
    let pcap = home.convert(&etl, "v.pcapng");
    let log = home.dir.path("valgrind.log");
    std::fs::write(&log, b"").unwrap();
    home.make_readable();
    // valgrind runs around tshark as the same unprivileged user.
    let tshark = inside(&home.tshark).display().to_string();
    let log_arg = format!("--log-file={}", inside(&log).display());
    let out = home.program(
        &valgrind,
        true,
        &[
            &log_arg,
            &tshark,
            "-2",
            "-V",
            "-r",
            pcap.to_str().unwrap(),
            "-z",
            "pktmon,drops",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Dropped by tcpip.sys"),
        "the plugin ran under valgrind"
    );
    let report = std::fs::read_to_string(&log).unwrap();
    let invalid: Vec<&str> = report
        .split("\n==")
        .filter(|b| b.contains("Invalid read") || b.contains("Invalid write") || b.contains("uninitialised"))
        .filter(|b| b.contains("pktmon"))
        .collect();
    assert!(
        invalid.is_empty(),
        "valgrind found problems in the plugin:\n{}",
        invalid.join("\n")
    );
    assert!(report.contains("ERROR SUMMARY"), "valgrind wrote its summary");
}

/// Plugins that claim another Wireshark minor version than `version`: a copy
/// of the plugin under test with its version patched, and, when
/// scripts/test-wireshark-versions.sh names one in `PKTMON_FOREIGN_PLUGIN_LIB`,
/// a plugin really built against another Wireshark's headers.
/// Each comes with the major.minor it was built for.
fn plugins_for_other_versions(version: &str) -> Vec<(String, (u32, u32), Vec<u8>)> {
    let own = std::fs::read(plugin_library()).unwrap();
    let minor = if version.ends_with(".2") { 4 } else { 2 };
    let mut out = vec![(
        format!("this plugin patched to claim 4.{minor}"),
        (4, minor),
        plugin_for_other_version(&own, 4, minor),
    )];
    if let Some(p) = std::env::var_os("PKTMON_FOREIGN_PLUGIN_LIB").filter(|v| !v.is_empty()) {
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("PKTMON_FOREIGN_PLUGIN_LIB={p:?}: {e}"));
        let built_for = plugin_marker_version(&bytes).expect("the foreign plugin has a version marker");
        assert_ne!(
            format!("{}.{}", built_for.0, built_for.1),
            version,
            "PKTMON_FOREIGN_PLUGIN_LIB must be built for another version"
        );
        out.push((
            format!("{} (built for another Wireshark)", p.to_string_lossy()),
            built_for,
            bytes,
        ));
    }
    out
}

#[test]
fn tshark_itself_refuses_a_plugin_built_for_another_version_though_it_exits_0() {
    let Some(tshark) = tshark() else { return };
    let version = wireshark_version(&tshark);
    for (what, (major, minor), bytes) in plugins_for_other_versions(&version) {
        let Some(home) = PluginHome::with_plugin("refused", &bytes) else {
            return;
        };
        let out = home.tshark(&["-G", "plugins"]);
        let err = stderr(&out);
        // Wireshark's loader prints this and skips the plugin; tshark still exits 0,
        // so only the message and the listing tell that the plugin did not load.
        // A plugin linked against another version's libwireshark (the host's own
        // build, not one made against a root's headers) fails earlier, at dlopen,
        // and so does one that imports a function this version's libraries lack
        // (4.6's file reader calls wtap_setup_packet_rec, new in 4.6).
        let said = format!("The plugin 'pktmon.so' was compiled for Wireshark version {major}.{minor}");
        let linked_elsewhere = [
            "Couldn't load plugin 'pktmon.so': libwireshark.so",
            "undefined symbol: ",
        ];
        let not_loadable =
            err.contains("Couldn't load plugin 'pktmon.so': ") && linked_elsewhere.iter().any(|m| err.contains(m));
        assert!(
            err.contains(&said) || (!what.starts_with("this plugin") && not_loadable),
            "{what} in Wireshark {version}'s folder: expected {said:?} on stderr (exit {:?}), got:\n{err}",
            out.status.code()
        );
        assert!(
            !stdout(&out).lines().any(|l| l.starts_with("pktmon.so")),
            "{what} is listed by tshark {version} -G plugins"
        );
        let protocols = stdout(&home.tshark(&["-G", "protocols"]));
        assert!(
            !protocols.lines().any(|l| l.split('\t').nth(2) == Some("pktmon")),
            "{what} registered its protocol in {version}"
        );
        eprintln!("tshark {version} refused {what} (exit {:?})", out.status.code());
    }
}

#[test]
fn install_plugin_copies_into_the_personal_folder_and_refuses_another_version() {
    let Some(tshark) = tshark() else { return };
    let version = wireshark_version(&tshark);
    let dir = TempDir::new("install");
    let home = dir.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let plugin = plugin_library();
    let run_install = |plugin: &std::path::Path| {
        let mut cmd = std::process::Command::new(bin());
        cmd.args(["install-plugin", "--plugin", plugin.to_str().unwrap()])
            .env("HOME", &home);
        if wireshark_root().is_some() {
            // This tshark runs on the host, not in the root: name the root's version.
            cmd.args(["--wireshark-version", &version]);
        }
        cmd.output().unwrap()
    };
    let out = run_install(plugin);
    assert!(out.status.success(), "{}", stderr(&out));
    let installed = home
        .join(".local/lib/wireshark/plugins")
        .join(&version)
        .join("epan/pktmon.so");
    assert_eq!(std::fs::read(&installed).unwrap(), std::fs::read(plugin).unwrap());
    assert!(stdout(&out).contains(installed.to_str().unwrap()), "{}", stdout(&out));
    // The installed copy loads in tshark (as an unprivileged user).
    let _ = std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(&dir.0)
        .status();
    let plugins = wireshark_command(&tshark, &home)
        .args(["-G", "plugins"])
        .output()
        .unwrap();
    assert!(
        stdout(&plugins).lines().any(|l| l.starts_with("pktmon.so")),
        "{}",
        stdout(&plugins)
    );

    // A plugin built for another minor version is refused with a clear message.
    let before = std::fs::read(&installed).unwrap();
    for (what, (major, minor), bytes) in plugins_for_other_versions(&version) {
        let other = dir.path("other.so");
        std::fs::write(&other, &bytes).unwrap();
        let out = run_install(&other);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("was built for Wireshark {major}.{minor}"))
                && err.contains(&format!("Wireshark {version} is installed")),
            "{what}: {err}"
        );
        assert!(
            err.contains("cargo build --release -p pktmon-wireshark"),
            "{what}: says how to rebuild: {err}"
        );
        assert!(
            err.contains("tested on Wireshark"),
            "{what}: names the tested versions: {err}"
        );
        assert_eq!(
            std::fs::read(&installed).unwrap(),
            before,
            "{what}: nothing replaced on refusal"
        );
    }
}

/// One event of the synthetic capture below, with what an independent
/// oracle knows of it: its (PktGroupId, PktNumber), which is its packet.
struct Event {
    time_ns: u64,
    group: u64,
    pkt: u16,
    appearance: u16,
    component: u16,
    drop: bool,
    payload: Vec<u8>,
}

/// A capture where packets appear at several components and some are
/// dropped several times (a multicast datagram dropped once per socket), as
/// PktMon lines in comments with shared ids (builds 19042/20348), in time
/// order with packets interleaved. Every frame has its own timestamp.
fn multi_drop_capture() -> (Vec<u8>, Vec<Event>) {
    let mut events = Vec::new();
    for i in 0..40u64 {
        let (group, pkt) = (5000 + i / 2, 1 + (i % 2) as u16);
        let hops = 2 + (i % 4) as u16;
        let drops = [0u16, 1, 3][(i % 3) as usize];
        // Ethernet, IPv4, UDP between ephemeral ports; bytes differ per packet.
        let mut p = vec![0x01, 0x00, 0x5e, 0, 0, 0xfb, 0x00, 0x15, 0x5d, 1, 2, 3, 0x08, 0x00];
        p.extend_from_slice(&[0x45, 0, 0, 32, (i >> 8) as u8, i as u8, 0, 0, 1, 17, 0, 0]);
        p.extend_from_slice(&[10, 0, 0, 7, 224, 0, 0, 251]);
        let port = 49152 + i as u16;
        p.extend_from_slice(&port.to_be_bytes());
        p.extend_from_slice(&60000u16.to_be_bytes());
        p.extend_from_slice(&[0, 12, 0, 0, b'p', b'k', b't', i as u8]);
        for j in 0..hops + drops {
            events.push(Event {
                time_ns: 1_700_000_000_000_000_000 + (i * 37 + j as u64 * 10) * 1000,
                group,
                pkt,
                appearance: j + 1,
                component: if j < hops { 1 + j } else { 20 + j - hops },
                drop: j >= hops,
                payload: p.clone(),
            });
        }
    }
    events.sort_by_key(|e| e.time_ns);
    let mut out = Vec::new();
    write_shb(&mut out, &Options::default()).unwrap();
    let mut o = Options::default();
    o.add(IF_TSRESOL, &[9]);
    write_idb(&mut out, 1, 65535, &o).unwrap();
    for e in &events {
        let ids = format!(
            "PktGroupId {}, PktNumber {}, Appearance {}, Direction Rx , Type Ethernet , Component {}",
            e.group, e.pkt, e.appearance, e.component
        );
        let line = if e.drop {
            format!(
                "Drop: {ids}, Filter 0, DropReason Socket closed , DropLocation 0xE0004500, OriginalSize {n}, \
                 LoggedSize {n} ",
                n = e.payload.len()
            )
        } else {
            format!(
                "{ids}, Edge 1, Filter 0, OriginalSize {n}, LoggedSize {n} ",
                n = e.payload.len()
            )
        };
        let mut o = Options::default();
        o.add_str(OPT_COMMENT, &line);
        write_epb(&mut out, 0, e.time_ns, e.payload.len() as u32, &e.payload, &o).unwrap();
    }
    assert_eq!(
        events
            .iter()
            .map(|e| e.time_ns)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        events.len(),
        "every frame has its own time"
    );
    (out, events)
}

/// The path fields the oracle expects for frames 1..=n (original numbering),
/// as `path_rows` reads them, when only the frames in `kept` are in the file
/// view (a read filter discarded the others: nothing links to them).
fn oracle_rows(events: &[Event], kept: &dyn Fn(usize) -> bool) -> BTreeMap<usize, Vec<String>> {
    let mut paths: BTreeMap<(u64, u16), Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        paths.entry((e.group, e.pkt)).or_default().push(i + 1);
    }
    let name = |f: Option<usize>| f.filter(|&f| kept(f)).map(|f| f.to_string()).unwrap_or_default();
    let mut rows = BTreeMap::new();
    for path in paths.values() {
        let first_drop = path.iter().copied().find(|&f| events[f - 1].drop);
        for (k, &f) in path.iter().enumerate() {
            if !kept(f) {
                continue;
            }
            let e = &events[f - 1];
            rows.insert(
                f,
                vec![
                    (k + 1).to_string(),
                    path.len().to_string(),
                    name(path.first().copied()),
                    name(k.checked_sub(1).map(|p| path[p])),
                    name(path.get(k + 1).copied()),
                    name(path.last().copied()),
                    name(if e.drop { Some(f) } else { first_drop }),
                    if e.drop { "1".into() } else { String::new() },
                    e.group.to_string(),
                ],
            );
        }
    }
    rows
}

/// Path fields of every frame tshark prints with `args`, keyed by the
/// frame's original number (found from its timestamp) and with frame
/// references translated back to original numbers.
fn path_rows(home: &PluginHome, events: &[Event], args: &[&str]) -> BTreeMap<usize, Vec<String>> {
    let mut all = args.to_vec();
    all.extend([
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "frame.time_epoch",
        "-e",
        "pktmon.hop",
        "-e",
        "pktmon.appearance_count",
        "-e",
        "pktmon.first_frame",
        "-e",
        "pktmon.prev_frame",
        "-e",
        "pktmon.next_frame",
        "-e",
        "pktmon.last_frame",
        "-e",
        "pktmon.dropped_in_frame",
        "-e",
        "pktmon.drop",
        "-e",
        "pktmon.group_id",
    ]);
    let out = home.tshark(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let rows = field_rows(&out);
    let original_of_time: BTreeMap<u64, usize> = events.iter().enumerate().map(|(i, e)| (e.time_ns, i + 1)).collect();
    let time_ns = |t: &str| {
        let (s, f) = t.split_once('.').unwrap();
        s.parse::<u64>().unwrap() * 1_000_000_000 + format!("{f:0<9}")[..9].parse::<u64>().unwrap()
    };
    // This run's frame number → the original one (only a read filter renumbers).
    let renumbered = args.contains(&"-R");
    let original: BTreeMap<String, usize> = rows
        .iter()
        .map(|r| (r[0].clone(), original_of_time[&time_ns(&r[1])]))
        .collect();
    rows.iter()
        .map(|r| {
            let mut v: Vec<String> = r[2..].to_vec();
            for cell in &mut v[2..7] {
                if !cell.is_empty() && renumbered {
                    *cell = original
                        .get(cell.as_str())
                        .unwrap_or_else(|| panic!("{args:?}: a reference to frame {cell}, which is not shown"))
                        .to_string();
                }
            }
            if v[7] == "True" {
                v[7] = "1".into();
            }
            (original[&r[0]], v)
        })
        .collect()
}

fn assert_same_paths(got: &BTreeMap<usize, Vec<String>>, want: &BTreeMap<usize, Vec<String>>, what: &str) {
    let names = [
        "hop",
        "count",
        "first",
        "prev",
        "next",
        "last",
        "dropped_in",
        "drop",
        "group",
    ];
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: frames shown"
    );
    for (f, w) in want {
        let g = &got[f];
        for (i, n) in names.iter().enumerate() {
            assert_eq!(
                g[i], w[i],
                "{what}: frame {f} (original numbering), {n}: got {g:?}, want {w:?}"
            );
        }
    }
}

/// Sum of the expert infos "Dropped by …" that `-z expert` listed.
fn expert_drops(text: &str) -> u32 {
    text.lines()
        .filter(|l| l.contains("Dropped by"))
        .filter_map(|l| l.split_whitespace().next()?.parse::<u32>().ok())
        .sum()
}

#[test]
fn every_drop_event_is_marked_in_one_and_two_passes_with_or_without_fields() {
    let Some(home) = PluginHome::new("every-drop") else {
        return;
    };
    let (bytes, events) = multi_drop_capture();
    let pcap = home.dir.path("multi-drop.pcapng");
    std::fs::write(&pcap, bytes).unwrap();
    home.make_readable();
    let file = pcap.to_str().unwrap();
    let drops = events.iter().filter(|e| e.drop).count() as u32;
    assert!(drops > 40, "several drops per packet: {drops}");
    for two_pass in [false, true] {
        let pass: &[&str] = if two_pass { &["-2"] } else { &[] };
        let with = |args: &[&str]| {
            let mut all = pass.to_vec();
            all.extend(["-r", file]);
            all.extend(args);
            stdout(&home.tshark(&all))
        };
        // No pktmon filter, field or column: expert info, Info column and table still count every drop.
        let expert = with(&["-q", "-z", "expert,warn"]);
        assert_eq!(expert_drops(&expert), drops, "two-pass {two_pass}: {expert}");
        let tables = drops_tables(&with(&["-q", "-z", "pktmon,drops"]));
        assert_eq!(tables.len(), 1);
        assert_eq!(
            tables[0][&("Total".into(), String::new())],
            drops,
            "two-pass {two_pass}"
        );
        assert_eq!(
            tables[0].get(&("Socket closed".into(), "component 21".into())).copied(),
            Some(events.iter().filter(|e| e.drop && e.component == 21).count() as u32),
            "{tables:?}"
        );
        let summary = with(&[]);
        assert_eq!(
            summary.matches("[PktMon drop: Socket closed @ component").count() as u32,
            drops,
            "two-pass {two_pass}: Info column"
        );
        // With a pktmon field filtered on, the same.
        let marked = with(&["-Y", "pktmon.hop"]);
        assert_eq!(
            marked.matches("[PktMon drop:").count() as u32,
            drops,
            "two-pass {two_pass}: -Y"
        );
    }
}

#[test]
fn paths_are_the_same_under_a_read_filter_as_under_a_display_filter() {
    let Some(home) = PluginHome::new("read-filter") else {
        return;
    };
    let (bytes, events) = multi_drop_capture();
    let pcap = home.dir.path("multi-drop.pcapng");
    std::fs::write(&pcap, bytes).unwrap();
    home.make_readable();
    let file = pcap.to_str().unwrap();
    // Every frame shown: the plugin agrees with the oracle.
    let everything = path_rows(&home, &events, &["-2", "-r", file]);
    assert_same_paths(&everything, &oracle_rows(&events, &|_| true), "no filter");
    // Each read filter with what it keeps, said independently of the plugin.
    type Keeps = fn(&Event) -> bool;
    let filters: [(&str, Keeps); 3] = [
        ("pktmon.drop", |e| e.drop),
        ("pktmon.component_id != 2", |e| e.component != 2),
        ("udp.srcport != 49153 && !(pktmon.appearance == 1)", |e| {
            e.payload[34..36] != 49153u16.to_be_bytes() && e.appearance != 1
        }),
    ];
    for (filter, keeps) in filters {
        let kept = |f: usize| keeps(&events[f - 1]);
        let shown = path_rows(&home, &events, &["-2", "-r", file, "-Y", filter]);
        let read = path_rows(&home, &events, &["-2", "-r", file, "-R", filter]);
        assert!(
            !read.is_empty() && read.len() < events.len(),
            "{filter}: {} frames",
            read.len()
        );
        // -Y keeps every frame's number, so it links to discarded frames too.
        assert_same_paths(
            &shown,
            &oracle_rows(&events, &|_| true)
                .into_iter()
                .filter(|(f, _)| kept(*f))
                .collect(),
            filter,
        );
        // -R renumbers: links to frames it discarded are absent, everything else is as with -Y.
        assert_same_paths(&read, &oracle_rows(&events, &kept), &format!("-R {filter}"));
    }
}

#[test]
fn frame_protocols_names_pktmon_and_the_drops_table_prints_whole_and_twice() {
    let Some(home) = PluginHome::new("protocols") else {
        return;
    };
    let (bytes, events) = multi_drop_capture();
    let pcap = home.dir.path("multi-drop.pcapng");
    std::fs::write(&pcap, bytes).unwrap();
    home.make_readable();
    let file = pcap.to_str().unwrap();
    let protocols = stdout(&home.tshark(&["-r", file, "-T", "fields", "-e", "frame.protocols"]));
    assert_eq!(protocols.lines().count(), events.len());
    assert!(protocols.lines().all(|l| l.ends_with(":pktmon")), "{protocols}");
    let filtered = stdout(&home.tshark(&["-r", file, "-Y", "frame.protocols contains \"pktmon\""]));
    assert_eq!(filtered.lines().count(), events.len());
    // Packet lines and two tables, into a pipe (fully buffered, as into a file):
    // every packet line whole and first, then the tables, each whole.
    let out = stdout(&home.tshark(&["-2", "-r", file, "-z", "pktmon,drops", "-z", "pktmon,drops"]));
    let lines: Vec<&str> = out.lines().collect();
    let packet_lines = lines
        .iter()
        .take_while(|l| !l.is_empty() && !l.starts_with("====="))
        .count();
    assert_eq!(packet_lines, events.len(), "{out}");
    for l in &lines[..packet_lines] {
        let n = l.split_whitespace().next().unwrap_or("");
        assert!(
            n.parse::<u32>().is_ok() && !l.contains("PktMon Drops"),
            "a broken packet line: {l:?}"
        );
    }
    let tables = drops_tables(&lines[packet_lines..].join("\n"));
    let drops = events.iter().filter(|e| e.drop).count() as u32;
    assert_eq!(tables.len(), 2, "{out}");
    for t in &tables {
        assert_eq!(t[&("Total".into(), String::new())], drops, "{out}");
    }
}

/// `install-plugin --colors` puts a "PktMon drop" rule first in the personal
/// colorfilters without losing the user's rules, Wireshark applies it to
/// every drop (tshark --color uses the same rules as the window), and
/// `--no-colors` gives the user's file back.
#[test]
fn install_plugin_colors_every_drop_and_keeps_the_users_rules() {
    let Some(tshark) = tshark() else { return };
    let Some(script) = wireshark_program("script") else {
        return;
    };
    let version = wireshark_version(&tshark);
    let Some(home) = PluginHome::new("colors") else {
        return;
    };
    let (bytes, events) = multi_drop_capture();
    let pcap = home.dir.path("multi-drop.pcapng");
    std::fs::write(&pcap, bytes).unwrap();
    let user_home = home.dir.path("home");
    let config = user_home.join(".config/wireshark");
    std::fs::create_dir_all(&config).unwrap();
    let users =
        "# This file was created by Wireshark. Edit with care.\n@Mine@udp.dstport == 60000@[0,0,0][65535,65535,0]\n";
    std::fs::write(config.join("colorfilters"), users).unwrap();
    let install = |flag: &str| {
        let mut cmd = std::process::Command::new(bin());
        cmd.args(["install-plugin", "--plugin", plugin_library().to_str().unwrap(), flag])
            .args(["--wireshark-version", &version])
            .env("HOME", &user_home);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{flag}: {}", stderr(&out));
        std::fs::read_to_string(config.join("colorfilters")).unwrap()
    };
    let with = install("--colors");
    let rules: Vec<&str> = with.lines().filter(|l| l.starts_with('@')).collect();
    assert!(rules[0].starts_with("@PktMon drop@pktmon.drop@"), "{with}");
    assert_eq!(rules[1], "@Mine@udp.dstport == 60000@[0,0,0][65535,65535,0]");
    home.make_readable();
    // Colored output goes to a terminal only: `script` gives tshark one.
    let command = format!("{} -r {} --color", inside(&tshark).display(), inside(&pcap).display());
    let out = wireshark_command(&script, &user_home)
        .args(["-qc", &command, "/dev/null"])
        .env("COLORTERM", "truecolor")
        .output()
        .unwrap();
    let text = stdout(&out);
    if stderr(&out).contains("pseudo-terminal") || text.contains("pseudo-terminal") {
        // A root filesystem without /dev/pts mounted (scripts/test-wireshark-versions.sh).
        eprintln!("skipped the colours tshark shows: script found no pseudo-terminal");
    } else {
        let magenta_rows = text.lines().filter(|l| l.contains("48;2;139;0;139m")).count();
        let drops = events.iter().filter(|e| e.drop).count();
        let head = text.lines().take(5).collect::<Vec<_>>().join("\n");
        assert_eq!(magenta_rows, drops, "{head}");
        assert!(
            text.lines().filter(|l| l.contains("48;2;0;0;0m")).count() == events.len() - drops,
            "the user's rule colours the other frames"
        );
    }
    assert_eq!(install("--no-colors"), users, "only our rule is removed");
}

/// Wi-Fi frames as PktMon logs them, converted: a null-data frame (24 bytes,
/// FC 48 02) decodes as 802.11 "Null function", not as Ethernet; a data frame
/// the driver decrypted but left marked Protected (FC 08 42, LLC/SNAP body)
/// decodes down to IP and UDP; with `--raw-80211` (`raw_80211(true)`) its bytes
/// are PktMon's and Wireshark sees protected data.
#[test]
fn converted_wifi_frames_decode_in_wireshark() {
    use pktmon::model::{CaptureInfo, Context, Record, RecordSink};
    use pktmon::sink::pcapng::{ConvertOptions, PcapngConverter};
    let Some(home) = PluginHome::new("wifi") else { return };
    let mut null = vec![0x48, 0x02, 0x2c, 0x00];
    null.extend_from_slice(&[0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x34, 0xf7, 0x16, 0x95, 0x71, 0xea]);
    null.extend_from_slice(&[0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x40, 0xb2]);
    let mut data = vec![0x08, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    data.extend_from_slice(&[
        0x34, 0xf7, 0x16, 0x95, 0x71, 0xea, 0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x80, 0xb2,
    ]);
    data.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    data.extend_from_slice(&[0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    data.extend_from_slice(&[0xc0, 0x00, 0xea, 0x60, 0, 8, 0, 0]);
    let info = CaptureInfo::default();
    let catalog = pktmon::pktmon::catalog::Catalog::builtin(None);
    let schemas = Default::default();
    let ctx = Context {
        info: &info,
        catalog: &catalog,
        schemas: &schemas,
    };
    let write = |name: &str, raw: bool| {
        let out = home.dir.path(name);
        let mut conv = PcapngConverter::new(&out, ConvertOptions::default())
            .unwrap()
            .raw_80211(raw);
        for (i, payload) in [null.clone(), data.clone()].into_iter().enumerate() {
            let link = pktmon::pktmon::events::link_type_for(2, &payload);
            let size = payload.len() as u32;
            let mut a = Appearance::bare(i as u64, 133_000_000_000_000_000 + i as i64, link, payload, size);
            a.group_id = Some(100 + i as u64);
            a.pkt_number = Some(1);
            a.appearance = Some(1);
            a.direction = Some(3);
            a.packet_type = Some(2);
            a.component_id = Some(12);
            a.logged_size = size;
            conv.record(&ctx, Record::Packet(a));
        }
        conv.finish(&info).unwrap();
        home.make_readable();
        out
    };
    let fields = |p: &std::path::Path| {
        field_rows(&home.tshark(&[
            "-r",
            p.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.protocols",
            "-e",
            "wlan.fc.type_subtype",
            "-e",
            "wlan.fc.protected",
            "-e",
            "udp.dstport",
            "-e",
            "pktmon.packet_type",
        ]))
    };
    let converted = fields(&write("wifi.pcapng", false));
    assert!(
        converted[0][0].starts_with("wlan"),
        "null data is 802.11: {converted:?}"
    );
    // Null function (No data): type 2, subtype 4.
    let subtype = u32::from_str_radix(converted[0][1].trim_start_matches("0x"), 16);
    assert_eq!(subtype, Ok(0x24), "{converted:?}");
    assert!(converted[1][0].starts_with("wlan:llc:ip:udp"), "{converted:?}");
    assert!(matches!(converted[1][2].as_str(), "0" | "False"), "{converted:?}");
    assert_eq!(converted[1][3], "60000");
    assert!(
        converted.iter().all(|r| r[4] == "WiFi"),
        "the plugin reads them: {converted:?}"
    );
    let raw = fields(&write("raw.pcapng", true));
    assert!(matches!(raw[1][2].as_str(), "1" | "True"), "{raw:?}");
    assert!(raw[1][3].is_empty(), "protected data is not decoded: {raw:?}");
}
