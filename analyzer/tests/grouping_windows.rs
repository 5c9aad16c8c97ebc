//! The grouper's windows, its forgetting and its keys, each on both sides of
//! its edge. The windows are written here as the numbers the module documents
//! (100 ms for a 24H2 chain, 10 s for a shared id, 1 ms for identical bytes,
//! 100 ms of slack for late arrivals), not read from the module, so that a
//! wrong constant fails here.
//!
//! Forgetting only happens in a sweep, every 4096 appearances; the tests that
//! reach it feed 8192 unrelated appearances at the moment they want swept.

use pktmon::model::{FileTime, LinkType};
use pktmon::packets::{Grouper, HopKey, Linkage};

const MS: FileTime = 10_000;
const S: FileTime = 10_000_000;
/// A real time (2021), so that `a - b` and `a + b` cannot agree by accident.
const T0: FileTime = 132_600_000_000_000_000;

fn key(time: FileTime, group_id: u64, pkt_number: Option<u16>, appearance: u16, fingerprint: u64) -> HopKey {
    HopKey {
        time,
        group_id: Some(group_id),
        pkt_number,
        appearance: Some(appearance),
        is_drop: false,
        fingerprint,
        fingerprint_len: 64,
    }
}

/// A 24H2 id: the CPU in the top 16 bits, its counter below.
fn id(cpu: u64, counter: u64) -> u64 {
    cpu << 48 | counter
}

/// Enough unrelated appearances at `time` that the grouper sweeps while its
/// latest time is `time` (a sweep comes every 4096).
fn fill(g: &mut Grouper, time: FileTime, per_event_ids: bool) {
    for i in 0..8192u64 {
        let k = if per_event_ids {
            key(time, id(9, 1_000_000 + i), Some(1), 0, 0xF111_0000 + i)
        } else {
            key(time, 0xF111_0000 + i, Some(1), 1, 0xF111_0000 + i)
        };
        g.assign(&k);
    }
}

#[test]
fn a_shared_id_is_one_packet_for_ten_seconds_and_not_a_tick_more() {
    let mut g = Grouper::new(Some(20348));
    let (p, l) = g.assign(&key(T0, 7, Some(1), 1, 1));
    assert_eq!(l, Linkage::First);
    assert_eq!(g.assign(&key(T0 + 10 * S, 7, Some(1), 2, 1)), (p, Linkage::SharedId));

    let (q, _) = g.assign(&key(T0 + 11 * S, 8, Some(1), 1, 2));
    let (r, l) = g.assign(&key(T0 + 21 * S + 1, 8, Some(1), 2, 2));
    assert_ne!(q, r, "the same ids 10 s + 100 ns later are a new packet");
    assert_eq!(l, Linkage::First);
}

#[test]
fn a_24h2_hop_continues_its_chain_for_100_ms_and_not_a_tick_more() {
    let mut g = Grouper::new(Some(26200));
    let (p, _) = g.assign(&key(T0, id(1, 100), Some(1), 0, 0xA));
    assert_eq!(
        g.assign(&key(T0 + 100 * MS, id(1, 101), Some(1), 0, 0xA)),
        (p, Linkage::Chained)
    );

    let (q, _) = g.assign(&key(T0 + S, id(1, 200), Some(1), 0, 0xB));
    let (r, l) = g.assign(&key(T0 + S + 100 * MS + 1, id(1, 201), Some(1), 0, 0xB));
    assert_ne!(q, r, "a hop 100 ms + 100 ns after its predecessor starts a packet");
    assert_eq!(l, Linkage::First);
}

#[test]
fn a_24h2_hop_under_another_id_joins_the_same_bytes_within_one_ms() {
    // The PktGroupId can change part-way (another CPU's counter): the bytes decide.
    let mut g = Grouper::new(Some(26200));
    let (p, _) = g.assign(&key(T0, id(1, 100), Some(1), 0, 0xC));
    assert_eq!(
        g.assign(&key(T0 + MS, id(2, 500), Some(1), 0, 0xC)),
        (p, Linkage::Content)
    );
    let (q, _) = g.assign(&key(T0 + S, id(1, 300), Some(1), 0, 0xD));
    let (r, l) = g.assign(&key(T0 + S + MS + 1, id(2, 700), Some(1), 0, 0xD));
    assert_ne!(q, r);
    assert_eq!(l, Linkage::First);
}

