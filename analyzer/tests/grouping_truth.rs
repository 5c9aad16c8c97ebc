//! Grouping (`pktmon::packets::Paths`) against what the generator planted,
//! not against the grouper itself: the same scenario and seed generated for
//! a build that shares one PktGroupId per packet (20348) and for one that
//! gives every event its own id (26200) are the same appearances with other
//! ids, so the shared ids the generator wrote are the truth for grouping the
//! 24H2 capture by content and per-CPU chains. Plus oracle-free facts: the
//! generator's packet and appearance counts, every planted drop ending its
//! packet's path, and every planted retransmission a packet of its own.

use std::collections::HashMap;

use pktmon::generate::{capture_info, generate, Evidence, GenOptions, GroundTruth, Scenario};
use pktmon::model::*;
use pktmon::packets::{Linkage, Paths};

fn appearances(opts: &GenOptions) -> (Vec<Appearance>, GroundTruth) {
    let mut out: Vec<Appearance> = Vec::new();
    let mut sink = |_: &Context<'_>, r: Record| {
        if let Record::Packet(a) = r {
            out.push(a);
        }
    };
    let truth = generate(opts, &mut sink);
    (out, truth)
}

fn opts(scenario: Scenario, os_build: u32, seed: u64, ipv6: bool) -> GenOptions {
    GenOptions {
        seed,
        scenario,
        os_build,
        ipv6,
        ..Default::default()
    }
}

/// Appearance index → packet number, numbered by first appearance.
fn partition(of: impl Iterator<Item = u64>) -> Vec<usize> {
    let mut ids: HashMap<u64, usize> = HashMap::new();
    of.map(|k| {
        let n = ids.len();
        *ids.entry(k).or_insert(n)
    })
    .collect()
}

#[test]
fn chained_grouping_matches_the_shared_ids_of_the_same_capture() {
    let mut checked = 0;
    for (i, scenario) in Scenario::ALL.into_iter().enumerate() {
        let seed = 11 + i as u64;
        let ipv6 = i % 2 == 1;
        let (shared, shared_truth) = appearances(&opts(scenario, 20348, seed, ipv6));
        let (chained, chained_truth) = appearances(&opts(scenario, 26200, seed, ipv6));
        // The same capture but for the ids.
        assert_eq!(shared.len(), chained.len(), "{scenario}");
        for (a, b) in shared.iter().zip(&chained) {
            assert_eq!(
                (a.time, a.component_id, a.direction, &a.payload, a.is_drop()),
                (b.time, b.component_id, b.direction, &b.payload, b.is_drop()),
                "{scenario}: appearance {}",
                a.index
            );
        }
        assert_eq!(shared_truth.packets, chained_truth.packets, "{scenario}");
        // Per-event ids: no two appearances share one, so the ids say nothing of packets.
        let distinct: std::collections::HashSet<_> = chained.iter().map(|a| (a.group_id, a.cpu)).collect();
        assert_eq!(distinct.len(), chained.len(), "{scenario}: 24H2 ids are per event");

        let truth = partition(shared.iter().map(|a| a.group_id.expect("generated ids")));
        let info = capture_info(&opts(scenario, 26200, seed, ipv6));
        let paths = Paths::build_for(&chained, &info);
        let got = partition(paths.position.iter().map(|&(p, _)| p as u64));
        let wrong: Vec<usize> = (0..truth.len()).filter(|&i| truth[i] != got[i]).collect();
        assert!(
            wrong.is_empty(),
            "{scenario}: {} of {} appearances grouped unlike the shared ids, first at {:?}",
            wrong.len(),
            truth.len(),
            wrong.first()
        );
        assert_eq!(paths.packets.len() as u64, chained_truth.packets, "{scenario}");
        // Every hop after the first was chained; none by a shared id.
        for p in &paths.packets {
            assert_eq!(p.hops[0].linkage, Linkage::First);
            assert!(
                p.hops[1..].iter().all(|h| h.linkage == Linkage::Chained),
                "{scenario}: {p:?}"
            );
        }
        checked += truth.len();
    }
    assert!(checked > 10_000, "{checked} appearances checked");
}

