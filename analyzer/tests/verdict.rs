//! The verdict on hand-built captures: each rule of `pktmon::diagnose::verdict`
//! (background, grouping, ranking) and each corrected claim, on packets made
//! byte by byte so that the expected answer is known without the tool.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use pktmon::diagnose::verdict::BACKGROUND_RULES;
use pktmon::diagnose::{Cause, Locality, Status};
use pktmon::flows::{FlowAnalyzer, PacketInput};
use pktmon::generate::wire;
use pktmon::model::*;

mod hand_built;
use hand_built::*;

#[test]
fn a_rst_answering_a_syn_is_a_refusal_not_a_session_loss() {
    let server = v4([10, 0, 0, 9]);
    let mut c = Cap::new(20348);
    for (k, port) in [(0, 50001u16), (1, 50002)] {
        let t = k * SEC;
        c.put(
            t,
            tcp((host(), port), (server, 80), SYN, 1000, 0, 0, 128, 1),
            TX,
            12,
            None,
            None,
        );
        c.put(
            t + MS,
            tcp((server, 80), (host(), port), RST | ACK, 0, 1001, 0, 64, 0),
            RX,
            12,
            None,
            None,
        );
    }
    let d = c.diagnose();
    assert!(
        d.findings.iter().all(|f| f.cause != Cause::SessionLoss),
        "{:#?}",
        d.findings
    );
    let v = &d.verdict;
    assert_eq!(v.status, Status::Problems);
    assert_eq!(
        v.problems.len(),
        1,
        "two refused connections to one server are one problem: {v:#?}"
    );
    let p = &v.problems[0];
    assert_eq!(
        (p.cause, p.locality, p.severity, p.flows),
        (Cause::Unreachable, Locality::Remote, 1, 2)
    );
    assert_eq!(p.endpoints, vec!["10.0.0.9:80".to_string()]);
    assert!(p.title.contains("refuses connections"), "{}", p.title);
    assert_eq!(p.display_filter, "ip.addr == 10.0.0.9 && tcp.port == 80");
}

#[test]
fn a_reset_after_idle_with_the_servers_ttl_is_its_idle_timeout_not_a_nat() {
    let server = v4([10, 0, 0, 9]);
    let mut c = Cap::new(20348);
    c.handshake(0, 50001, server, 443);
    c.put(
        3 * MS,
        tcp((host(), 50001), (server, 443), PSH | ACK, 1001, 5001, 100, 128, 3),
        TX,
        12,
        None,
        None,
    );
    c.put(
        4 * MS,
        tcp((server, 443), (host(), 50001), ACK, 5001, 1101, 0, 64, 0),
        RX,
        12,
        None,
        None,
    );
    // 100 s idle (flows are forgotten after 120 s without news).
    c.put(
        100 * SEC,
        tcp((server, 443), (host(), 50001), RST | ACK, 5001, 1101, 0, 64, 0),
        RX,
        12,
        None,
        None,
    );
    let d = c.diagnose();
    let f = d
        .findings
        .iter()
        .find(|f| f.symptom == "connection reset")
        .expect("a reset finding");
    assert_eq!((f.cause, f.locality), (Cause::SessionLoss, Locality::Remote));
    assert!(!f.explanation.contains("NAT"), "{}", f.explanation);
    assert!(
        f.explanation.contains("idle timeout") && f.explanation.contains("99 s"),
        "{}",
        f.explanation
    );
}