#[test]
fn a_late_hop_within_the_slack_still_joins_after_a_sweep() {
    // Shared ids: the hop is 10 s after its packet (inside the window) but
    // arrives after appearances 50 ms later still; a sweep came between.
    let mut g = Grouper::new(Some(20348));
    let (p, _) = g.assign(&key(T0, 7, Some(1), 1, 1));
    fill(&mut g, T0 + 10 * S + 50 * MS, false);
    assert_eq!(
        g.assign(&key(T0 + 10 * S, 7, Some(1), 2, 1)),
        (p, Linkage::SharedId),
        "forgotten although the window had not closed 100 ms ago"
    );

    // 24H2 chains: the same with the 100 ms chain window.
    let mut g = Grouper::new(Some(26200));
    let (p, _) = g.assign(&key(T0, id(1, 100), Some(1), 0, 0xE));
    fill(&mut g, T0 + 150 * MS, true);
    assert_eq!(
        g.assign(&key(T0 + 100 * MS, id(1, 101), Some(1), 0, 0xE)),
        (p, Linkage::Chained),
        "forgotten although the chain window had not closed 100 ms ago"
    );
}

#[test]
fn a_shared_id_seen_again_keeps_its_key_through_a_sweep() {
    let mut g = Grouper::new(Some(20348));
    let (p, _) = g.assign(&key(T0, 7, Some(1), 1, 1));
    assert_eq!(g.assign(&key(T0 + 9 * S, 7, Some(1), 2, 1)).0, p);
    // The sweep at 10.2 s forgets keys queued before 0.1 s unless their packet was seen since.
    fill(&mut g, T0 + 10 * S + 200 * MS, false);
    assert_eq!(
        g.assign(&key(T0 + 10 * S + 200 * MS, 7, Some(1), 3, 1)),
        (p, Linkage::SharedId)
    );
}

#[test]
fn a_packet_last_seen_exactly_at_the_cutoff_is_kept() {
    // Seen at L − 1 s and at L; swept at L + 10.1 s (cutoff L): kept, so a hop
    // at L + 10 s arriving 100 ms late still joins.
    let l0 = T0 + S;
    let mut g = Grouper::new(Some(20348));
    let (p, _) = g.assign(&key(l0 - S, 7, Some(1), 1, 1));
    assert_eq!(g.assign(&key(l0, 7, Some(1), 2, 1)).0, p);
    fill(&mut g, l0 + 10 * S + 100 * MS, false);
    assert_eq!(g.assign(&key(l0 + 10 * S, 7, Some(1), 3, 1)), (p, Linkage::SharedId));
}

#[test]
fn packets_of_one_nbl_without_packet_numbers_are_told_apart_by_their_bytes() {
    // etl2pcapng keeps the PktGroupId but not the PktNumber: two packets of
    // one NET_BUFFER_LIST share the id, and their bytes tell them apart.
    let mut g = Grouper::new(Some(20348));
    let (a, _) = g.assign(&key(T0, 7, None, 1, 0xAAAA));
    let (b, _) = g.assign(&key(T0 + 10, 7, None, 1, 0xBBBB));
    assert_ne!(a, b);
    assert_eq!(g.assign(&key(T0 + 20, 7, None, 2, 0xAAAA)), (a, Linkage::SharedId));
    assert_eq!(g.assign(&key(T0 + 30, 7, None, 2, 0xBBBB)), (b, Linkage::SharedId));

    // A member known by its bytes never equals one known by its number, and
    // fingerprints differing only in their top bit stay apart.
    let (c, _) = g.assign(&key(T0 + 40, 9, Some(5), 1, 1));
    let (d, _) = g.assign(&key(T0 + 50, 9, None, 1, 10));
    assert_ne!(c, d, "PktNumber 5 and the bytes hashed to 10 are two packets");
    let (e, _) = g.assign(&key(T0 + 60, 11, None, 1, 1));
    let (f, _) = g.assign(&key(T0 + 70, 11, None, 1, 1 | 1 << 63));
    assert_ne!(e, f);
}

