//! Every branch of the cause mapping and every window or threshold of the
//! diagnosis, on both sides of its edge: hand-built captures (the `Cap`
//! helper of `verdict.rs`) whose expected cause, locality and problem follow
//! from how they were made. Written for issue #21: each planted bug of the
//! audit is caught here (see docs/mutants.md).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pktmon::diagnose::{Cause, Diagnoser, Diagnosis, Finding, Locality, Status};
use pktmon::generate::wire::{self, Ip, Payload, Tcp};
use pktmon::model::*;
use pktmon::pktmon::catalog::Catalog;

const HOST: [u8; 4] = [10, 0, 0, 5];
const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 5];
const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// Direction tags: Rx 3, Tx 4.
const RX: u16 = 3;
const TX: u16 = 4;
const MS: FileTime = 10_000;
const SEC: FileTime = 10_000_000;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn ip(src: IpAddr, dst: IpAddr, ttl: u8, id: u16) -> Ip {
    Ip {
        src,
        dst,
        ttl,
        id,
        df: true,
        flow_label: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn tcp(src: (IpAddr, u16), dst: (IpAddr, u16), flags: u8, seq: u32, ack: u32, len: usize, ttl: u8, id: u16) -> Vec<u8> {
    let mut f = Vec::new();
    wire::tcp_frame(
        &mut f,
        (GW_MAC, HOST_MAC),
        &ip(src.0, dst.0, ttl, id),
        &Tcp {
            src_port: src.1,
            dst_port: dst.1,
            seq,
            ack,
            flags,
            window: 64240,
            options: &[],
        },
        Payload::Stream {
            stream: seq as u64,
            offset: 0,
            len,
        },
    );
    f
}

fn udp(src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8], ttl: u8) -> Vec<u8> {
    let mut f = Vec::new();
    wire::udp_frame(
        &mut f,
        (GW_MAC, HOST_MAC),
        &ip(src.0, dst.0, ttl, 7),
        (src.1, dst.1),
        payload,
    );
    f
}

/// A capture built appearance by appearance, then diagnosed.
struct Cap {
    info: CaptureInfo,
    records: Vec<Record>,
    next_index: u64,
    next_group: u64,
}

impl Cap {
    fn new(os_build: u32) -> Cap {
        let mut c = Cap {
            info: CaptureInfo {
                file: "hand-built".into(),
                kind: Some(InputKind::Etl),
                os_build: Some(os_build),
                ..Default::default()
            },
            records: Vec::new(),
            next_index: 0,
            next_group: 1,
        };
        // The host's NIC (12), a filter above it (30) and TCP/IP (101) with the host's address.
        for (id, ty, name) in [
            (12u16, 2u16, "e1000.sys"),
            (30, 3, "filter.sys"),
            (101, 11, "tcpip.sys"),
        ] {
            c.records.push(Record::Component(Component {
                id,
                component_type: ty,
                name: name.into(),
                description: name.into(),
                properties: vec![Property {
                    id: 1,
                    value: PropertyValue::U32(7),
                }],
            }));
        }
        c.records.push(Record::Property {
            component_id: 101,
            property: Property {
                id: 13,
                value: PropertyValue::Ipv4(Ipv4Addr::from(HOST)),
            },
        });
        c
    }

    /// One appearance with a fresh PktGroupId (or `group` when given).
    fn put(
        &mut self,
        time: FileTime,
        bytes: Vec<u8>,
        dir: u16,
        component: u16,
        drop: Option<u32>,
        group: Option<u64>,
    ) -> u64 {
        let g = group.unwrap_or_else(|| {
            self.next_group += 1;
            self.next_group
        });
        let mut a = Appearance::bare(
            self.next_index,
            time,
            LinkType::Ethernet,
            bytes.clone(),
            bytes.len() as u32,
        );
        a.group_id = Some(g);
        a.pkt_number = Some(1);
        a.appearance = Some(if group.is_some() { 2 } else { 1 });
        a.direction = Some(dir);
        a.component_id = Some(component);
        a.drop = drop.map(|reason| DropInfo {
            reason: Some(reason),
            reason_text: Some(
                match reason {
                    902 => "Not locally destined",
                    1204 => "INET: transport endpoint was not found",
                    1210 => "INET: received RST",
                    1217 => "INET: duplicate segment",
                    909 => "Inspection drop",
                    _ => "Other",
                }
                .into(),
            ),
            location: Some(0xE000_4500),
        });
        self.records.push(Record::Packet(a));
        self.next_index += 1;
        g
    }

    fn diagnose(self) -> Diagnosis {
        let catalog = Catalog::builtin(self.info.os_build);
        let schemas = BTreeMap::new();
        let ctx = Context {
            info: &self.info,
            catalog: &catalog,
            schemas: &schemas,
        };
        let mut d = Diagnoser::new(self.info.os_build);
        for r in self.records {
            d.record(&ctx, r);
        }
        d.finish(&self.info)
    }
}

fn host() -> IpAddr {
    v4(HOST)
}

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
        (0u8, NoRoute),
        (1, Unreachable),
        (2, Unreachable),
        (3, Unreachable),
        (5, NoRoute),
        (6, NoRoute),
        (7, NoRoute),
        (8, Unreachable),
        (9, Policy),
        (10, Policy),
        (11, Unreachable),
        (12, Unreachable),
        (13, Policy),
        (14, Unreachable),
        (15, Unreachable),
    ];
    for (code, cause) in expected {
        let d = icmp_about_a_syn(host(), server(), router(), 3, code, [0; 4]);
        let (f, p) = the_finding(&d, "destination unreachable");
        assert_eq!((f.locality, f.cause), (Locality::Remote, cause), "code {code}: {f:#?}");
        assert!(f.explanation.contains(&format!("code {code})")), "{}", f.explanation);
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
        (0u8, NoRoute),
        (1, Policy),
        (2, NoRoute),
        (3, Unreachable),
        // Port unreachable in ICMPv6 (fragmentation needed in ICMPv4).
        (4, Unreachable),
        (5, Policy),
        (6, Policy),
        (7, Unreachable),
    ];
    for (code, cause) in expected {
        let d = icmp_about_a_syn(h, s, r, 1, code, [0; 4]);
        let (f, p) = the_finding(&d, "destination unreachable");
        assert_eq!((f.locality, f.cause), (Locality::Remote, cause), "code {code}: {f:#?}");
        assert!(f.explanation.contains("ICMPv6"), "{}", f.explanation);
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