#[test]
fn discovery_and_unjoined_multicast_drops_are_background_counted_per_packet() {
    let mut c = Cap::new(20348);
    let mdns = v4([224, 0, 0, 251]);
    let peer = v4([10, 0, 0, 20]);
    for k in 0..3 {
        let t = k * SEC;
        let bytes = udp((peer, 5353), (mdns, 5353), &[k as u8; 40], 255);
        let g = c.put(t, bytes.clone(), RX, 12, None, None);
        // One drop event per socket that could not take it: three sockets, one packet.
        for s in 0..3 {
            c.put(t + (s + 1) * 10, bytes.clone(), RX, 101, Some(1204), Some(g));
        }
    }
    let hsrp = udp((v4([10, 0, 0, 2]), 1985), (v4([224, 0, 0, 102]), 1985), &[0; 20], 1);
    c.put(5 * SEC, hsrp, RX, 101, Some(902), None);
    let d = c.diagnose();
    let v = &d.verdict;
    assert_eq!(v.status, Status::Healthy, "{v:#?}");
    assert!(v.problems.is_empty());
    let by: BTreeMap<&str, (u64, u64)> = v
        .background
        .iter()
        .map(|b| (b.kind, (b.packets, b.drop_events)))
        .collect();
    assert_eq!(by.get("discovery_no_listener"), Some(&(3, 9)), "{by:?}");
    assert_eq!(by.get("multicast_not_joined"), Some(&(1, 1)), "{by:?}");
    assert_eq!(v.background_drop_events, 10);
    // --fail-on ignores background.
    let result = pktmon::sink::report::InputResult {
        file: "x".into(),
        diagnosis: Some(d.clone()),
        error: None,
        warnings: Vec::new(),
    };
    let fail = |s: &str| pktmon::sink::report::fails(std::slice::from_ref(&result), &[s.parse().unwrap()]);
    assert!(!fail("unreachable") && !fail("local") && !fail("no_route"));
}

#[test]
fn a_background_looking_drop_on_a_live_flow_is_a_problem() {
    // A server's data segment that tcpip drops as a "duplicate segment" (a reason the
    // close-time rule would hold harmless) is sent again: the retransmission names it.
    let server = v4([10, 0, 0, 9]);
    let mut c = Cap::new(20348);
    c.handshake(0, 50001, server, 443);
    let data = tcp((server, 443), (host(), 50001), PSH | ACK, 5001, 1001, 500, 64, 0);
    let g = c.put(10 * MS, data.clone(), RX, 12, None, None);
    c.put(10 * MS + 5, data.clone(), RX, 101, Some(1217), Some(g));
    c.put(400 * MS, data, RX, 12, None, None);
    c.put(
        401 * MS,
        tcp((host(), 50001), (server, 443), ACK, 1001, 5501, 0, 128, 3),
        TX,
        12,
        None,
        None,
    );
    let d = c.diagnose();
    assert!(d.verdict.background.is_empty(), "{:#?}", d.verdict.background);
    let p = d
        .verdict
        .problems
        .iter()
        .find(|p| p.drop_events == 1)
        .expect("the drop is a problem's");
    assert_eq!(p.locality, Locality::Local);
}

#[test]
fn queries_that_get_nothing_back_are_a_problem_of_their_own() {
    let dns = v4([10, 0, 0, 53]);
    let mut c = Cap::new(20348);
    for k in 0..4u16 {
        c.put(
            k as i64 * SEC,
            udp((host(), 50001 + k), (dns, 53), &[1; 30], 128),
            TX,
            12,
            None,
            None,
        );
    }
    // Another server answers: no problem there.
    let other = v4([10, 0, 0, 54]);
    for k in 0..3u16 {
        let t = 10 * SEC + k as i64 * SEC;
        c.put(
            t,
            udp((host(), 51001 + k), (other, 53), &[1; 30], 128),
            TX,
            12,
            None,
            None,
        );
        c.put(
            t + MS,
            udp((other, 53), (host(), 51001 + k), &[2; 60], 64),
            RX,
            12,
            None,
            None,
        );
    }
    let d = c.diagnose();
    let v = &d.verdict;
    assert_eq!(v.problems.len(), 1, "{v:#?}");
    let p = &v.problems[0];
    assert_eq!(p.endpoints, vec!["10.0.0.53:53".to_string()]);
    assert_eq!((p.severity, p.flows, p.packets), (1, 1, 4));
    assert!(p.next_step.contains("Resolve-DnsName"), "{}", p.next_step);
}

