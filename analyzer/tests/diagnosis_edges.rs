//! Every branch of the cause mapping and every window or threshold of the
//! diagnosis, on both sides of its edge: hand-built captures (the `Cap`
//! helper of `verdict.rs`) whose expected cause, locality and problem follow
//! from how they were made. Written for issue #21: each planted bug of the
//! audit is caught here (see docs/mutants.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pktmon::diagnose::{Cause, Diagnosis, Finding, Locality, Status};
use pktmon::generate::wire;
use pktmon::model::*;

mod hand_built;
use hand_built::*;

fn router() -> IpAddr {
    v4([10, 0, 0, 1])
}

fn server() -> IpAddr {
    v4([10, 0, 0, 9])
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8, rest: [u8; 4], quoted: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    wire::icmp_frame(
        &mut f,
        (GW_MAC, HOST_MAC),
        &ip(src, dst, 64, 99),
        icmp_type,
        code,
        rest,
        wire::quote(quoted, 576),
    );
    f
}

/// The findings of a symptom, by its short name.
fn with_symptom<'a>(d: &'a Diagnosis, symptom: &str) -> Vec<&'a Finding> {
    d.findings.iter().filter(|f| f.symptom == symptom).collect()
}

/// The one finding of a symptom, and the problem it is evidence of.
fn the_finding<'a>(d: &'a Diagnosis, symptom: &str) -> (&'a Finding, &'a pktmon::diagnose::Problem) {
    let found = with_symptom(d, symptom);
    assert_eq!(found.len(), 1, "one `{symptom}` finding: {:#?}", d.findings);
    let f = found[0];
    let i = d.findings.iter().position(|x| std::ptr::eq(x, f)).unwrap();
    let p = d
        .verdict
        .problems
        .iter()
        .find(|p| p.findings.contains(&i))
        .unwrap_or_else(|| panic!("`{symptom}` is no problem's evidence: {:#?}", d.verdict));
    (f, p)
}

/// A SYN from the host to `to`:80, then an ICMP error about it from `from`.
fn icmp_about_a_syn(host_addr: IpAddr, to: IpAddr, from: IpAddr, icmp_type: u8, code: u8, rest: [u8; 4]) -> Diagnosis {
    let mut c = Cap::new(20348);
    let syn = tcp((host_addr, 50001), (to, 80), SYN, 1000, 0, 0, 128, 1);
    c.put(0, syn.clone(), TX, 12, None, None);
    c.put(
        20 * MS,
        icmp(from, host_addr, icmp_type, code, rest, &syn),
        RX,
        12,
        None,
        None,
    );
    c.diagnose()
}

#[test]
fn every_icmpv4_destination_unreachable_code_has_its_cause() {
    use Cause::*;
    // RFC 792 / 1812 codes; 4 (fragmentation needed) is told as packet too big below.
    let expected = [
        (0u8, NoRoute, "network unreachable"),
        (1, Unreachable, "host unreachable"),
        (2, Unreachable, "protocol unreachable"),
        (3, Unreachable, "port unreachable"),
        (5, NoRoute, "source route failed"),
        (6, NoRoute, "destination unknown"),
        (7, NoRoute, "destination unknown"),
        (8, Unreachable, "unreachable"),
        (9, Policy, "administratively prohibited"),
        (10, Policy, "administratively prohibited"),
        (11, Unreachable, "unreachable"),
        (12, Unreachable, "unreachable"),
        (13, Policy, "administratively prohibited"),
        (14, Unreachable, "unreachable"),
        (15, Unreachable, "unreachable"),
    ];
    for (code, cause, what) in expected {
        let d = icmp_about_a_syn(host(), server(), router(), 3, code, [0; 4]);
        let (f, p) = the_finding(&d, "destination unreachable");
        assert_eq!((f.locality, f.cause), (Locality::Remote, cause), "code {code}: {f:#?}");
        assert!(
            f.explanation
                .ends_with(&format!("ICMP destination unreachable ({what}, code {code}).")),
            "{}",
            f.explanation
        );
        assert_eq!((p.locality, p.cause), (Locality::Remote, cause), "code {code}: {p:#?}");
        assert_eq!(
            p.severity, 1,
            "code {code}: an unreachable destination stops the connection"
        );
        // The SYN was answered, by the ICMP error: no unanswered SYN besides.
        assert!(with_symptom(&d, "SYN unanswered").is_empty(), "code {code}");
        let advice = match cause {
            Policy => "A filter on the path rejects",
            NoRoute => "no route to the destination",
            _ => "Nothing listens there",
        };
        assert!(f.next_step.contains(advice), "code {code}: {}", f.next_step);
    }
}

#[test]
fn fragmentation_needed_is_a_packet_too_big_not_an_unreachable() {
    let d = icmp_about_a_syn(host(), server(), router(), 3, 4, [0, 0, 0x05, 0x78]);
    assert!(
        with_symptom(&d, "destination unreachable").is_empty(),
        "{:#?}",
        d.findings
    );
    let (f, p) = the_finding(&d, "packet too big");
    assert_eq!((f.locality, f.cause), (Locality::Remote, Cause::Mtu));
    assert!(f.explanation.contains("next-hop MTU 1400"), "{}", f.explanation);
    assert_eq!(p.cause, Cause::Mtu);
}

#[test]
fn every_icmpv6_destination_unreachable_code_has_its_cause() {
    use Cause::*;
    let (h, s, r) = (v6("2001:db8::5"), v6("2001:db8::9"), v6("2001:db8::1"));
    let expected = [
        (0u8, NoRoute, "no route to destination"),
        (1, Policy, "administratively prohibited"),
        (2, NoRoute, "beyond scope of source address"),
        (3, Unreachable, "address unreachable"),
        // Port unreachable in ICMPv6 (fragmentation needed in ICMPv4).
        (4, Unreachable, "port unreachable"),
        (5, Policy, "administratively prohibited"),
        (6, Policy, "administratively prohibited"),
        (7, Unreachable, "unreachable"),
    ];
    for (code, cause, what) in expected {
        let d = icmp_about_a_syn(h, s, r, 1, code, [0; 4]);
        let (f, p) = the_finding(&d, "destination unreachable");
        assert_eq!((f.locality, f.cause), (Locality::Remote, cause), "code {code}: {f:#?}");
        assert!(
            f.explanation
                .ends_with(&format!("ICMPv6 destination unreachable ({what}, code {code}).")),
            "{}",
            f.explanation
        );
        let advice = match cause {
            Policy => "A filter on the path rejects",
            NoRoute => "no route to the destination",
            _ => "Nothing listens there",
        };
        assert!(f.next_step.contains(advice), "code {code}: {}", f.next_step);
        assert_eq!((p.locality, p.cause), (Locality::Remote, cause), "code {code}");
        assert!(with_symptom(&d, "packet too big").is_empty(), "code {code}");
    }
}