/// Facts of any grouping of a generated capture that follow from the truth file.
fn check_against_truth(scenario: Scenario, paths: &Paths, all: &[Appearance], truth: &GroundTruth) {
    assert_eq!(paths.position.len() as u64, truth.appearances, "{scenario}");
    assert_eq!(paths.packets.len() as u64, truth.packets, "{scenario}");
    let hops: usize = paths.packets.iter().map(|p| p.hops.len()).sum();
    assert_eq!(hops, all.len());
    for (pi, p) in paths.packets.iter().enumerate() {
        // Path order: time never runs backwards along a path, a drop ends it.
        for (k, h) in p.hops.iter().enumerate() {
            assert_eq!(paths.position[h.appearance], (pi, k));
            assert!(h.latency >= 0, "{scenario}: packet {pi}");
        }
        if let Some(d) = p.dropped_at {
            assert_eq!(p.last(), d, "{scenario}: a drop is its packet's last appearance");
            assert!(all[d].is_drop());
        }
        assert!(p.hops.iter().filter(|h| all[h.appearance].is_drop()).count() <= 1);
    }
    for planted in &truth.planted {
        for e in &planted.evidence {
            match e {
                Evidence::Drop { frame, component, .. } => {
                    let a = (*frame - 1) as usize;
                    assert!(
                        all[a].is_drop() && all[a].component_id == Some(*component),
                        "{scenario}"
                    );
                    let p = paths.packet_of(a);
                    assert_eq!(p.dropped_at, Some(a), "{scenario}: frame {frame}");
                    // It reached the dropping component along a path: earlier hops are not drops.
                    assert!(p.hops[..p.hops.len() - 1].iter().all(|h| !all[h.appearance].is_drop()));
                }
                Evidence::Retransmission {
                    frame, original_frame, ..
                } => {
                    let (copy, original) = ((*frame - 1) as usize, (*original_frame - 1) as usize);
                    // Equal bytes, yet two packets: each is the first appearance of its own.
                    assert_eq!(paths.packet_of(copy).first(), copy, "{scenario}: frame {frame}");
                    assert_eq!(paths.packet_of(original).first(), original, "{scenario}");
                    // A download segment lost before the host has no original in the capture:
                    // the truth file then names the copy twice.
                    if copy != original {
                        assert_ne!(paths.position[copy].0, paths.position[original].0, "{scenario}: {e:?}");
                        assert_eq!(
                            all[copy].payload.len(),
                            all[original].payload.len(),
                            "{scenario}: {e:?}"
                        );
                    }
                }
                Evidence::UnansweredSyn { frame } | Evidence::Icmp { frame, .. } | Evidence::Reset { frame, .. } => {
                    let a = (*frame - 1) as usize;
                    assert_eq!(
                        paths.packet_of(a).first(),
                        a,
                        "{scenario}: frame {frame} starts a packet"
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn paths_agree_with_the_generators_truth_on_both_kinds_of_build() {
    for build in [20348, 26200] {
        for (i, scenario) in Scenario::ALL.into_iter().enumerate() {
            let o = opts(scenario, build, 40 + i as u64, i % 3 == 0);
            let (all, truth) = appearances(&o);
            let paths = Paths::build_for(&all, &capture_info(&o));
            check_against_truth(scenario, &paths, &all, &truth);
            if build < 26100 {
                // Shared ids: appearances of one packet come in Appearance order along the path
                // (a drop event has Appearance 0 and comes last).
                for p in &paths.packets {
                    let order: Vec<u16> = p
                        .hops
                        .iter()
                        .filter(|h| !all[h.appearance].is_drop())
                        .map(|h| all[h.appearance].appearance.unwrap_or(0))
                        .collect();
                    assert!(order.windows(2).all(|w| w[0] < w[1]), "{scenario}: {order:?}");
                    assert!(p.hops[1..].iter().all(|h| h.linkage == Linkage::SharedId));
                }
            }
        }
    }
}
