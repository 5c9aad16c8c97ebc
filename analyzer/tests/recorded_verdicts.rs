//! The verdict on the captures recorded between network namespaces
//! (`captures/recorded/`, how each was made is in its README): expected
//! problems written from how the loss was caused, not from the tool's output.

use std::collections::BTreeSet;
use std::path::Path;

use pktmon::diagnose::{Cause, Diagnoser, Diagnosis, Locality, Problem, Status};

fn diagnose(name: &str) -> Diagnosis {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../captures/recorded")
        .join(name);
    let mut d = Diagnoser::new(None);
    let outcome = pktmon::source::read(&path, &mut d).unwrap_or_else(|e| panic!("{name}: {e}"));
    d.finish(&outcome.info)
}

fn endpoints(d: &Diagnosis) -> BTreeSet<String> {
    d.verdict
        .problems
        .iter()
        .flat_map(|p| p.endpoints.iter().cloned())
        .collect()
}

fn only(d: &Diagnosis) -> &Problem {
    assert_eq!(d.verdict.problems.len(), 1, "{:#?}", d.verdict);
    &d.verdict.problems[0]
}

#[test]
fn arp_and_nd_for_an_absent_neighbor() {
    // Pings to an address nobody has: the requests go unanswered; the host's own
    // capture (tcpdump) shows no drop of the waiting pings, so the neighbor is silent.
    for (file, target) in [
        ("arp-unanswered.pcap", "10.77.1.99"),
        ("ns-unanswered.pcap", "fd77:1::99"),
    ] {
        let d = diagnose(file);
        let p = only(&d);
        assert_eq!(
            (p.cause, p.locality),
            (Cause::AddressResolution, Locality::Remote),
            "{file}"
        );
        assert_eq!(p.endpoints, vec![target.to_string()], "{file}");
        assert!(p.title.contains(target), "{file}: {}", p.title);
    }
}

#[test]
fn a_pmtu_black_hole_is_one_problem_per_address_family() {
    // The router's far link has MTU 1280 and its ICMP errors are dropped: full-size
    // segments are lost again and again; the data never acknowledged is the same story.
    let d = diagnose("pmtu-black-hole.pcap");
    assert_eq!(d.verdict.problems.len(), 2, "{:#?}", d.verdict);
    for p in &d.verdict.problems {
        assert_eq!(
            (p.cause, p.locality, p.severity),
            (Cause::Mtu, Locality::Remote, 1),
            "{p:#?}"
        );
        assert!(p.title.contains("PMTU black hole"), "{}", p.title);
    }
    assert_eq!(
        endpoints(&d),
        BTreeSet::from(["10.77.2.2".to_string(), "fd77:2::2".to_string()])
    );
}

#[test]
fn fragmentation_needed_names_the_path_mtu_problem() {
    let d = diagnose("pmtu-frag-needed.pcap");
    assert_eq!(d.verdict.problems.len(), 2, "{:#?}", d.verdict);
    assert!(d
        .verdict
        .problems
        .iter()
        .all(|p| p.cause == Cause::Mtu && p.locality == Locality::Remote));
    assert_eq!(
        endpoints(&d),
        BTreeSet::from(["10.77.2.2".to_string(), "fd77:2::2".to_string()])
    );
}

#[test]
fn random_loss_on_the_path_is_remote_congestion_seen_from_either_end() {
    // The router drops 3 % of the client's data segments: the sender retransmits
    // (tshark: 61), the receiver sees holes (tshark: 48 lost segments).
    for (file, what) in [
        ("tcp-random-loss.pcap", "61 retransmissions"),
        ("tcp-random-loss-receiver.pcap", "48 segments not captured"),
    ] {
        let d = diagnose(file);
        let p = only(&d);
        assert_eq!(
            (p.cause, p.locality, p.severity),
            (Cause::Congestion, Locality::Remote, 2),
            "{file}"
        );
        assert!(p.title.contains(what), "{file}: {}", p.title);
        assert_eq!(p.endpoints, vec!["10.77.2.2".to_string()], "{file}");
    }
}

#[test]
fn refused_connections_and_an_abort_after_data() {
    // Two SYNs to 50300 rejected by the router with a RST, then a server on 50301
    // that aborts 0.3 s after reading 20 kB.
    let d = diagnose("tcp-reset.pcap");
    assert_eq!(d.verdict.problems.len(), 2, "{:#?}", d.verdict);
    let refused = &d.verdict.problems[0];
    assert_eq!(refused.endpoints, vec!["10.77.2.2:50300".to_string()]);
    assert_eq!(
        (refused.cause, refused.locality, refused.severity, refused.flows),
        (Cause::Unreachable, Locality::Remote, 1, 2)
    );
    assert!(refused.title.contains("refuses connections"), "{}", refused.title);
    let abort = &d.verdict.problems[1];
    assert_eq!(abort.endpoints, vec!["10.77.2.2:50301".to_string()]);
    assert_eq!((abort.cause, abort.severity), (Cause::SessionLoss, 1));
    assert!(abort.title.contains("carried data"), "{}", abort.title);
}

#[test]
fn syns_dropped_silently_on_the_path() {
    let d = diagnose("tcp-syn-dropped.pcap");
    let p = only(&d);
    assert_eq!(p.endpoints, vec!["10.77.2.2:50200".to_string()]);
    assert_eq!(
        (p.locality, p.severity, p.flows, p.packets),
        (Locality::Remote, 1, 1, 5)
    );
    assert!(p.title.contains("does not answer"), "{}", p.title);
    assert!(p.explanation.contains("5 SYNs"), "{}", p.explanation);
}

#[test]
fn udp_to_closed_ports_names_each_service() {
    let d = diagnose("udp-closed-port.pcap");
    assert_eq!(d.verdict.status, Status::Problems);
    assert!(d
        .verdict
        .problems
        .iter()
        .all(|p| p.cause == Cause::Unreachable && p.title.starts_with("Nothing listens on UDP")));
    assert_eq!(
        endpoints(&d),
        [
            "10.77.2.2:50400",
            "10.77.2.2:50401",
            "[fd77:2::2]:50400",
            "[fd77:2::2]:50401"
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
}

#[test]
fn a_receiver_that_stops_reading_is_one_window_problem() {
    // The server does not read for 2.5 s: it advertises a zero window, the client fills
    // it and probes; the retransmissions around it belong to the same story.
    let d = diagnose("zero-window.pcap");
    let p = only(&d);
    // A plain pcap does not say which end is this host: the locality stays open, the
    // explanation names the end that stopped reading.
    assert_eq!((p.cause, p.locality), (Cause::Resources, Locality::Unknown));
    assert!(p.explanation.starts_with("10.77.2.2:"), "{}", p.explanation);
    assert!(p.explanation.contains("zero window"), "{}", p.explanation);
    assert_eq!(p.endpoints, vec!["10.77.2.2".to_string()]);
}