#[test]
fn packet_too_big_and_time_exceeded_in_both_families() {
    let (h, s, r) = (v6("2001:db8::5"), v6("2001:db8::9"), v6("2001:db8::1"));
    let d = icmp_about_a_syn(h, s, r, 2, 0, 1280u32.to_be_bytes());
    let (f, p) = the_finding(&d, "packet too big");
    assert_eq!(
        (f.locality, f.cause, p.cause),
        (Locality::Remote, Cause::Mtu, Cause::Mtu)
    );
    assert!(f.explanation.contains("next-hop MTU 1280"), "{}", f.explanation);
    for d in [
        icmp_about_a_syn(host(), server(), router(), 11, 0, [0; 4]),
        icmp_about_a_syn(h, s, r, 3, 0, [0; 4]),
    ] {
        let (f, p) = the_finding(&d, "time exceeded");
        assert_eq!(
            (f.locality, f.cause, p.cause),
            (Locality::Remote, Cause::NoRoute, Cause::NoRoute)
        );
        assert!(with_symptom(&d, "destination unreachable").is_empty());
    }
}

#[test]
fn port_unreachable_for_udp_is_a_closed_port_once() {
    let mut c = Cap::new(20348);
    let q = udp((host(), 50001), (server(), 7777), &[1; 20], 128);
    c.put(0, q.clone(), TX, 12, None, None);
    c.put(10 * MS, icmp(server(), host(), 3, 3, [0; 4], &q), RX, 12, None, None);
    let d = c.diagnose();
    assert!(
        with_symptom(&d, "destination unreachable").is_empty(),
        "{:#?}",
        d.findings
    );
    let (f, p) = the_finding(&d, "UDP to a closed port");
    assert_eq!((f.locality, f.cause), (Locality::Remote, Cause::Unreachable));
    assert_eq!(p.endpoints, vec!["10.0.0.9:7777".to_string()]);
}

/// A connection from the host to the server, established by `t0 + 2 ms`
/// (client ISN 1000, server ISN 0).
fn handshake(c: &mut Cap, t0: FileTime, port: u16) {
    c.put(
        t0,
        tcp((host(), port), (server(), 80), SYN, 1000, 0, 0, 128, 1),
        TX,
        12,
        None,
        None,
    );
    c.put(
        t0 + MS,
        tcp((server(), 80), (host(), port), SYN | ACK, 0, 1001, 0, 64, 1),
        RX,
        12,
        None,
        None,
    );
    c.put(
        t0 + 2 * MS,
        tcp((host(), port), (server(), 80), ACK, 1001, 1, 0, 128, 2),
        TX,
        12,
        None,
        None,
    );
}

/// The host sends 100 bytes at 100 ms and sends them again at 3 s; a packet
/// of the same connection from the server (50 bytes of data) is dropped by
/// the filter (inspection drop) `gap` before the retransmission.
fn retransmission_after_a_drop(gap: FileTime) -> Diagnosis {
    let mut c = Cap::new(20348);
    handshake(&mut c, 0, 50001);
    let data = tcp((host(), 50001), (server(), 80), PSH | ACK, 1001, 1, 100, 128, 3);
    c.put(100 * MS, data.clone(), TX, 12, None, None);
    let t = 3 * SEC;
    c.put(
        t - gap,
        tcp((server(), 80), (host(), 50001), PSH | ACK, 1, 1001, 50, 64, 2),
        RX,
        30,
        Some(909),
        None,
    );
    c.put(t, data, TX, 12, None, None);
    c.diagnose()
}

#[test]
fn a_drop_of_the_flow_within_two_seconds_before_a_retransmission_explains_it() {
    // DROP_LINK_WINDOW is 2 s, inclusive.
    for gap in [SEC / 2, 1900 * MS, 2 * SEC] {
        let d = retransmission_after_a_drop(gap);
        let (f, p) = the_finding(&d, "retransmission");
        assert_eq!(
            (f.locality, f.cause),
            (Locality::Local, Cause::Policy),
            "gap {gap}: {f:#?}"
        );
        assert_eq!(f.drops.len(), 1, "gap {gap}");
        assert_eq!(f.drops[0].0.reason, Some(909));
        assert_eq!((p.locality, p.cause), (Locality::Local, Cause::Policy), "gap {gap}");
    }
    for gap in [2 * SEC + 1, 2100 * MS, 3 * SEC - 150 * MS] {
        let d = retransmission_after_a_drop(gap);
        let (f, _) = the_finding(&d, "retransmission");
        assert_eq!(
            (f.locality, f.cause),
            (Locality::Remote, Cause::Congestion),
            "gap {gap}: {f:#?}"
        );
        assert!(f.drops.is_empty(), "gap {gap}");
        // The drop stays the evidence of its own packet's story (the server's data never acknowledged).
        let holding: Vec<&Finding> = d.findings.iter().filter(|f| !f.drops.is_empty()).collect();
        assert_eq!(holding.len(), 1, "gap {gap}");
        assert_eq!(
            (holding[0].symptom.as_str(), holding[0].locality, holding[0].cause),
            ("data never acknowledged", Locality::Local, Cause::Policy),
            "gap {gap}"
        );
    }
}