#[test]
fn the_kth_packet_of_a_split_nbl_continues_from_k_ids_back() {
    // 24H2: ids 100 carry two packets (an NBL); a component splits it and
    // gives each its own id, 101 and 102. Hops are 5 ms apart, so only the
    // chain (not the 1 ms content fallback) can join them.
    let mut g = Grouper::new(Some(26200));
    let (a, _) = g.assign(&key(T0, id(1, 100), Some(1), 0, 0xA1));
    let (b, _) = g.assign(&key(T0, id(1, 100), Some(2), 0, 0xB1));
    assert_ne!(a, b);
    assert_eq!(
        g.assign(&key(T0 + 5 * MS, id(1, 101), Some(1), 0, 0xA1)),
        (a, Linkage::Chained)
    );
    assert_eq!(
        g.assign(&key(T0 + 10 * MS, id(1, 102), Some(1), 0, 0xB1)),
        (b, Linkage::Chained)
    );
}

fn ipv4(id: u16, ttl: u8, checksum: u16, dst_last: u8) -> Vec<u8> {
    let mut b = vec![
        0x45, 0, 0, 40, 0, 0, 0x40, 0, 0, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, dst_last, 0x04, 0xD2, 0x00, 0x50,
    ];
    b[4..6].copy_from_slice(&id.to_be_bytes());
    b[8] = ttl;
    b[10..12].copy_from_slice(&checksum.to_be_bytes());
    b.resize(40, 0);
    b
}

fn ipv6(hop_limit: u8, dst_last: u8) -> Vec<u8> {
    let mut b = vec![0x60, 0, 0, 0, 0, 20, 6, hop_limit];
    b.extend([0xfe, 0x80].iter().chain(&[0; 13]).chain(&[1]));
    b.extend([0xfe, 0x80].iter().chain(&[0; 13]).chain(&[dst_last]));
    b.resize(60, 0);
    b
}

fn fingerprint(bytes: &[u8]) -> u64 {
    HopKey::from_ids(T0, None, None, None, LinkType::RawIp, bytes).fingerprint
}

#[test]
fn the_fingerprint_ignores_only_the_ip_fields_rewritten_along_the_path() {
    // tcpip.sys logs a dropped packet with IP id 0 and TTL 1; routers lower the TTL.
    assert_eq!(
        fingerprint(&ipv4(0x1234, 128, 0xBEEF, 2)),
        fingerprint(&ipv4(0, 1, 0, 2))
    );
    assert_ne!(
        fingerprint(&ipv4(0x1234, 128, 0xBEEF, 2)),
        fingerprint(&ipv4(0x1234, 128, 0xBEEF, 3))
    );
    assert_eq!(fingerprint(&ipv6(64, 2)), fingerprint(&ipv6(1, 2)), "IPv6 hop limit");
    assert_ne!(fingerprint(&ipv6(64, 2)), fingerprint(&ipv6(64, 3)));
    // Fewer bytes than an IP header: nothing is masked (these are not
    // headers to read), so bytes that differ keep the packets apart.
    assert_ne!(
        fingerprint(&ipv4(0x1234, 128, 0, 2)[..16]),
        fingerprint(&ipv4(0x4321, 128, 0, 2)[..16])
    );
    assert_ne!(fingerprint(&ipv6(64, 2)[..30]), fingerprint(&ipv6(63, 2)[..30]));
    // Through an Ethernet header too.
    let eth = |ip: Vec<u8>| [vec![0; 12], vec![0x08, 0x00], ip].concat();
    let k = |b: &[u8]| HopKey::from_ids(T0, None, None, None, LinkType::Ethernet, b);
    assert_eq!(
        k(&eth(ipv4(1, 128, 7, 2))).fingerprint,
        k(&eth(ipv4(2, 127, 8, 2))).fingerprint
    );
    assert_eq!(k(&eth(ipv4(1, 128, 7, 2))).fingerprint_len, 40);
}