#[test]
fn tcpip_rewritten_copy_and_a_changed_group_id_are_one_packet() {
    // 24H2+: ids go up by one per hop on one CPU. A segment received at the NIC (hop 1),
    // the filter (hop 2, on another CPU's counter: the id changed part-way) and tcpip
    // (hop 3, which logs its drop with TTL 1 and IP id 0).
    let server = v4([10, 0, 0, 9]);
    let cpu = |c: u64, n: u64| (c << 48) | n;
    let mut c = Cap::new(26100);
    let seg = tcp((server, 443), (host(), 50001), PSH | ACK, 5001, 1001, 300, 64, 4321);
    let rewritten = tcp((server, 443), (host(), 50001), PSH | ACK, 5001, 1001, 300, 1, 0);
    c.put(0, seg.clone(), RX, 12, None, Some(cpu(1, 100)));
    c.put(5, seg.clone(), RX, 30, None, Some(cpu(2, 900)));
    c.put(10, rewritten, RX, 101, Some(909), Some(cpu(2, 901)));
    let d = c.diagnose();
    assert_eq!((d.totals.appearances, d.totals.packets), (3, 1), "{:#?}", d.findings);
    assert!(d
        .findings
        .iter()
        .all(|f| !f.symptom.contains("retransmission") && f.symptom != "duplicate ACK"));
    let p = &d.verdict.problems[0];
    assert_eq!((p.packets, p.drop_events, p.cause), (1, 1, Cause::Policy));
    assert!(
        p.next_step.contains("{0CCE9225-69AE-11D9-BED3-505054503030}"),
        "{}",
        p.next_step
    );
}

#[test]
fn a_capture_that_starts_mid_connection_keeps_client_and_server() {
    let server = v4([10, 0, 0, 9]);
    let mut a = FlowAnalyzer::new();
    let packets = [
        tcp((server, 443), (host(), 50123), PSH | ACK, 9000, 2000, 100, 64, 1),
        tcp((host(), 50123), (server, 443), ACK, 2000, 9100, 0, 128, 2),
    ];
    for (i, p) in packets.iter().enumerate() {
        a.push(&PacketInput {
            packet: i,
            appearance: i as u64,
            time: i as i64 * MS,
            link_type: LinkType::Ethernet,
            bytes: p,
            original_len: p.len() as u32,
        });
    }
    let r = a.finish();
    assert_eq!(r.flows.len(), 1);
    let k = r.flows[0].key;
    assert_eq!((k.server, k.server_port, k.client_port), (server, 443, 50123));
}

#[test]
fn a_capture_without_packets_has_nothing_to_diagnose() {
    let d = Cap::new(22621).diagnose();
    assert_eq!(d.verdict.status, Status::NothingToDiagnose);
    assert!(
        d.verdict.summary.contains("pktmon start --capture"),
        "{}",
        d.verdict.summary
    );
}

/// Flow counters of a filter (component 30): Upper(1) and Lower(2), Rx in and Tx out.
fn edges(c: &mut Cap, lower: (u64, u64), upper: (u64, u64)) {
    for (name, edge, (rx, tx)) in [("Upper", 1u16, upper), ("Lower", 2, lower)] {
        c.records.push(Record::FlowCounters(FlowCounters {
            component_id: 30,
            edge_name: name.into(),
            edge_id: edge,
            direction_in: RX,
            packets_in: rx,
            bytes_in: rx * 100,
            direction_out: TX,
            packets_out: tx,
            bytes_out: tx * 100,
        }));
    }
}

#[test]
fn a_filter_that_lets_fewer_packets_out_than_in_without_a_drop_is_a_silent_drop() {
    let server = v4([10, 0, 0, 9]);
    let mut c = Cap::new(20348);
    c.put(
        0,
        tcp((server, 443), (host(), 50001), ACK, 1, 1, 0, 64, 1),
        RX,
        12,
        None,
        None,
    );
    // 5 in at the lower edge, 1 out at the upper; Tx passes whole.
    edges(&mut c, (5, 8), (1, 8));
    let d = c.diagnose();
    let p = d
        .verdict
        .problems
        .iter()
        .find(|p| p.title.contains("filter.sys"))
        .unwrap_or_else(|| panic!("{:#?}", d.verdict));
    assert_eq!((p.locality, p.packets), (Locality::Local, 4));
    assert!(p.title.contains("4 of the 5 packets"), "{}", p.title);
    assert_eq!(p.endpoints, vec!["component 30 filter.sys".to_string()]);
    // Equal counts, or more out than in (a filter adding its own frames), are no loss.
    // Nor is a component whose other edge passed nothing at all: it ends the traffic
    // (XDP handing packets to its sockets, as in the bundled demikernel capture).
    for (lower, upper) in [((5, 8), (5, 8)), ((5, 3), (5, 1)), ((19, 19), (0, 0))] {
        let mut c = Cap::new(20348);
        c.put(
            0,
            tcp((server, 443), (host(), 50001), ACK, 1, 1, 0, 64, 1),
            RX,
            12,
            None,
            None,
        );
        edges(&mut c, lower, upper);
        let d = c.diagnose();
        assert!(
            d.findings.iter().all(|f| !f.symptom.contains("filter")),
            "{lower:?} {upper:?}"
        );
    }
}