/// A connection with data both ways, then a RST from the server with `ttl`
/// (its other packets have 64), `idle` after the connection's last packet.
fn reset_with_ttl(ttl: u8, idle: FileTime) -> Diagnosis {
    let mut c = Cap::new(20348);
    handshake(&mut c, 0, 50001);
    c.put(
        100 * MS,
        tcp((host(), 50001), (server(), 80), PSH | ACK, 1001, 1, 100, 128, 3),
        TX,
        12,
        None,
        None,
    );
    c.put(
        110 * MS,
        tcp((server(), 80), (host(), 50001), PSH | ACK, 1, 1101, 200, 64, 2),
        RX,
        12,
        None,
        None,
    );
    c.put(
        120 * MS,
        tcp((host(), 50001), (server(), 80), ACK, 1101, 201, 0, 128, 4),
        TX,
        12,
        None,
        None,
    );
    c.put(
        120 * MS + idle,
        tcp((server(), 80), (host(), 50001), RST, 201, 0, 0, ttl, 3),
        RX,
        12,
        None,
        None,
    );
    c.diagnose()
}

#[test]
fn a_reset_ttl_within_three_hops_of_the_servers_is_the_server() {
    // RESET_TTL_TOLERANCE is 3: a difference of 3 is a route change, 4 an injector.
    for ttl in [64, 61, 67] {
        let d = reset_with_ttl(ttl, SEC);
        let (f, p) = the_finding(&d, "connection reset");
        assert_eq!(
            (f.locality, f.cause),
            (Locality::Remote, Cause::SessionLoss),
            "ttl {ttl}: {f:#?}"
        );
        assert!(
            f.explanation.contains("The server reset the connection"),
            "ttl {ttl}: {}",
            f.explanation
        );
        assert!(!f.traits.reset_by_device, "ttl {ttl}");
        // Data went both ways before the reset: a reset that lost work, not a refusal.
        assert!(f.traits.carried_data && !f.traits.refused, "ttl {ttl}: {:?}", f.traits);
        assert_eq!(p.cause, Cause::SessionLoss, "ttl {ttl}");
    }
    for ttl in [60, 68, 128] {
        let d = reset_with_ttl(ttl, SEC);
        let (f, p) = the_finding(&d, "connection reset");
        assert_eq!(
            (f.locality, f.cause),
            (Locality::Remote, Cause::Policy),
            "ttl {ttl}: {f:#?}"
        );
        assert!(f.explanation.contains(&format!("TTL ({ttl})")), "{}", f.explanation);
        assert!(f.traits.reset_by_device, "ttl {ttl}");
        assert_eq!((p.cause, p.severity), (Cause::Policy, 1), "ttl {ttl}");
    }
}

#[test]
fn thirty_seconds_of_quiet_make_a_reset_an_idle_timeout() {
    // By a device (TTL off): a NAT or firewall that forgot the session from 30 s on.
    let d = reset_with_ttl(50, 30 * SEC);
    let (f, _) = the_finding(&d, "connection reset");
    assert_eq!(f.cause, Cause::SessionLoss, "{f:#?}");
    assert!(f.explanation.contains("idle for 30 s"), "{}", f.explanation);
    let d = reset_with_ttl(50, 30 * SEC - MS);
    let (f, _) = the_finding(&d, "connection reset");
    assert_eq!(f.cause, Cause::Policy, "{f:#?}");
    // By the server itself: its own idle timeout from 30 s on.
    let d = reset_with_ttl(64, 30 * SEC);
    let (f, _) = the_finding(&d, "connection reset");
    assert_eq!(f.cause, Cause::SessionLoss);
    assert!(
        f.explanation.contains("after it had been idle for 30 s"),
        "{}",
        f.explanation
    );
    assert!(f.next_step.contains("idle timeout"), "{}", f.next_step);
    let d = reset_with_ttl(64, 30 * SEC - MS);
    let (f, _) = the_finding(&d, "connection reset");
    assert_eq!(f.cause, Cause::SessionLoss);
    assert!(!f.explanation.contains("idle for"), "{}", f.explanation);
    assert!(f.next_step.contains("what the application did"), "{}", f.next_step);
}

const NEIGHBOR: [u8; 4] = [10, 0, 0, 99];
const NEIGHBOR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 99];

fn arp_request() -> Vec<u8> {
    let mut f = Vec::new();
    wire::arp_request(&mut f, HOST_MAC, Ipv4Addr::from(HOST), Ipv4Addr::from(NEIGHBOR));
    f
}

/// The neighbor's ARP reply (operation 2, sender the neighbor).
fn arp_reply() -> Vec<u8> {
    let mut f = Vec::new();
    wire::arp_request(&mut f, NEIGHBOR_MAC, Ipv4Addr::from(NEIGHBOR), Ipv4Addr::from(HOST));
    assert_eq!(&f[12..14], &[0x08, 0x06]);
    f[21] = 2;
    f
}

#[test]
fn an_arp_reply_within_one_second_answers_the_request() {
    // ANSWER_WINDOW is 1 s, inclusive.
    for (delay, answered) in [(SEC / 2, true), (SEC, true), (SEC + 1, false), (2 * SEC, false)] {
        let mut c = Cap::new(20348);
        c.put(0, arp_request(), TX, 12, None, None);
        c.put(delay, arp_reply(), RX, 12, None, None);
        let d = c.diagnose();
        let found = with_symptom(&d, "ARP unanswered");
        assert_eq!(found.is_empty(), answered, "reply after {delay}: {:#?}", d.findings);
        if !answered {
            assert_eq!(
                (found[0].locality, found[0].cause),
                (Locality::Remote, Cause::AddressResolution)
            );
        }
    }
}

#[test]
fn arp_requests_three_seconds_apart_are_one_burst_and_more_are_two() {
    // BURST_GAP is 3 s, inclusive: one symptom for one burst, two for two.
    for (gap, symptoms) in [(3 * SEC, 1u64), (3 * SEC + 1, 2)] {
        let mut c = Cap::new(20348);
        c.put(0, arp_request(), TX, 12, None, None);
        c.put(gap, arp_request(), TX, 12, None, None);
        let d = c.diagnose();
        assert_eq!(
            d.totals.symptoms.get("ARP unanswered"),
            Some(&symptoms),
            "gap {gap}: {:#?}",
            d.totals
        );
        let (f, p) = the_finding(&d, "ARP unanswered");
        assert_eq!(f.count, symptoms, "gap {gap}");
        assert_eq!(p.endpoints, vec!["10.0.0.99".to_string()]);
    }
}