/// A long capture: four hops per packet, a packet every 100 µs for 25 s.
/// Grouping stays right, and what the grouper holds is bounded by its
/// windows (24H2+: the 100 ms chain window; shared ids: 10 s), not by the
/// 1M events: at most the window's packets and keys, plus a ring of 64 ids
/// per CPU (24H2+), plus what arrives between two sweeps (4096).
#[test]
fn memory_follows_the_window_not_the_capture() {
    for build in [26200, 20348] {
        let chained = build >= 26100;
        let mut g = Grouper::new(Some(build));
        let mut counter = 1u64;
        let mut peak = 0;
        for packet in 0..250_000u64 {
            let start = T0 + packet as FileTime * 1_000;
            for hop_index in 0..4 {
                let k = if chained {
                    counter += 1;
                    key(start + hop_index * 10, id(1, counter), Some(1), 0, packet)
                } else {
                    key(start + hop_index * 10, counter, Some(1), hop_index as u16 + 1, packet)
                };
                let (p, linkage) = g.assign(&k);
                assert_eq!(p as u64, packet);
                let later = if chained { Linkage::Chained } else { Linkage::SharedId };
                let want = if hop_index == 0 { Linkage::First } else { later };
                assert_eq!(linkage, want, "{build}: packet {packet} hop {hop_index}");
            }
            if !chained {
                counter += 1;
            }
            peak = peak.max(g.remembered());
        }
        assert_eq!(g.packet_count(), 250_000);
        // Held: packets for their window plus 100 ms, keys likewise (24H2:
        // content keys, 1 ms + 100 ms; shared ids: a key per packet), the
        // CPU's ring, and what arrives between two sweeps (1024 packets).
        let (packets_s, keys_s, ring) = if chained { (0.2, 0.101, 64.0) } else { (10.1, 10.1, 0.0) };
        let expected = ((packets_s + keys_s) * 10_000.0 + ring) as usize;
        let slack = expected / 10 + 4096;
        assert!(
            peak <= expected + slack,
            "{build}: held {peak} entries, expected about {expected}"
        );
        assert!(
            peak + slack >= expected,
            "{build}: held {peak} entries, expected about {expected}"
        );
    }
}

/// Times from a hostile if_tsoffset (anywhere in i64) neither overflow (a
/// panic with overflow checks, a wrong window without) nor join packets.
#[test]
fn hostile_times_saturate() {
    for build in [26200, 20348] {
        let mut g = Grouper::new(Some(build));
        let mut seen = Vec::new();
        for (i, t) in [i64::MAX, i64::MIN, 0, i64::MAX, i64::MIN + 1].into_iter().enumerate() {
            let mut k = key(t, 7 + i as u64, Some(1), i as u16 + 1, 1);
            k.is_drop = i % 2 == 1;
            seen.push(g.assign(&k).0);
        }
        assert_eq!(seen[0], 0);
        assert_ne!(seen[1], seen[0], "{build}: times 2^64 ticks apart are not one packet");
        assert!(pktmon::packets::Paths::build(&[], Some(build)).packets.is_empty());
    }
}

#[test]
fn an_older_id_arriving_late_does_not_evict_a_newer_one_from_the_cpus_ring() {
    // The ring keeps 64 ids per CPU: ids 164 and 100 share a slot. Id 100
    // arriving after 164 (clock jitter between CPUs' buffers) must not push
    // 164 out, or its packet's next hop (165) finds no chain.
    let mut g = Grouper::new(Some(26200));
    let (p, _) = g.assign(&key(T0, id(1, 164), Some(1), 0, 0x164));
    let (q, _) = g.assign(&key(T0 + 10, id(1, 100), Some(1), 0, 0x100));
    assert_ne!(p, q);
    assert_eq!(
        g.assign(&key(T0 + 5 * MS, id(1, 165), Some(1), 0, 0x164)),
        (p, Linkage::Chained)
    );
}