#[test]
fn unanswered_arp_is_remote_unless_packets_waited_for_it() {
    let mut c = Cap::new(20348);
    for k in 0..3 {
        let mut f = Vec::new();
        wire::arp_request(&mut f, HOST_MAC, Ipv4Addr::from(HOST), Ipv4Addr::new(10, 0, 0, 99));
        c.put(k * SEC, f, TX, 12, None, None);
    }
    let d = c.diagnose();
    let p = &d.verdict.problems[0];
    assert_eq!((p.locality, p.cause), (Locality::Remote, Cause::AddressResolution));
    assert_eq!(p.endpoints, vec!["10.0.0.99".to_string()]);
    assert_eq!(p.display_filter, "arp.dst.proto_ipv4 == 10.0.0.99");
    assert_eq!(p.severity, 3, "one burst that nothing waited for is a single event");
}

#[test]
fn failed_connections_rank_before_loss_that_only_slowed_things() {
    let server = v4([10, 0, 0, 9]);
    let slow = v4([10, 0, 0, 10]);
    let mut c = Cap::new(20348);
    // A busy connection with three retransmissions (first copies left the NIC).
    c.handshake(0, 50001, slow, 443);
    let mut seq = 1001u32;
    for k in 0..3 {
        let t = SEC + k * SEC;
        let seg = tcp(
            (host(), 50001),
            (slow, 443),
            PSH | ACK,
            seq,
            5001,
            1000,
            128,
            10 + k as u16,
        );
        c.put(t, seg.clone(), TX, 12, None, None);
        c.put(t + 300 * MS, seg, TX, 12, None, None);
        seq += 1000;
        c.put(
            t + 310 * MS,
            tcp((slow, 443), (host(), 50001), ACK, 5001, seq, 0, 64, 0),
            RX,
            12,
            None,
            None,
        );
    }
    // One refused connection.
    c.put(
        10 * SEC,
        tcp((host(), 50009), (server, 22), SYN, 7, 0, 0, 128, 30),
        TX,
        12,
        None,
        None,
    );
    c.put(
        10 * SEC + MS,
        tcp((server, 22), (host(), 50009), RST | ACK, 0, 8, 0, 64, 0),
        RX,
        12,
        None,
        None,
    );
    let d = c.diagnose();
    let v = &d.verdict;
    assert!(v.problems.len() >= 2, "{v:#?}");
    assert_eq!(v.problems[0].endpoints, vec!["10.0.0.9:22".to_string()]);
    assert_eq!(v.problems[0].rank, 1);
    let slow_problem = v
        .problems
        .iter()
        .find(|p| p.endpoints == vec!["10.0.0.10".to_string()])
        .expect("path loss");
    assert_eq!((slow_problem.cause, slow_problem.severity), (Cause::Congestion, 2));
    for p in &v.problems {
        for &i in &p.findings {
            assert_eq!(d.findings[i].problem, Some(p.rank));
        }
    }
}

#[test]
fn windows_11_is_named_so_although_it_calls_itself_windows_10() {
    let info = |build, name: &str| CaptureInfo {
        os_build: Some(build),
        os_description: Some(name.into()),
        ..Default::default()
    };
    assert_eq!(
        info(26200, "Windows 10 Home China").os_name().as_deref(),
        Some("Windows 11 Home China")
    );
    assert_eq!(
        info(22000, "Windows 10 Pro").os_name().as_deref(),
        Some("Windows 11 Pro")
    );
    assert_eq!(
        info(19045, "Windows 10 Pro").os_name().as_deref(),
        Some("Windows 10 Pro")
    );
    assert_eq!(
        info(26100, "Windows Server 2025 Datacenter").os_name().as_deref(),
        Some("Windows Server 2025 Datacenter")
    );
}

#[test]
fn every_background_rule_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for r in BACKGROUND_RULES {
        assert!(
            readme.contains(&format!("| `{}` |", r.kind)),
            "README lacks background rule {}",
            r.kind
        );
    }
}

