//! The verdict on every real capture, against what an engineer reads in it
//! (the readings are in docs/diagnosis-examples.md): expectations written
//! from the captures, not from the tool's output.

use std::collections::BTreeSet;

use pktmon_tests::*;

fn verdict_of(name: &str) -> Option<serde_json::Value> {
    let path = corpus(name)?;
    let out = run(&["diagnose", path.to_str().unwrap(), "--json", "-"]);
    assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Some(v["inputs"][0]["verdict"].clone())
}

fn endpoints(p: &serde_json::Value) -> Vec<&str> {
    p["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect()
}

#[test]
fn demikernel_a_healthy_ping_through_xdp() {
    // 38 pings answered; xdp.sys takes the packets off the stack (no silent drop).
    let v = verdict_of("demikernel-PktMon.etl").expect("bundled in captures/");
    assert_eq!(v["status"], "healthy", "{v:#}");
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert!(v["summary"].as_str().unwrap().contains("38 packets on 1 flow"), "{v:#}");
}

#[test]
fn rundown_only_has_nothing_to_diagnose() {
    let Some(v) = verdict_of("rundown-only-PktMon.etl") else {
        return;
    };
    assert_eq!(v["status"], "nothing_to_diagnose");
    assert!(v["summary"].as_str().unwrap().contains("no packets"), "{v:#}");
}

#[test]
fn vpn_the_silent_web_server_comes_first() {
    let Some(v) = verdict_of("vpn-PktMon.etl") else { return };
    assert_eq!(v["status"], "problems");
    let problems = v["problems"].as_array().unwrap();
    // Two connections to an internal web server through the tunnel, never answered.
    let first = &problems[0];
    assert_eq!(endpoints(first), ["10.83.236.159:80"]);
    assert_eq!(
        (&first["flows"], &first["packets"], &first["severity"]),
        (&2.into(), &5.into(), &1.into())
    );
    // The server that reset a connection after data, with that connection's retransmissions.
    let reset = problems
        .iter()
        .find(|p| endpoints(p) == ["34.89.231.242:443"])
        .expect("the reset");
    assert_eq!(reset["cause"], "session_loss");
    // The VMware NAT gateway that answers no ARP: remote, nothing waited for it.
    let arp = problems
        .iter()
        .find(|p| p["cause"] == "address_resolution")
        .expect("the ARP");
    assert_eq!(
        (&arp["locality"], endpoints(arp)),
        (&"remote".into(), vec!["192.168.153.2"])
    );
    // The host's own resets of its Telegram connections are background.
    let kinds: BTreeSet<&str> = v["background"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["reset_by_this_host"]));
    // No problem names a peer the capture shows healthy.
    let all: BTreeSet<&str> = problems.iter().flat_map(endpoints).collect();
    assert!(all.iter().all(|e| !e.starts_with("31.171.152.19")), "{all:?}");
}

#[test]
fn vpn_text_export_without_bytes_says_what_it_cannot_check() {
    let Some(v) = verdict_of("vpn-PktMon.txt") else { return };
    assert_eq!(v["status"], "nothing_to_diagnose");
    assert!(v["summary"].as_str().unwrap().contains("--hex"), "{v:#}");
}

#[test]
fn etl2pcap_copies_are_not_retransmissions() {
    // Wireshark flags hundreds of retransmissions in this file: every one is a copy of
    // a packet logged at another component.
    let Some(v) = verdict_of("etl2pcap-backup.pcapng") else {
        return;
    };
    assert_eq!(v["status"], "healthy", "{v:#}");
    assert!(
        v["summary"].as_str().unwrap().contains("93 packets on 7 flows"),
        "{v:#}"
    );
}