#[test]
fn arp_unanswered_is_local_when_packets_waited_for_it() {
    let mut c = Cap::new(20348);
    c.put(0, arp_request(), TX, 12, None, None);
    // tcpip.sys dropped a packet waiting for the neighbor: address resolution timeout (922).
    c.put(
        SEC,
        udp((host(), 50001), (v4(NEIGHBOR), 7777), &[1; 20], 128),
        TX,
        101,
        Some(922),
        None,
    );
    let d = c.diagnose();
    let (f, p) = the_finding(&d, "ARP unanswered");
    assert_eq!(
        (f.locality, f.cause),
        (Locality::Local, Cause::AddressResolution),
        "{f:#?}"
    );
    assert!(f.explanation.contains("were dropped on this host"), "{}", f.explanation);
    assert_eq!((p.locality, p.cause), (Locality::Local, Cause::AddressResolution));
}

/// A host-sent segment of `len` bytes sent `sends` times (the first and
/// `sends - 1` retransmissions, 1 s apart), after a segment of `max` bytes
/// that got through; `ptb`: an ICMP fragmentation-needed about it came back.
fn resent_segment(len: usize, max: usize, sends: u32, ptb: bool) -> Diagnosis {
    let mut c = Cap::new(20348);
    handshake(&mut c, 0, 50001);
    let first = tcp((host(), 50001), (server(), 80), PSH | ACK, 1001, 1, max, 128, 3);
    c.put(100 * MS, first, TX, 12, None, None);
    let ack = 1001 + max as u32;
    c.put(
        150 * MS,
        tcp((server(), 80), (host(), 50001), ACK, 1, ack, 0, 64, 2),
        RX,
        12,
        None,
        None,
    );
    let big = tcp((host(), 50001), (server(), 80), PSH | ACK, ack, 1, len, 128, 4);
    for k in 0..sends {
        c.put(200 * MS + k as i64 * SEC, big.clone(), TX, 12, None, None);
    }
    if ptb {
        c.put(
            250 * MS,
            icmp(router(), host(), 3, 4, [0, 0, 0x04, 0xb0], &big),
            RX,
            12,
            None,
            None,
        );
    }
    c.diagnose()
}

#[test]
fn a_full_size_segment_resent_three_times_is_a_pmtu_black_hole() {
    // ≥ 1200 bytes, ≥ 90 % of the flow's largest, sent again 3 times, no packet too big.
    let d = resent_segment(1200, 1200, 4, false);
    let (f, p) = the_finding(&d, "suspected PMTU black hole");
    assert_eq!(
        (f.locality, f.cause, f.count),
        (Locality::Remote, Cause::Mtu, 3),
        "{f:#?}"
    );
    assert_eq!((p.cause, p.severity), (Cause::Mtu, 1));
    assert!(with_symptom(&d, "retransmission").is_empty(), "{:#?}", d.findings);
    // 90 % of the largest exactly: 1260 of 1400.
    let d = resent_segment(1260, 1400, 4, false);
    assert_eq!(
        with_symptom(&d, "suspected PMTU black hole").len(),
        1,
        "{:#?}",
        d.findings
    );
    // Each edge crossed: plain retransmissions.
    for (len, max, sends) in [(1199, 1199, 4), (1259, 1400, 4), (1200, 1200, 3)] {
        let d = resent_segment(len, max, sends, false);
        assert!(
            with_symptom(&d, "suspected PMTU black hole").is_empty(),
            "{len} of {max}, {sends} sends: {:#?}",
            d.findings
        );
        let (f, _) = the_finding(&d, "retransmission");
        assert_eq!(
            (f.cause, f.count),
            (Cause::Congestion, u64::from(sends - 1)),
            "{len} of {max}"
        );
    }
    // With a packet too big for the flow, the path told: no black hole, the resends follow the ICMP.
    let d = resent_segment(1200, 1200, 4, true);
    assert!(
        with_symptom(&d, "suspected PMTU black hole").is_empty(),
        "{:#?}",
        d.findings
    );
    let (f, _) = the_finding(&d, "retransmission after packet too big");
    assert_eq!((f.locality, f.cause), (Locality::Remote, Cause::Mtu));
}

#[test]
fn three_unanswered_datagrams_are_a_no_answer_problem_two_are_not() {
    for (sent, problem) in [(2u16, false), (3, true)] {
        let mut c = Cap::new(20348);
        for k in 0..sent {
            c.put(
                k as i64 * SEC,
                udp((host(), 50001 + k), (server(), 5060), &[1; 30], 128),
                TX,
                12,
                None,
                None,
            );
        }
        let d = c.diagnose();
        let found = with_symptom(&d, "no answer");
        assert_eq!(found.len(), usize::from(problem), "{sent} sent: {:#?}", d.findings);
        if problem {
            let (f, p) = the_finding(&d, "no answer");
            assert_eq!(
                (f.locality, f.cause, f.count),
                (Locality::Remote, Cause::Unreachable, 3)
            );
            // Three datagrams from three sockets: one problem for the service.
            assert_eq!((p.endpoints.clone(), p.packets), (vec!["10.0.0.9:5060".to_string()], 3));
        } else {
            assert_eq!(d.verdict.status, Status::Healthy, "{:#?}", d.verdict);
        }
    }
    // One answer is enough; one-way ports (syslog) expect none.
    let mut c = Cap::new(20348);
    for k in 0..3u16 {
        c.put(
            k as i64 * SEC,
            udp((host(), 50001 + k), (server(), 5060), &[1; 30], 128),
            TX,
            12,
            None,
            None,
        );
    }
    c.put(
        3 * SEC,
        udp((server(), 5060), (host(), 50003), &[2; 30], 64),
        RX,
        12,
        None,
        None,
    );
    for k in 0..3u16 {
        c.put(
            5 * SEC + k as i64 * SEC,
            udp((host(), 50100), (server(), 514), &[1; 30], 128),
            TX,
            12,
            None,
            None,
        );
    }
    assert!(with_symptom(&c.diagnose(), "no answer").is_empty());
}