#[test]
fn each_remaining_background_rule_holds_its_own_case() {
    let peer = v4([10, 0, 0, 20]);
    let mut c = Cap::new(20348);
    // discovery_firewall: inbound SSDP dropped by WFP inspection.
    c.put(
        0,
        udp((peer, 50000), (v4([239, 255, 255, 250]), 1900), &[1; 30], 4),
        RX,
        101,
        Some(909),
        None,
    );
    // broadcast_no_service: a broadcast to a port nothing listens on.
    c.put(
        SEC,
        udp((peer, 40000), (v4([255, 255, 255, 255]), 40001), &[2; 30], 64),
        RX,
        101,
        Some(1204),
        None,
    );
    // late_reply: a DNS answer after the client's socket closed.
    c.put(
        2 * SEC,
        udp((v4([10, 0, 0, 53]), 53), (host(), 51000), &[3; 60], 64),
        RX,
        101,
        Some(1204),
        None,
    );
    // reset_by_this_host: the host aborts a connection that had carried data.
    let server = v4([10, 0, 0, 9]);
    c.put(
        3 * SEC,
        tcp((host(), 50001), (server, 443), SYN, 1000, 0, 0, 128, 1),
        TX,
        12,
        None,
        None,
    );
    c.put(
        3 * SEC + MS,
        tcp((server, 443), (host(), 50001), SYN | ACK, 5000, 1001, 0, 64, 0),
        RX,
        12,
        None,
        None,
    );
    c.put(
        3 * SEC + 2 * MS,
        tcp((host(), 50001), (server, 443), PSH | ACK, 1001, 5001, 100, 128, 2),
        TX,
        12,
        None,
        None,
    );
    c.put(
        3 * SEC + 3 * MS,
        tcp((server, 443), (host(), 50001), ACK, 5001, 1101, 0, 64, 0),
        RX,
        12,
        None,
        None,
    );
    c.put(
        3 * SEC + 4 * MS,
        tcp((host(), 50001), (server, 443), RST | ACK, 1101, 5001, 0, 128, 3),
        TX,
        12,
        None,
        None,
    );
    let d = c.diagnose();
    let kinds: BTreeMap<&str, u64> = d.verdict.background.iter().map(|b| (b.kind, b.findings)).collect();
    for kind in [
        "discovery_firewall",
        "broadcast_no_service",
        "late_reply",
        "reset_by_this_host",
    ] {
        assert_eq!(kinds.get(kind), Some(&1), "{kind}: {kinds:?} {:#?}", d.findings);
    }
    assert_eq!(d.verdict.status, Status::Healthy, "{:#?}", d.verdict);
}

