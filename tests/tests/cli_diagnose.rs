//! `diagnose` and `dedup` end to end.

use std::collections::BTreeSet;

use pktmon_tests::*;

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

#[test]
fn finguard_drops_all_become_local_findings_whose_filters_select_their_frames() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let v = json_of(&["diagnose", etl.to_str().unwrap(), "--json", "-"]);
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["inputs"][0]["totals"]["drop_events"], 28);
    // The verdict as an engineer reads the capture: a client on this host tries three
    // loopback ports where nothing listens; tcpip drops each SYN (no endpoint) and
    // answers RST. The Wi-Fi miniport's Unsupported EtherType drops and one duplicate
    // segment on a closing connection are background.
    let verdict = &v["inputs"][0]["verdict"];
    assert_eq!(verdict["status"], "problems");
    let problems = verdict["problems"].as_array().unwrap();
    let servers: BTreeSet<&str> = problems.iter().map(|p| p["endpoints"][0].as_str().unwrap()).collect();
    assert_eq!(
        servers,
        BTreeSet::from(["127.0.0.1:6469", "127.0.0.1:28194", "127.0.0.1:8080"])
    );
    for p in problems {
        assert_eq!(
            (&p["locality"], &p["cause"], &p["severity"]),
            (&"local".into(), &"unreachable".into(), &1.into()),
            "{p}"
        );
        assert!(p["title"].as_str().unwrap().contains("refused"), "{p}");
        assert!(
            p["title"]
                .as_str()
                .unwrap()
                .contains("transport endpoint was not found"),
            "{p}"
        );
    }
    let background: BTreeSet<(String, u64)> = verdict["background"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["kind"].as_str().unwrap().to_string(),
                b["drop_events"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        background,
        BTreeSet::from([("unbound_ethertype".to_string(), 2), ("close_time_tcp".to_string(), 1)])
    );
    // Every drop event is counted once: in one problem or in the background.
    let in_problems: u64 = problems.iter().map(|p| p["drop_events"].as_u64().unwrap()).sum();
    assert_eq!(in_problems + verdict["background_drop_events"].as_u64().unwrap(), 28);
    let findings = v["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    // Every drop event is evidence of some finding, and each drop's cause is local.
    let drop_frames: BTreeSet<u64> = {
        let capture = pktmon::source::read_capture(&etl).unwrap();
        capture
            .appearances
            .iter()
            .filter(|a| a.is_drop())
            .map(|a| a.index + 1)
            .collect()
    };
    assert_eq!(drop_frames.len(), 28);
    let mut covered = BTreeSet::new();
    for f in findings {
        let frames: Vec<u64> = f["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        let drops = f["drops"].as_array().unwrap();
        if !drops.is_empty() {
            // Drops name local causes, except a received RST: the peer reset the connection.
            let want = if drops[0][0]["reason"] == 1210 {
                "remote"
            } else {
                "local"
            };
            assert_eq!(f["locality"], want, "{f}");
        }
        covered.extend(frames.iter().copied().filter(|n| drop_frames.contains(n)));
    }
    assert_eq!(covered, drop_frames, "every drop is in a finding's evidence");
    // Causes as the catalog gives them. finguard has no finding with a 1204 drop alone: 918
    // ("Arbitration unhandled", other) comes with it, and 1204 names the cause.
    let with_reason = |code: u64| -> Vec<&serde_json::Value> {
        findings
            .iter()
            .filter(|f| f["drops"].as_array().unwrap().iter().any(|d| d[0]["reason"] == code))
            .collect()
    };
    let transport = with_reason(1204);
    assert!(!transport.is_empty(), "{findings:#?}");
    for f in transport {
        assert_eq!(
            (&f["locality"], &f["cause"]),
            (&"local".into(), &"unreachable".into()),
            "{f}"
        );
    }
    // 1217 duplicate segment: a local session loss.
    let duplicate = with_reason(1217);
    assert_eq!(duplicate.len(), 1, "{findings:#?}");
    assert_eq!(
        (&duplicate[0]["locality"], &duplicate[0]["cause"]),
        (&"local".into(), &"session_loss".into())
    );
    // 1210 received RST alone: the peer reset the connection.
    let resets: Vec<_> = findings
        .iter()
        .filter(|f| f["drops"].as_array().unwrap().iter().all(|d| d[0]["reason"] == 1210))
        .filter(|f| !f["drops"].as_array().unwrap().is_empty())
        .collect();
    assert!(!resets.is_empty(), "{findings:#?}");
    for f in resets {
        assert_eq!(
            (&f["locality"], &f["cause"]),
            (&"remote".into(), &"session_loss".into()),
            "{f}"
        );
    }

    // Each finding's display filter selects exactly its frames in the converted pcapng.
    let Some(tshark) = tshark() else { return };
    let dir = TempDir::new("diag-filters");
    let pcap = dir.path("f.pcapng");
    let o = run(&["convert", etl.to_str().unwrap(), "-o", pcap.to_str().unwrap()]);
    assert!(o.status.success());
    for f in findings {
        let filter = f["display_filter"].as_str().unwrap();
        let out = std::process::Command::new(&tshark)
            .args([
                "-r",
                pcap.to_str().unwrap(),
                "-Y",
                filter,
                "-T",
                "fields",
                "-e",
                "frame.number",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{filter}: {}", stderr(&out));
        let got: Vec<u64> = stdout(&out).lines().map(|l| l.trim().parse().unwrap()).collect();
        let want: Vec<u64> = f["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(got, want, "{filter}");
    }
}

#[test]
fn finguard_pktmon_filters_select_the_drops_of_each_finding_in_tshark_with_the_plugin() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let Some(home) = PluginHome::new("diag-pktmon-filters") else {
        return;
    };
    let pcap = home.convert(&etl, "f.pcapng");
    let v = json_of(&["diagnose", etl.to_str().unwrap(), "--json", "-"]);
    // Drop frames (numbered as in the converted file) by (reason, location, component).
    let capture = pktmon::source::read_capture(&etl).unwrap();
    let drop_frames = |reason: u64, location: &str, component: u64| -> BTreeSet<u64> {
        capture
            .appearances
            .iter()
            .filter(|a| {
                a.drop.as_ref().is_some_and(|d| {
                    d.reason == Some(reason as u32)
                        && d.location.map(|l| format!("0x{l:08X}")).as_deref() == Some(location)
                }) && a.component_id == Some(component as u16)
            })
            .map(|a| a.index + 1)
            .collect()
    };
    let mut checked = 0;
    let findings = v["findings"].as_array().unwrap();
    for f in findings {
        if f["drops"].as_array().unwrap().is_empty() {
            continue;
        }
        // Every finding with drops has a filter on the plugin's fields.
        let filter = f["pktmon_filter"]
            .as_str()
            .unwrap_or_else(|| panic!("no pktmon_filter: {f}"));
        checked += 1;
        let out = home.tshark(&[
            "-r",
            pcap.to_str().unwrap(),
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
        ]);
        let got: BTreeSet<u64> = stdout(&out).lines().map(|l| l.trim().parse().unwrap()).collect();
        let drops_listed: u64 = f["drops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d[1].as_u64().unwrap())
            .sum();
        assert!(got.len() as u64 >= drops_listed, "{filter} selects {got:?}");
        let frames: BTreeSet<u64> = f["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert!(
            !got.is_disjoint(&frames),
            "{filter} selects none of the finding's frames"
        );
        // Exactly the drops of the file with the finding's (reason, location, component)s.
        let want: BTreeSet<u64> = f["drops"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| {
                drop_frames(
                    d[0]["reason"].as_u64().unwrap(),
                    d[0]["location"].as_str().unwrap(),
                    d[0]["component"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(!want.is_empty(), "{f}");
        assert_eq!(got, want, "{filter}");
    }
    assert!(checked > 0 && checked <= findings.len(), "{checked} findings checked");
}

#[test]
fn outputs_jsonl_csv_and_fail_on() {
    let Some(etl) = corpus("finguard-PktMon.etl") else {
        return;
    };
    let dir = TempDir::new("diag-outputs");
    let jsonl = dir.path("f.jsonl");
    let csv = dir.path("csv");
    let out = run(&[
        "diagnose",
        etl.to_str().unwrap(),
        "--jsonl",
        jsonl.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("PROBLEMS 3 problems"), "{text}");
    assert!(
        text.contains("[LOCAL unreachable] Connections to 127.0.0.1:6469 are refused"),
        "{text}"
    );
    assert_eq!(
        text.matches("next: ").count(),
        3,
        "every problem has a next step: {text}"
    );
    assert!(text.contains("background, harmless: "), "{text}");
    assert!(
        !text.contains("REMOTE session_loss"),
        "findings only with --all: {text}"
    );
    let all = stdout(&run(&["diagnose", etl.to_str().unwrap(), "--all"]));
    assert!(all.contains("REMOTE session_loss — local drop"), "{all}");
    assert!(all.contains("(background: unbound_ethertype)"), "{all}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    assert!(lines
        .iter()
        .all(|l| l["file"].as_str().unwrap().ends_with("finguard-PktMon.etl")));
    let drops_csv = std::fs::read_to_string(csv.join("drops.csv")).unwrap();
    let total: u64 = drops_csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 28);
    let findings_csv = std::fs::read_to_string(csv.join("findings.csv")).unwrap();
    let finding_lines = lines.iter().filter(|l| l["record"] == "finding").count();
    let problem_lines = lines.iter().filter(|l| l["record"] == "problem").count();
    assert_eq!((problem_lines, finding_lines + problem_lines), (3, lines.len()));
    assert_eq!(findings_csv.lines().count(), finding_lines + 1);
    let problems_csv = std::fs::read_to_string(csv.join("problems.csv")).unwrap();
    assert_eq!(problems_csv.lines().count(), 4, "{problems_csv}");
    assert!(problems_csv.starts_with("file,status,rank,severity,locality,cause,title"));
    assert!(findings_csv.starts_with("file,locality,cause,symptom,count"));
    // --fail-on: 1 when a finding matches, 0 when none does.
    assert_eq!(
        run(&["diagnose", etl.to_str().unwrap(), "--fail-on", "local"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["diagnose", etl.to_str().unwrap(), "--fail-on", "mtu,congestion"])
            .status
            .code(),
        Some(0)
    );
    let bad = run(&["diagnose", etl.to_str().unwrap(), "--fail-on", "weather"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("neither a locality"), "{}", stderr(&bad));
}

#[test]
fn batch_over_a_folder_reports_each_file_and_the_bad_one_fails_with_its_name() {
    let dir = TempDir::new("diag-batch");
    std::fs::copy(capture("demikernel-PktMon.etl"), dir.path("a.etl")).unwrap();
    std::fs::copy(capture("demikernel-PktMon.cap"), dir.path("b.cap")).unwrap();
    // Not a capture: skipped in one line. A capture cut inside its first buffer: damaged, exit code 2.
    std::fs::write(dir.path("c.txt"), b"this is not a capture").unwrap();
    let etl = std::fs::read(capture("demikernel-PktMon.etl")).unwrap();
    std::fs::write(dir.path("d.etl"), &etl[..300]).unwrap();
    let out = run(&["diagnose", dir.0.to_str().unwrap(), "--json", "-", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("skipped {}: not a capture\n", dir.path("c.txt").display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("error: {}: ", dir.path("d.etl").display())),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inputs = v["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    assert_eq!(inputs[0]["totals"]["appearances"], 114);
    assert_eq!(inputs[0]["totals"]["packets"], 38);
    assert_eq!(inputs[1]["has_pktmon_metadata"], false);
    assert!(
        inputs[2]["error"].as_str().unwrap().contains("the file was cut short"),
        "{}",
        inputs[2]
    );
    assert_eq!(v["totals"]["inputs"], 3);
    assert_eq!(v["totals"]["inputs_failed"], 1);
}

#[test]
fn dedup_keeps_one_appearance_per_packet() {
    let dir = TempDir::new("dedup");
    let out_path = dir.path("d.pcapng");
    let out = run(&[
        "dedup",
        capture("demikernel-PktMon.etl").to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let c = pktmon::source::read_capture(&out_path).unwrap();
    assert_eq!(c.appearances.len(), 38);
    let ids: BTreeSet<(u64, u16)> = c
        .appearances
        .iter()
        .map(|a| (a.group_id.unwrap(), a.pkt_number.unwrap()))
        .collect();
    assert_eq!(ids.len(), 38, "one appearance of each packet");
    assert!(
        c.appearances.iter().all(|a| a.appearance == Some(1)),
        "the first appearance is the one kept"
    );
    if let Some(tshark) = tshark() {
        let o = std::process::Command::new(tshark)
            .args(["-r", out_path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success());
        assert_eq!(stdout(&o).lines().count(), 38);
    }
}