/// A TCP segment advertising a zero window (Ethernet, IPv4 without options).
fn zero_window(src: (IpAddr, u16), dst: (IpAddr, u16), seq: u32, ack: u32) -> Vec<u8> {
    let mut f = tcp(src, dst, ACK, seq, ack, 0, 64, 9);
    f[14 + 20 + 14..14 + 20 + 16].fill(0);
    f
}

#[test]
fn a_zero_window_is_the_side_that_advertised_it() {
    // The server stops reading: remote, and the words name the server.
    let mut c = Cap::new(20348);
    c.handshake(0, 50000, server(), 80);
    c.put(
        10 * MS,
        tcp((host(), 50000), (server(), 80), PSH | ACK, 1001, 5001, 100, 128, 3),
        TX,
        12,
        None,
        None,
    );
    c.put(
        20 * MS,
        zero_window((server(), 80), (host(), 50000), 5001, 1101),
        RX,
        12,
        None,
        None,
    );
    let d = c.diagnose();
    let (f, _) = the_finding(&d, "zero window");
    assert_eq!((f.locality, f.cause), (Locality::Remote, Cause::Resources), "{f:#?}");
    assert!(
        f.explanation.starts_with("10.0.0.9:80 advertised a zero window"),
        "{}",
        f.explanation
    );

    // This host's application stops reading: local.
    let mut c = Cap::new(20348);
    c.handshake(0, 50000, server(), 80);
    c.put(
        10 * MS,
        tcp((server(), 80), (host(), 50000), PSH | ACK, 5001, 1001, 100, 64, 3),
        RX,
        12,
        None,
        None,
    );
    c.put(
        20 * MS,
        zero_window((host(), 50000), (server(), 80), 1001, 5101),
        TX,
        12,
        None,
        None,
    );
    let d = c.diagnose();
    let (f, _) = the_finding(&d, "zero window");
    assert_eq!((f.locality, f.cause), (Locality::Local, Cause::Resources), "{f:#?}");
    assert!(
        f.explanation.starts_with("10.0.0.5:50000 advertised a zero window"),
        "{}",
        f.explanation
    );
}

/// Three unanswered datagrams from `client` to `to`, a second apart.
fn three_unanswered(client: (IpAddr, u16), to: (IpAddr, u16)) -> Diagnosis {
    let mut c = Cap::new(20348);
    for k in 0..3 {
        c.put(k * SEC, udp(client, to, &[1; 30], 128), TX, 12, None, None);
    }
    c.diagnose()
}

#[test]
fn each_exclusion_alone_keeps_a_silent_udp_service_off_the_list() {
    // None of the exclusions: a problem (from this host, and from loopback).
    assert_eq!(
        with_symptom(&three_unanswered((host(), 50001), (server(), 5060)), "no answer").len(),
        1
    );
    let lo = v4([127, 0, 0, 1]);
    assert_eq!(
        with_symptom(&three_unanswered((lo, 50001), (lo, 5060)), "no answer").len(),
        1
    );
    // Each exclusion alone: discovery protocols (either port), multicast and
    // broadcast destinations, traffic of another host, port 0.
    let cases = [
        ("mDNS server port", (host(), 50001), (server(), 5353)),
        ("SSDP client port", (host(), 1900), (server(), 5060)),
        ("multicast", (host(), 50001), (v4([239, 1, 1, 1]), 5060)),
        ("limited broadcast", (host(), 50001), (v4([255, 255, 255, 255]), 5060)),
        ("subnet broadcast", (host(), 50001), (v4([10, 0, 0, 255]), 5060)),
        (
            "another host's datagrams",
            (v4([10, 0, 0, 77]), 50001),
            (server(), 5060),
        ),
        ("port 0", (host(), 50001), (server(), 0)),
    ];
    for (what, client, to) in cases {
        let d = three_unanswered(client, to);
        assert!(with_symptom(&d, "no answer").is_empty(), "{what}: {:#?}", d.findings);
    }
}

/// Two drop events of one datagram's bytes (two PktGroupIds, as tcpip's own
/// rewritten copy has), `apart` from each other.
fn two_drops_of_one_datagram(apart: FileTime) -> Diagnosis {
    let mut c = Cap::new(20348);
    let d = udp((server(), 40000), (host(), 7777), &[3; 40], 64);
    c.put(EPOCH, d.clone(), RX, 101, Some(1204), None);
    c.put(EPOCH + apart, d, RX, 101, Some(1204), None);
    c.diagnose()
}