/// An 802.11 data frame: frame control, the MAC header's length given the
/// flags (24 bytes, +6 for a fourth address, +2 QoS, +4 HT control), then
/// LLC/SNAP and an IPv4 header's first byte.
fn dot11(fc0: u8, fc1: u8, header_len: usize) -> Vec<u8> {
    let mut b = vec![0u8; header_len];
    b[0] = fc0;
    b[1] = fc1;
    b.extend([0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
    b
}

#[test]
fn the_network_header_is_found_under_every_80211_data_header() {
    use pktmon::packets::network_offset;
    let cases = [
        ("data, no DS bits", 0x08, 0x00, 24),
        ("data to the AP", 0x08, 0x01, 24),
        ("data, four addresses", 0x08, 0x03, 30),
        ("QoS data", 0x88, 0x02, 26),
        ("QoS data with HT control", 0x88, 0x82, 30),
        ("QoS, four addresses, HT control", 0x88, 0x83, 36),
    ];
    for (what, fc0, fc1, header) in cases {
        let f = dot11(fc0, fc1, header);
        assert_eq!(network_offset(LinkType::Ieee80211, &f), header + 8, "{what}");
        // pktmon etl2pcap writes Wi-Fi frames under the Ethernet link type.
        assert_eq!(network_offset(LinkType::Ethernet, &f), header + 8, "{what} as Ethernet");
    }
    // HT control only matters on QoS frames; without LLC/SNAP or on a
    // management frame there is no network header to find.
    assert_eq!(network_offset(LinkType::Ieee80211, &dot11(0x08, 0x81, 24)), 32);
    let mut no_snap = dot11(0x08, 0x01, 24);
    no_snap[24] = 0x42;
    assert_eq!(network_offset(LinkType::Ieee80211, &no_snap), 0);
    assert_eq!(network_offset(LinkType::Ieee80211, &dot11(0x80, 0x00, 24)), 0, "beacon");
    assert_eq!(network_offset(LinkType::Ieee80211, &[0x08]), 0, "one byte");

    // Ethernet: 14 bytes, plus 4 per VLAN tag (802.1Q, 802.1ad).
    let eth = |types: &[u16]| {
        let mut b = vec![0u8; 12];
        for t in types {
            b.extend(t.to_be_bytes());
            b.extend([0, 5]);
        }
        b.truncate(b.len() - 2);
        b.extend([0x45, 0, 0, 20]);
        b
    };
    assert_eq!(network_offset(LinkType::Ethernet, &eth(&[0x0800])), 14);
    assert_eq!(network_offset(LinkType::Ethernet, &eth(&[0x8100, 0x0800])), 18);
    assert_eq!(network_offset(LinkType::Ethernet, &eth(&[0x88A8, 0x8100, 0x0800])), 22);
    assert_eq!(
        network_offset(LinkType::Ethernet, &[0; 10]),
        10,
        "a runt: no network bytes"
    );
    assert_eq!(network_offset(LinkType::RawIp, &eth(&[0x0800])), 0);
}

#[test]
fn remembered_counts_packets_keys_and_rings() {
    // Shared ids: a packet and a key each.
    let mut g = Grouper::new(Some(20348));
    for i in 0..3 {
        g.assign(&key(T0 + i, 7 + i as u64, Some(1), 1, i as u64));
    }
    assert_eq!(g.remembered(), 3 + 3);
    // 24H2: a packet and a content key each, and one ring of 64 ids for the CPU.
    let mut g = Grouper::new(Some(26200));
    for i in 0..3 {
        g.assign(&key(T0 + i, id(1, 100 + i as u64), Some(1), 0, i as u64));
    }
    assert_eq!(g.remembered(), 3 + 3 + 64);
}

#[test]
fn without_a_build_number_the_appearance_numbers_choose_the_rule() {
    // A pcapng from etl2pcapng carries ids but no build: Appearance 0 on every
    // event is 24H2's per-event ids, chained; numbers above 0 are shared ids.
    let mut g = Grouper::new(None);
    let (p, _) = g.assign(&key(T0, id(1, 100), Some(1), 0, 0xA));
    assert_eq!(
        g.assign(&key(T0 + 5 * MS, id(1, 101), Some(1), 0, 0xA)),
        (p, Linkage::Chained)
    );
    let mut g = Grouper::new(None);
    let (p, _) = g.assign(&key(T0, 7, Some(1), 1, 0xA));
    assert_eq!(g.assign(&key(T0 + 5 * MS, 7, Some(1), 2, 0xB)), (p, Linkage::SharedId));
    // Once shared ids are seen, consecutive ids are not chained.
    let (q, _) = g.assign(&key(T0 + 6 * MS, 8, Some(1), 1, 0xC));
    let (r, l) = g.assign(&key(T0 + 11 * MS, 9, Some(1), 1, 0xC));
    assert_ne!(q, r);
    assert_eq!(l, Linkage::First);
}

#[test]
fn a_24h2_event_logged_twice_under_its_id_is_one_packet() {
    let mut g = Grouper::new(Some(26200));
    let (p, _) = g.assign(&key(T0, id(3, 100), Some(1), 0, 0xA));
    assert_eq!(
        g.assign(&key(T0 + 5 * MS, id(3, 100), Some(1), 0, 0xB)),
        (p, Linkage::SharedId)
    );
}

#[test]
fn a_chain_prefers_the_predecessor_of_the_same_packet_number() {
    // Two packets of one NBL with the same bytes (ids 100, members 1 and 2),
    // logged 2 ms apart so that bytes alone do not join them: member 2's next
    // hop continues member 2, though member 1 fits the chain as well.
    let mut g = Grouper::new(Some(26200));
    let (a, _) = g.assign(&key(T0, id(1, 100), Some(1), 0, 0xA));
    let (b, _) = g.assign(&key(T0 + 2 * MS, id(1, 100), Some(2), 0, 0xA));
    assert_ne!(a, b);
    assert_eq!(
        g.assign(&key(T0 + 5 * MS, id(1, 101), Some(2), 0, 0xA)),
        (b, Linkage::Chained)
    );
}

#[test]
fn a_dropped_packet_takes_no_further_hop_after_older_packets_were_forgotten() {
    // Sweeps forget the first 8192 packets (numbering goes on), then a packet
    // is dropped: a later hop under its ids is a new packet.
    let mut g = Grouper::new(Some(20348));
    fill(&mut g, T0, false);
    fill(&mut g, T0 + 20 * S, false);
    let t = T0 + 20 * S + MS;
    let (p, _) = g.assign(&key(t, 7, Some(1), 1, 1));
    let mut dropped = key(t + 10, 7, Some(1), 2, 1);
    dropped.is_drop = true;
    assert_eq!(g.assign(&dropped), (p, Linkage::SharedId));
    let (q, l) = g.assign(&key(t + 20, 7, Some(1), 3, 1));
    assert_ne!(q, p, "a hop after the drop");
    assert_eq!(l, Linkage::First);
    // ...and a packet seen again keeps its time: 9 s after its last hop (19 s
    // after its first) it still joins.
    let (r, _) = g.assign(&key(t + S, 8, Some(1), 1, 2));
    g.assign(&key(t + 10 * S, 8, Some(1), 2, 2));
    assert_eq!(g.assign(&key(t + 19 * S, 8, Some(1), 3, 2)), (r, Linkage::SharedId));
}

fn capture(application: &str) -> pktmon::model::CaptureInfo {
    pktmon::model::CaptureInfo {
        application: Some(application.into()),
        ..Default::default()
    }
}

fn bare(time: FileTime, fingerprint: u64) -> HopKey {
    HopKey {
        time,
        group_id: None,
        pkt_number: None,
        appearance: None,
        is_drop: false,
        fingerprint,
        fingerprint_len: 64,
    }
}

#[test]
fn frames_without_ids_are_grouped_by_bytes_only_in_pktmons_own_pcapng() {
    // pktmon etl2pcap: every appearance, no ids: the same bytes within 1 ms are one packet.
    let mut g = Grouper::for_capture(&capture("Packet Monitor"));
    let (p, _) = g.assign(&bare(T0, 0xA));
    assert_eq!(g.assign(&bare(T0 + MS, 0xA)), (p, Linkage::Content));
    assert_eq!(g.assign(&bare(T0 + 3 * MS, 0xA)).1, Linkage::First, "2 ms after");
    // A late hop within the slack survives a sweep.
    let (q, _) = g.assign(&bare(T0 + S, 0xB));
    for i in 0..8192u64 {
        g.assign(&bare(T0 + S + 50 * MS, 0xF000_0000 + i));
    }
    assert_eq!(g.assign(&bare(T0 + S + MS, 0xB)), (q, Linkage::Content));
    // Any other writer saw each packet once: the same bytes are a real repeat.
    let mut g = Grouper::for_capture(&capture("Dumpcap (Wireshark) 4.0.17"));
    let (p, _) = g.assign(&bare(T0, 0xA));
    let (q, l) = g.assign(&bare(T0 + 10, 0xA));
    assert_ne!(p, q);
    assert_eq!(l, Linkage::First);
}

#[test]
fn the_oldest_open_packet_moves_only_when_a_sweep_forgets() {
    let mut g = Grouper::new(Some(20348));
    assert_eq!(g.oldest_open(), 0);
    fill(&mut g, T0, false);
    assert_eq!(g.oldest_open(), 0, "nothing is old yet");
    // 20 s later the first 8192 packets are past the 10 s window: forgotten.
    fill(&mut g, T0 + 20 * S, false);
    assert_eq!((g.oldest_open(), g.packet_count()), (8192, 16384));
}

/// An appearance of PktGroupId `group` with Appearance number `number`.
fn logged(index: u64, time: FileTime, group: u64, number: u16) -> pktmon::model::Appearance {
    let mut a = pktmon::model::Appearance::bare(index, time, LinkType::RawIp, vec![0x45, 0, 0, 20], 20);
    a.group_id = Some(group);
    a.pkt_number = Some(1);
    a.appearance = Some(number);
    a
}

#[test]
fn on_shared_ids_the_appearance_numbers_order_a_path_whose_times_interleave() {
    // Timestamps from two CPUs: Appearance 2 is logged 1 ms before Appearance 1.
    let appearances = [
        logged(0, T0 + 10 * MS, 7, 2),
        logged(1, T0 + 11 * MS, 7, 1),
        logged(2, T0 + 14 * MS, 7, 3),
    ];
    let paths = pktmon::packets::Paths::build(&appearances, Some(20348));
    assert_eq!(paths.packets.len(), 1);
    let hops = &paths.packets[0].hops;
    let order: Vec<usize> = hops.iter().map(|h| h.appearance).collect();
    assert_eq!(order, [1, 0, 2], "in Appearance order");
    // Each hop's latency from the one before it on the path, as the clocks
    // say: negative where the other CPU's timestamp was earlier.
    let latency: Vec<FileTime> = hops.iter().map(|h| h.latency).collect();
    assert_eq!(latency, [0, -MS, 4 * MS]);
    assert_eq!(paths.packet_of(0).hops.len(), 3);
    // Two hops logged in reverse: no pair in order, still put in order.
    let reversed = [logged(0, T0, 9, 2), logged(1, T0 + MS, 9, 1)];
    let paths = pktmon::packets::Paths::build(&reversed, Some(20348));
    let order: Vec<usize> = paths.packets[0].hops.iter().map(|h| h.appearance).collect();
    assert_eq!(order, [1, 0]);
    // In order already: left as logged, latencies as the differences.
    let in_order = [
        logged(0, T0, 8, 1),
        logged(1, T0 + 2 * MS, 8, 2),
        logged(2, T0 + 7 * MS, 8, 3),
    ];
    let paths = pktmon::packets::Paths::build(&in_order, Some(20348));
    let latency: Vec<FileTime> = paths.packets[0].hops.iter().map(|h| h.latency).collect();
    assert_eq!(latency, [0, 2 * MS, 5 * MS]);
}