#[test]
fn many_problems_keep_the_verdict_within_a_screen_and_every_one_in_the_json() {
    let mut c = Cap::new(20348);
    // Thirty servers refusing thirty different ports: thirty problems.
    for k in 0..30u8 {
        let server = v4([10, 0, 1, k + 1]);
        let (t, port, client) = (k as i64 * SEC, 1000 + k as u16, 50000 + k as u16);
        c.put(
            t,
            tcp((host(), client), (server, port), SYN, 7, 0, 0, 128, 1),
            TX,
            12,
            None,
            None,
        );
        c.put(
            t + MS,
            tcp((server, port), (host(), client), RST | ACK, 0, 8, 0, 64, 0),
            RX,
            12,
            None,
            None,
        );
    }
    let d = c.diagnose();
    assert_eq!(d.verdict.problems.len(), 30);
    let result = pktmon::sink::report::InputResult {
        file: "many".into(),
        diagnosis: Some(d),
        error: None,
        warnings: Vec::new(),
    };
    let results = [result];
    let text = pktmon::sink::report::text_report(&results, &Default::default());
    let lines = text.lines().count();
    assert!(lines <= 50, "{lines} lines:\n{text}");
    assert!(text.contains("and 22 more problems (ranks 9–30"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    let json: serde_json::Value = serde_json::from_str(&pktmon::sink::report::json_summary(&results)).unwrap();
    assert_eq!(json["inputs"][0]["verdict"]["problems"].as_array().unwrap().len(), 30);
    assert_eq!(json["findings"].as_array().unwrap().len(), 30);
}

#[test]
fn one_port_refused_by_many_servers_is_one_problem_on_the_path() {
    // An on-path device resetting every plain-HTTP connection: 17 servers, one problem.
    let mut c = Cap::new(20348);
    for k in 0..17u8 {
        let server = v4([93, 184, 0, k + 1]);
        let (t, client) = (k as i64 * SEC, 50000 + k as u16);
        c.put(
            t,
            tcp((host(), client), (server, 80), SYN, 7, 0, 0, 128, 1),
            TX,
            12,
            None,
            None,
        );
        c.put(
            t + MS,
            tcp((server, 80), (host(), client), RST | ACK, 0, 8, 0, 61, 0),
            RX,
            12,
            None,
            None,
        );
    }
    // Two servers refusing 22 stay problems of their own.
    for k in 0..2u8 {
        let server = v4([10, 0, 2, k + 1]);
        let (t, client) = (30 * SEC + k as i64 * SEC, 51000 + k as u16);
        c.put(
            t,
            tcp((host(), client), (server, 22), SYN, 7, 0, 0, 128, 1),
            TX,
            12,
            None,
            None,
        );
        c.put(
            t + MS,
            tcp((server, 22), (host(), client), RST | ACK, 0, 8, 0, 64, 0),
            RX,
            12,
            None,
            None,
        );
    }
    let d = c.diagnose();
    let v = &d.verdict;
    assert_eq!(v.problems.len(), 3, "{v:#?}");
    let p = &v.problems[0];
    assert_eq!((p.flows, p.endpoints.len(), p.severity), (17, 17, 1));
    assert!(
        p.title.starts_with("Connections to port 80 are refused by 17 servers"),
        "{}",
        p.title
    );
    assert!(p.display_filter.starts_with("tcp.port == 80"), "{}", p.display_filter);
    assert!(v.problems[1..]
        .iter()
        .all(|p| p.endpoints.len() == 1 && p.endpoints[0].ends_with(":22")));
}

#[test]
fn an_icmp_error_is_an_answer_not_silence() {
    let server = v4([10, 0, 0, 60]);
    let mut c = Cap::new(20348);
    for k in 0..3u16 {
        let t = k as i64 * SEC;
        let dgram = udp((host(), 52000 + k), (server, 9999), &[7; 20], 128);
        c.put(t, dgram.clone(), TX, 12, None, None);
        let mut icmp = Vec::new();
        wire::icmp_frame(
            &mut icmp,
            (GW_MAC, HOST_MAC),
            &ip(server, host(), 64, 9),
            3,
            3,
            [0; 4],
            wire::quote(&dgram, 28),
        );
        c.put(t + MS, icmp, RX, 12, None, None);
    }
    let d = c.diagnose();
    let v = &d.verdict;
    assert_eq!(v.problems.len(), 1, "{v:#?}");
    assert!(
        v.problems[0].title.starts_with("Nothing listens on UDP 10.0.0.60:9999"),
        "{}",
        v.problems[0].title
    );
    assert!(d.findings.iter().all(|f| f.symptom != "no answer"));
}

#[test]
fn a_segment_a_moment_out_of_order_is_not_a_lost_one() {
    let server = v4([10, 0, 0, 9]);
    for (late, lost) in [(20, false), (50 * MS, true)] {
        let mut c = Cap::new(20348);
        c.handshake(0, 50001, server, 443);
        let t = 10 * MS;
        c.put(
            t,
            tcp((server, 443), (host(), 50001), ACK, 5001, 1001, 100, 64, 0),
            RX,
            12,
            None,
            None,
        );
        c.put(
            t + 10,
            tcp((server, 443), (host(), 50001), ACK, 5201, 1001, 100, 64, 0),
            RX,
            12,
            None,
            None,
        );
        c.put(
            t + 10 + late,
            tcp((server, 443), (host(), 50001), ACK, 5101, 1001, 100, 64, 0),
            RX,
            12,
            None,
            None,
        );
        c.put(
            t + 20 + late,
            tcp((host(), 50001), (server, 443), ACK, 1001, 5301, 0, 128, 3),
            TX,
            12,
            None,
            None,
        );
        let d = c.diagnose();
        let holes = d
            .findings
            .iter()
            .filter(|f| f.symptom == "segment not captured")
            .count();
        assert_eq!(holes > 0, lost, "filled {late} ticks later: {:#?}", d.findings);
    }
}