#[test]
fn drops_of_one_content_within_ten_ms_are_one_packet() {
    // COPY_WINDOW is 10 ms, inclusive.
    for (apart, packets) in [(0, 1u64), (10 * MS, 1), (10 * MS + 1, 2), (SEC, 2)] {
        let d = two_drops_of_one_datagram(apart);
        let p = &d.verdict.problems;
        assert_eq!(p.len(), 1, "{apart}: {:#?}", d.verdict);
        assert_eq!((p[0].drop_events, p[0].packets), (2, packets), "{apart} apart");
        assert_eq!((p[0].locality, p[0].cause), (Locality::Local, Cause::Unreachable));
    }
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
fn a_silent_filter_needs_three_packets_and_one_percent() {
    // Rx: entered at the lower edge, left at the upper; Tx the other way round.
    let cases = [
        ((5, 0), (2, 0), Some(3)),
        ((5, 0), (3, 0), None),
        ((300, 0), (297, 0), Some(3)),
        ((301, 0), (298, 0), None),
        ((0, 2), (0, 5), Some(3)),
        ((0, 3), (0, 5), None),
    ];
    for (lower, upper, lost) in cases {
        let mut c = Cap::new(20348);
        c.put(
            0,
            tcp((server(), 443), (host(), 50001), ACK, 1, 1, 0, 64, 1),
            RX,
            12,
            None,
            None,
        );
        edges(&mut c, lower, upper);
        let d = c.diagnose();
        let found = with_symptom(&d, "packets lost in a filter without a drop event");
        match lost {
            Some(n) => {
                let (f, p) = the_finding(&d, "packets lost in a filter without a drop event");
                assert_eq!(
                    (f.locality, f.count, p.packets),
                    (Locality::Local, n, n),
                    "{lower:?} {upper:?}"
                );
                assert_eq!(p.endpoints, vec!["component 30 filter.sys".to_string()]);
            }
            None => assert!(found.is_empty(), "{lower:?} {upper:?}: {:#?}", d.findings),
        }
    }
}

/// A connection, then `n` keep-alive probes from the server (one byte
/// before its next sequence number, no symptom of their own) that tcpip
/// drops as duplicate segments (1217).
fn late_duplicates(n: u16) -> Diagnosis {
    let mut c = Cap::new(20348);
    handshake(&mut c, 0, 50001);
    for k in 0..n {
        c.put(
            SEC + k as i64 * 100 * MS,
            tcp((server(), 80), (host(), 50001), ACK, 0, 1001, 0, 64, k + 2),
            RX,
            101,
            Some(1217),
            None,
        );
    }
    c.diagnose()
}

#[test]
fn ten_close_time_drops_of_a_connection_are_background_eleven_are_not() {
    let d = late_duplicates(10);
    assert_eq!(d.verdict.status, Status::Healthy, "{:#?}", d.verdict);
    assert_eq!(d.verdict.background.len(), 1);
    assert_eq!(
        (d.verdict.background[0].kind, d.verdict.background[0].drop_events),
        ("close_time_tcp", 10)
    );
    let d = late_duplicates(11);
    assert!(d.verdict.background.is_empty(), "{:#?}", d.verdict.background);
    assert_eq!(d.verdict.problems.len(), 1, "{:#?}", d.verdict);
    let p = &d.verdict.problems[0];
    assert_eq!(
        (p.locality, p.cause, p.drop_events),
        (Locality::Local, Cause::SessionLoss, 11)
    );
}

/// `servers` servers refusing connections to port 8080 (RST answering the SYN).
fn refused_by(servers: u8) -> Diagnosis {
    let mut c = Cap::new(20348);
    for k in 0..servers {
        let s = v4([93, 184, 0, k + 1]);
        let (t, client) = (k as i64 * SEC, 50000 + k as u16);
        c.put(
            t,
            tcp((host(), client), (s, 8080), SYN, 7, 0, 0, 128, 1),
            TX,
            12,
            None,
            None,
        );
        c.put(
            t + MS,
            tcp((s, 8080), (host(), client), RST | ACK, 0, 8, 0, 64, 0),
            RX,
            12,
            None,
            None,
        );
    }
    c.diagnose()
}

#[test]
fn three_servers_refusing_a_port_are_one_problem_two_are_two() {
    let d = refused_by(3);
    assert_eq!(d.verdict.problems.len(), 1, "{:#?}", d.verdict);
    let p = &d.verdict.problems[0];
    assert_eq!((p.cause, p.flows, p.endpoints.len()), (Cause::Unreachable, 3, 3));
    assert!(
        p.title.starts_with("Connections to port 8080 are refused by 3 servers"),
        "{}",
        p.title
    );
    let d = refused_by(2);
    assert_eq!(d.verdict.problems.len(), 2, "{:#?}", d.verdict);
    for p in &d.verdict.problems {
        assert_eq!((p.cause, p.flows, p.endpoints.len()), (Cause::Unreachable, 1, 1));
        assert!(p.endpoints[0].ends_with(":8080"));
    }
}

#[test]
fn each_drop_category_is_a_cause_and_a_received_rst_is_remote() {
    use Cause::*;
    // One reason code of each category of `drop_category`, on a datagram no flow symptom names.
    let cases = [
        (909u32, Policy, Locality::Local),
        (3, Resources, Locality::Local),
        (922, AddressResolution, Locality::Local),
        (907, NoRoute, Locality::Local),
        (1200, InvalidPacket, Locality::Local),
        (1204, Unreachable, Locality::Local),
        (931, SessionLoss, Locality::Local),
        (920, Mtu, Locality::Local),
        (9999, Other, Locality::Local),
        // TCP/IP consuming a reset the peer sent: the peer acted.
        (1210, SessionLoss, Locality::Remote),
    ];
    for (reason, cause, locality) in cases {
        let mut c = Cap::new(20348);
        c.put(
            0,
            udp((server(), 40000), (host(), 7777), &[3; 40], 64),
            RX,
            101,
            Some(reason),
            None,
        );
        let d = c.diagnose();
        let (f, p) = the_finding(&d, "local drop");
        assert_eq!((f.cause, f.locality), (cause, locality), "reason {reason}: {f:#?}");
        assert_eq!(f.drops[0].0.reason, Some(reason));
        assert_eq!((p.cause, p.drop_events), (cause, 1), "reason {reason}");
    }
}

/// A real capture's clock (2021-06-03 13:49:55 UTC as a FILETIME): arithmetic
/// on times that holds near zero can be wrong this far from it.
const EPOCH: FileTime = 132_672_017_954_540_046;

#[test]
fn a_retransmission_names_its_original_frame_and_the_header_its_input() {
    let d = retransmission_after_a_drop(3 * SEC - 150 * MS);
    let (f, _) = the_finding(&d, "retransmission");
    // Frames 1–3 the handshake, 4 the data, 5 the dropped segment, 6 the data again.
    assert_eq!(f.frames, vec![4, 6]);
    assert_eq!(f.display_filter, "frame.number in {4,6}");
    assert_eq!(d.file, "hand-built");
    assert_eq!(d.kind, InputKind::Etl.describe());
    assert!(d.has_pktmon_metadata);
    assert_eq!(d.windows_build, Some(20348));
    assert_eq!(
        (d.totals.appearances, d.totals.packets, d.totals.drop_events),
        (6, 6, 1)
    );
}

#[test]
fn a_received_rst_that_tcpip_consumes_is_no_cause_of_the_reset() {
    // The server resets a connection after data; tcpip logs taking the RST in as a drop (1210).
    let mut c = Cap::new(20348);
    handshake(&mut c, EPOCH, 50001);
    c.put(
        EPOCH + 100 * MS,
        tcp((host(), 50001), (server(), 80), PSH | ACK, 1001, 1, 100, 128, 3),
        TX,
        12,
        None,
        None,
    );
    c.put(
        EPOCH + 110 * MS,
        tcp((server(), 80), (host(), 50001), PSH | ACK, 1, 1101, 200, 64, 2),
        RX,
        12,
        None,
        None,
    );
    c.put(
        EPOCH + 120 * MS,
        tcp((host(), 50001), (server(), 80), ACK, 1101, 201, 0, 128, 4),
        TX,
        12,
        None,
        None,
    );
    let rst = tcp((server(), 80), (host(), 50001), RST, 201, 0, 0, 64, 3);
    let g = c.put(EPOCH + SEC, rst.clone(), RX, 12, None, None);
    c.put(EPOCH + SEC + 10_000, rst, RX, 101, Some(1210), Some(g));
    let d = c.diagnose();
    let (f, p) = the_finding(&d, "connection reset");
    assert!(f.drops.is_empty(), "{f:#?}");
    assert!(
        f.explanation.starts_with("The server reset the connection"),
        "{}",
        f.explanation
    );
    assert_eq!(
        (f.locality, f.cause, p.cause),
        (Locality::Remote, Cause::SessionLoss, Cause::SessionLoss)
    );
    // The consumption itself: remote (the peer acted), and harmless around a close.
    let drops = with_symptom(&d, "local drop");
    assert_eq!(drops.len(), 1, "{:#?}", d.findings);
    assert_eq!(
        (drops[0].locality, drops[0].cause),
        (Locality::Remote, Cause::SessionLoss)
    );
}

#[test]
fn drops_without_bytes_keep_their_direction() {
    let mut c = Cap::new(20348);
    c.put(EPOCH, Vec::new(), RX, 101, Some(1204), None);
    c.put(EPOCH + SEC, Vec::new(), TX, 101, Some(1204), None);
    let d = c.diagnose();
    let drops = with_symptom(&d, "local drop");
    let events: u64 = drops.iter().map(|f| f.traits.drop_events).sum();
    let inbound: u64 = drops.iter().map(|f| f.traits.inbound_drops).sum();
    assert_eq!((drops.len(), events, inbound), (2, 2, 1), "{drops:#?}");
}

#[test]
fn a_drop_known_only_by_its_text_still_explains_a_retransmission() {
    // A localized etl2txt line gives the reason as text only: no code.
    let mut c = Cap::new(20348);
    handshake(&mut c, 0, 50001);
    let data = tcp((host(), 50001), (server(), 80), PSH | ACK, 1001, 1, 100, 128, 3);
    c.put(100 * MS, data.clone(), TX, 12, None, None);
    c.put(
        2 * SEC,
        tcp((server(), 80), (host(), 50001), PSH | ACK, 1, 1001, 50, 64, 2),
        RX,
        30,
        Some(909),
        None,
    );
    if let Some(Record::Packet(a)) = c.records.last_mut() {
        let d = a.drop.as_mut().expect("a drop");
        d.reason = None;
        assert_eq!(d.reason_text.as_deref(), Some("Inspection drop"));
    }
    c.put(3 * SEC, data, TX, 12, None, None);
    let d = c.diagnose();
    let (f, _) = the_finding(&d, "retransmission");
    assert_eq!((f.locality, f.cause), (Locality::Local, Cause::Policy), "{f:#?}");
    assert_eq!(f.drops[0].0.reason, None);
}

#[test]
fn a_syn_sent_three_times_unanswered_is_one_finding_not_retransmissions() {
    let mut c = Cap::new(20348);
    let syn = tcp((host(), 50001), (server(), 80), SYN, 1000, 0, 0, 128, 1);
    for t in [0, SEC, 3 * SEC] {
        c.put(EPOCH + t, syn.clone(), TX, 12, None, None);
    }
    let d = c.diagnose();
    assert!(with_symptom(&d, "retransmission").is_empty(), "{:#?}", d.findings);
    let (f, p) = the_finding(&d, "SYN unanswered");
    assert_eq!((f.locality, f.cause), (Locality::Remote, Cause::Policy), "{f:#?}");
    assert!(f.explanation.contains("(3 SYNs)"), "{}", f.explanation);
    assert_eq!((p.severity, p.endpoints.clone()), (1, vec!["10.0.0.9:80".to_string()]));
}

/// A segment seen twice at `component` only (12 the NIC, 101 tcpip.sys), no
/// drop recorded; `from_host`: sent by the host, else by the server.
fn seen_twice_at(component: u16, from_host: bool) -> Diagnosis {
    let mut c = Cap::new(20348);
    handshake(&mut c, EPOCH, 50001);
    let (seg, dir) = if from_host {
        (
            tcp((host(), 50001), (server(), 80), PSH | ACK, 1001, 1, 100, 128, 3),
            TX,
        )
    } else {
        (tcp((server(), 80), (host(), 50001), PSH | ACK, 1, 1001, 100, 64, 2), RX)
    };
    c.put(EPOCH + 100 * MS, seg.clone(), dir, component, None, None);
    c.put(EPOCH + 2 * SEC, seg, dir, component, None, None);
    c.diagnose()
}

#[test]
fn a_retransmission_is_remote_when_its_first_copy_left_or_came_in() {
    // Sent by the host and its first copy reached the NIC: lost beyond this host.
    let d = seen_twice_at(12, true);
    let (f, _) = the_finding(&d, "retransmission");
    assert_eq!((f.locality, f.cause), (Locality::Remote, Cause::Congestion), "{f:#?}");
    assert!(
        f.explanation.contains("after its first copy left the NIC"),
        "{}",
        f.explanation
    );
    // Its first copy never reached the NIC and nothing recorded a drop: this capture cannot tell.
    let d = seen_twice_at(101, true);
    let (f, _) = the_finding(&d, "retransmission");
    assert_eq!((f.locality, f.cause), (Locality::Unknown, Cause::Congestion), "{f:#?}");
    assert!(!f.explanation.contains("left the NIC"), "{}", f.explanation);
    // Sent to this host: whatever happened, it was not dropped here.
    let d = seen_twice_at(101, false);
    let (f, _) = the_finding(&d, "retransmission");
    assert_eq!((f.locality, f.cause), (Locality::Remote, Cause::Congestion), "{f:#?}");
}

/// The next step of a local drop of one UDP datagram: `to` from `from`.
fn drop_next_step(from: (IpAddr, u16), to: (IpAddr, u16), reason: u32) -> String {
    let mut c = Cap::new(20348);
    c.put(0, udp(from, to, &[5; 40], 64), RX, 101, Some(reason), None);
    let d = c.diagnose();
    // (Multicast and broadcast drops are background: a finding, no problem.)
    let found = with_symptom(&d, "local drop");
    assert_eq!(found.len(), 1, "{:#?}", d.findings);
    found[0].next_step.clone()
}

#[test]
fn a_drops_next_step_says_what_the_packet_was() {
    let group: IpAddr = Ipv4Addr::new(224, 0, 0, 251).into();
    let broadcast: IpAddr = Ipv4Addr::BROADCAST.into();
    // A multicast group or a broadcast nobody here listens to: harmless.
    for to in [group, broadcast] {
        for reason in [1204, 907] {
            let next = drop_next_step((server(), 5353), (to, 5353), reason);
            assert!(
                next.contains("No application on this host listens to"),
                "{to} {reason}: {next}"
            );
        }
    }
    // To a closed UDP port of this host: the service, by its port.
    let next = drop_next_step((server(), 40000), (host(), 7777), 1204);
    assert!(next.contains("Nothing on this host listens on UDP port 7777"), "{next}");
    // The same to a client port: a late reply, not a missing service.
    let next = drop_next_step((server(), 53), (host(), 50123), 1204);
    assert!(next.contains("came to client port 50123"), "{next}");
    // A session-state drop of a datagram: no TCP advice.
    let next = drop_next_step((server(), 40000), (host(), 7777), 931);
    assert!(next.starts_with("The protocol's state did not accept"), "{next}");
    // ...while a TCP segment's keeps the catalog's session advice.
    let mut c = Cap::new(20348);
    let segment = tcp((server(), 80), (host(), 50001), ACK, 1, 1, 100, 64, 2);
    c.put(0, segment, RX, 101, Some(931), None);
    let d = c.diagnose();
    let found = with_symptom(&d, "local drop");
    assert_eq!(found.len(), 1, "{:#?}", d.findings);
    assert!(
        !found[0].next_step.starts_with("The protocol's state"),
        "{}",
        found[0].next_step
    );
    assert!(!found[0].next_step.is_empty());
    // Other categories keep the catalog's advice.
    let policy = drop_next_step((server(), 40000), (host(), 7777), 909);
    assert!(
        !policy.contains("UDP port") && !policy.contains("No application") && !policy.is_empty(),
        "{policy}"
    );
}

#[test]
fn the_report_names_the_system_and_the_adapters_as_written() {
    let mut d = Cap::new(26200).diagnose();
    let cases = [
        (
            Some("Windows 11 Pro (build 26200)"),
            Some(26200),
            "Windows 11 Pro (build 26200)",
        ),
        (Some("Windows 11 Pro"), Some(26200), "Windows 11 Pro, build 26200"),
        (None, Some(26200), "Windows build 26200"),
        (Some("Windows 11 Pro"), None, "Windows 11 Pro"),
        (None, None, ""),
    ];
    for (os, build, want) in cases {
        d.os = os.map(String::from);
        d.windows_build = build;
        assert_eq!(d.system(), want);
    }
    let mut a = pktmon::diagnose::Adapter {
        name: "Ethernet 2".into(),
        ..Default::default()
    };
    assert_eq!(a.label(), "Ethernet 2");
    a.description = "Intel(R) Ethernet Connection (7) I219-LM".into();
    a.addresses = vec!["192.168.1.39".into(), "fe80::1".into()];
    assert_eq!(
        a.label(),
        "Intel(R) Ethernet Connection (7) I219-LM (192.168.1.39, fe80::1)"
    );
}

/// The only problem of `d`.
fn the_problem(d: &Diagnosis) -> &pktmon::diagnose::Problem {
    assert_eq!(d.verdict.problems.len(), 1, "{:#?}", d.verdict.problems);
    &d.verdict.problems[0]
}

#[test]
fn each_problem_gives_the_display_filter_that_shows_its_packets() {
    // Address resolution: the requests for the neighbor that does not answer.
    let mut c = Cap::new(20348);
    c.put(0, arp_request(), TX, 12, None, None);
    let datagram = udp((host(), 50001), (v4(NEIGHBOR), 7777), &[1; 20], 128);
    c.put(SEC, datagram, TX, 101, Some(922), None);
    let d = c.diagnose();
    let p = the_problem(&d);
    assert_eq!(p.display_filter, "arp.dst.proto_ipv4 == 10.0.0.99");
    // It has a drop: the PktMon filter picks the drops of its category.
    assert_eq!(
        p.pktmon_filter.as_deref(),
        Some("pktmon.drop && pktmon.drop_category == \"address_resolution\"")
    );
    // One server's reset: that server and port; nothing dropped here, so no PktMon filter.
    let d = reset_with_ttl(64, SEC);
    let p = the_problem(&d);
    assert_eq!(p.display_filter, "ip.addr == 10.0.0.9 && tcp.port == 80");
    assert_eq!(p.pktmon_filter, None);
    // A device's resets: the RSTs on the port, whoever seems to send them.
    let d = reset_with_ttl(128, SEC);
    assert_eq!(the_problem(&d).display_filter, "tcp.port == 80 && tcp.flags.reset == 1");
    // One port refused by three servers: the service's SYNs and RSTs.
    let d = refused_by(3);
    assert_eq!(
        the_problem(&d).display_filter,
        "tcp.port == 8080 && (tcp.flags.reset == 1 || (tcp.flags.syn == 1 && tcp.flags.ack == 0))"
    );
}
