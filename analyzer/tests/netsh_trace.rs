//! netsh trace text (`NetTrace.txt`): the lines of Microsoft's "Diagnose
//! packet loss" article parsed field by field, in both encodings; other
//! providers and unknown lines counted, damaged lines reported; and the
//! generator's netsh text read back with nothing lost, in English and German.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use pktmon::tcpip::reader::{read, read_bytes};
use pktmon::tcpip::write::{line, Language};
use pktmon::tcpip::*;

const ARTICLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/diagnose-packet-loss.NetTrace.txt"
);

fn utf16_crlf(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    for u in text.replace('\n', "\r\n").encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

fn at(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, ticks: i64) -> i64 {
    let days = pktmon::time::days_from_civil(y, mo, d);
    pktmon::model::UNIX_EPOCH_FILETIME
        + (days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * 10_000_000
        + ticks
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const CONN: u64 = 0xFFFF_E189_BD81_1AA0;

/// Every field of the seven lines, as the article prints them.
fn check_article(t: &TcpipTrace) {
    assert!(t.diagnostics.items.is_empty(), "{:?}", t.diagnostics.items);
    assert_eq!(t.records.len(), 7);
    assert_eq!(t.providers.get(PROVIDER), Some(&7));
    assert_eq!(t.tcpip_other, 0);
    let r = &t.records;
    assert_eq!((r[0].line, r[0].cpu, r[0].process_id, r[0].thread_id), (1, 30, 0, 0));
    assert_eq!(r[0].time, at(2025, 3, 27, 16, 12, 13, 9_660_038));
    assert_eq!(
        r[0].event,
        TcpipEvent::NetworkDrop(NetworkDrop {
            protocol: Coded::new(1, "ICMP"),
            family: Coded::new(2, "IPV4"),
            count: 1,
            interface: Some(13),
            source: "192.168.5.68".parse::<IpAddr>().unwrap(),
            destination: "192.168.5.88".parse::<IpAddr>().unwrap(),
            reason: Coded::new(9, "Inspection drop"),
            direction: Some(Coded::new(0, "Send")),
            nbl: Some(0xFFFF_E189_BEAF_3AC0),
        })
    );
    assert_eq!((r[1].line, r[1].cpu), (2, 31));
    assert_eq!(r[1].time, at(2025, 3, 27, 16, 12, 19, 9_371_050));
    assert_eq!(
        r[1].event,
        TcpipEvent::Timer(TimerEvent {
            connection: CONN,
            timer: Coded::new(0, "RetransmitTimer"),
            expire_ms: None,
            processor: None,
            last_interrupt_time: None,
            last_microsecond_count: None,
        })
    );
    assert_eq!(r[2].time, at(2025, 3, 27, 16, 12, 19, 9_371_058));
    assert_eq!(
        r[2].event,
        TcpipEvent::TlpEvent(TlpEvent {
            connection: CONN,
            event: Coded::new(2, "TimerFired"),
        })
    );
    assert_eq!(
        r[3].event,
        TcpipEvent::TlpSend(TlpSend {
            connection: CONN,
            snd_una: 2526318360,
            snd_max: 2526321759,
            send_available: 3399,
            tail_probe_seq: 2526320299,
            tail_probe_last: 2526321759,
            controls_to_send: 0,
            th_flags: 16,
        })
    );
    assert_eq!(
        r[4].event,
        TcpipEvent::Send(SendEvent {
            connection: CONN,
            local: sock("192.168.5.68:55330"),
            remote: sock("6.6.0.27:443"),
            seq: 2526320299,
            bytes_sent: 1460,
            cwnd: 18538,
            snd_wnd: 197632,
            srtt: 17631,
            rttvar: 4947,
            rto: 300,
            rcv_wnd: 65535,
            pacing_rate: 0,
            state: Coded::new(4, "EstablishedState"),
            congestion_state: 0,
            snd_una: 2526318360,
            snd_max: 2526321759,
            recovery_max: 0,
            rcv_buf_set: Coded::new(0, "FALSE"),
            max_rcv_buf: 65535,
        })
    );
    assert_eq!(
        r[5].event,
        TcpipEvent::RexmitMark(RexmitMark {
            connection: CONN,
            start: 2526320299,
            end: 2526321759,
            timestamp: 467744252,
            in_flight_count: 2,
            sacked_bytes: 0,
            bytes_in_flight: 4859,
        })
    );
    assert_eq!(r[6].time, at(2025, 3, 27, 16, 12, 19, 9_371_108));
    assert_eq!(
        r[6].event,
        TcpipEvent::Timer(TimerEvent {
            connection: CONN,
            timer: Coded::new(0, "RetransmitTimer"),
            expire_ms: Some(300),
            processor: Some(31),
            last_interrupt_time: Some(305324952689),
            last_microsecond_count: Some(30532515324),
        })
    );
}

#[test]
fn the_article_lines_parse_into_every_field() {
    let t = read(Path::new(ARTICLE)).unwrap();
    check_article(&t);
    assert_eq!(t.lines, 7);
}

#[test]
fn the_article_lines_read_the_same_as_utf16le_with_crlf() {
    let text = std::fs::read_to_string(ARTICLE).unwrap();
    let t = read_bytes("article-utf16", &utf16_crlf(&text));
    check_article(&t);
}

/// The writer gives back the article's lines byte for byte: the generator's
/// netsh text has the shape the article shows.
#[test]
fn the_writer_reproduces_the_article_lines() {
    let text = std::fs::read_to_string(ARTICLE).unwrap();
    let t = read_bytes("article", text.as_bytes());
    for (r, expected) in t.records.iter().zip(text.lines()) {
        assert_eq!(line(r, Language::English), expected);
    }
}

#[test]
fn other_providers_and_unknown_lines_are_counted_not_fatal() {
    let article = std::fs::read_to_string(ARTICLE).unwrap();
    let mut text = String::from("Trace file header: not a trace line\n");
    text.push_str("[2]0E64.0E3C::2022/03/22-17:42:50.604752100 [Microsoft-Windows-TCPIP]TCP software RSC global disabled mask = 0, UDP software URO global disabled mask = 0.\n");
    text.push_str("[2]6F30.34B0::2021/04/13-09:22:48.297449100 [Microsoft-Quic][conn][0x1CF25AC46B0] Transport Shutdown: 18446744071566327813 (Remote=0) (QS=1)\n");
    text.push_str(
        "[0]0004.0F54::2021/05/14-10:30:22.541024000 [Microsoft-Quic][strm][0xC16BA610] Send Blocked Flags: 128\n",
    );
    // A send event with a damaged sequence number: reported with its line, the rest still read.
    text.push_str("[1]0000.0000::2025/03/27-16:12:19.000000000 [Microsoft-Windows-TCPIP]TCP: connection 0x1 (local=1.2.3.4:5 remote=6.7.8.9:10): TCP send event, SeqNo = ?, BytesSent = 1.\n");
    text.push_str(&article);
    let t = read_bytes("mixed", text.as_bytes());
    assert_eq!(t.records.len(), 7);
    assert_eq!(t.providers.get("Microsoft-Quic"), Some(&2));
    assert_eq!(t.providers.get(PROVIDER), Some(&9));
    assert_eq!(t.tcpip_other, 1);
    assert_eq!(t.unprefixed, 1);
    assert_eq!(t.diagnostics.items.len(), 1);
    let d = t.diagnostics.items[0].to_string();
    assert!(
        d.contains("mixed") && d.contains("line 5") && d.contains("SeqNo"),
        "{d}"
    );
}

#[test]
fn cut_and_garbled_lines_never_panic() {
    let text = std::fs::read_to_string(ARTICLE).unwrap();
    for l in text.lines() {
        for cut in (0..l.len()).filter(|&c| l.is_char_boundary(c)) {
            let _ = read_bytes("cut", &l.as_bytes()[..cut]);
            let mut garbled = l.to_string();
            garbled.replace_range(cut..cut + l[cut..].chars().next().map_or(0, char::len_utf8), "(");
            let _ = read_bytes("garbled", garbled.as_bytes());
        }
    }
}

// ---------------------------------------------------------------------------
// The article's events beside a capture of the same traffic
// ---------------------------------------------------------------------------

mod article_capture {
    use super::*;
    use pktmon::diagnose::tcpip::OffsetSource;
    use pktmon::diagnose::{Cause, Diagnoser, Diagnosis, Locality};
    use pktmon::generate::wire::{self, flags, Ip, Payload, Tcp};
    use std::sync::Arc;

    const HOST: &str = "192.168.5.68";
    const SERVER: &str = "6.6.0.27";
    const ISN: u32 = 2526318359;
    const MS: i64 = 10_000;

    /// A plain pcapng (what `pktmon etl2pcap` writes: Ethernet, no PktMon metadata), µs timestamps.
    pub fn pcapng(frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        let block = |out: &mut Vec<u8>, kind: u32, body: &[u8]| {
            let len = (12 + body.len()) as u32;
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(&len.to_le_bytes());
        };
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut out, 0x0A0D_0D0A, &shb);
        let mut idb = Vec::new();
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes());
        block(&mut out, 1, &idb);
        for (time, frame) in frames {
            let us = ((time - pktmon::model::UNIX_EPOCH_FILETIME) / 10) as u64;
            let mut epb = Vec::new();
            epb.extend_from_slice(&0u32.to_le_bytes());
            epb.extend_from_slice(&((us >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(us as u32).to_le_bytes());
            epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            epb.extend_from_slice(frame);
            while epb.len() % 4 != 0 {
                epb.push(0);
            }
            block(&mut out, 6, &epb);
        }
        out
    }

    fn ip(src: &str, dst: &str, id: u16) -> Ip {
        Ip {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ttl: if src == HOST { 128 } else { 52 },
            id,
            df: true,
            flow_label: 0,
        }
    }

    const HOST_MAC: [u8; 6] = [0x3C, 0x52, 0x82, 1, 2, 3];
    const GW_MAC: [u8; 6] = [0x00, 0x1D, 0xAA, 4, 5, 6];

    fn segment(out: bool, id: u16, seq: u32, ack: u32, fl: u8, len: usize) -> Vec<u8> {
        let mut f = Vec::new();
        let (src, dst, ports, eth) = if out {
            (HOST, SERVER, (55330, 443), (GW_MAC, HOST_MAC))
        } else {
            (SERVER, HOST, (443, 55330), (HOST_MAC, GW_MAC))
        };
        let tcp = Tcp {
            src_port: ports.0,
            dst_port: ports.1,
            seq,
            ack,
            flags: fl,
            window: 1026,
            options: &[],
        };
        let payload = Payload::Stream {
            stream: 7,
            offset: u64::from(seq.wrapping_sub(ISN + 1)),
            len,
        };
        wire::tcp_frame(&mut f, eth, &ip(src, dst, id), &tcp, payload);
        f
    }

    /// The traffic the article's events describe, `shift` later on the capture's clock:
    /// the ping the firewall dropped, and a connection whose last segment
    /// (seq 2526320299, 1460 bytes) was sent again when the retransmit timer expired.
    pub fn frames(shift: i64) -> Vec<(i64, Vec<u8>)> {
        let t = |s: u32, ticks: i64| at(2025, 3, 27, 16, 12, s, ticks) + shift;
        let mut icmp = Vec::new();
        wire::icmp_frame(
            &mut icmp,
            (GW_MAC, HOST_MAC),
            &ip(HOST, "192.168.5.88", 100),
            8,
            0,
            [0, 1, 0, 1],
            b"abcdefghijklmnopqrstuvwabcdefghi",
        );
        let ack = 1_000_001;
        let a = ISN + 1;
        let (b, c) = (a + 1460, a + 1460 + 479);
        assert_eq!(c, 2526320299);
        vec![
            (t(13, 9_660_030), icmp),
            (t(19, 6_000_000), segment(true, 101, ISN, 0, flags::SYN, 0)),
            (
                t(19, 6_170_000),
                segment(false, 1, 1_000_000, a, flags::SYN | flags::ACK, 0),
            ),
            (t(19, 6_171_000), segment(true, 102, a, ack, flags::ACK, 0)),
            (
                t(19, 6_372_000),
                segment(true, 103, a, ack, flags::ACK | flags::PSH, 1460),
            ),
            (
                t(19, 6_372_100),
                segment(true, 104, b, ack, flags::ACK | flags::PSH, 479),
            ),
            (
                t(19, 6_373_000),
                segment(true, 105, c, ack, flags::ACK | flags::PSH, 1460),
            ),
            (
                t(19, 9_371_090),
                segment(true, 106, c, ack, flags::ACK | flags::PSH, 1460),
            ),
            (t(19, 9_550_000), segment(false, 2, ack, c + 1460, flags::ACK, 0)),
        ]
    }

    fn diagnose(shift: i64, offset: Option<i64>) -> Diagnosis {
        let dir = std::env::temp_dir().join(format!("pktmon-netsh-{}-{shift}-{offset:?}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cap = dir.join("article.pcapng");
        std::fs::write(&cap, pcapng(&frames(shift))).unwrap();
        let trace = Arc::new(read(Path::new(ARTICLE)).unwrap());
        let mut d = Diagnoser::new(None).with_tcpip(trace, offset);
        let outcome = pktmon::source::read(&cap, &mut d).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        d.finish(&outcome.info)
    }

    /// Must-show 1: the inspection drop and the retransmission explained by the retransmit timer.
    fn check(d: &Diagnosis) {
        let drop = d
            .findings
            .iter()
            .find(|f| f.drops.iter().any(|(r, _)| r.tcpip_reason == Some(9)))
            .expect("a finding cites the inspection drop");
        assert_eq!((drop.locality, drop.cause), (Locality::Local, Cause::Policy));
        assert_eq!(drop.symptom, "local drop");
        assert_eq!(drop.frames, vec![1], "the dropped ping is frame 1");
        let (r, n) = &drop.drops[0];
        assert_eq!(
            (r.reason_text.as_str(), r.direction.as_str(), *n),
            ("Inspection drop", "Send", 1)
        );
        assert_eq!(r.tcpip_layer, Some(DropLayer::Network));
        assert_eq!(drop.tcpip.as_ref().unwrap().lines, vec![1]);
        assert!(
            drop.explanation.contains("Inspection drop (IP discard reason 9, Send)"),
            "{}",
            drop.explanation
        );

        let rexmit = d
            .findings
            .iter()
            .find(|f| f.symptom == "retransmission")
            .expect("a retransmission finding");
        assert_eq!((rexmit.locality, rexmit.cause), (Locality::Remote, Cause::Congestion));
        assert_eq!(rexmit.flow.as_deref(), Some("TCP 192.168.5.68:55330 → 6.6.0.27:443"));
        assert_eq!(rexmit.count, 1);
        assert_eq!(rexmit.frames, vec![7, 8], "the original and its copy");
        let t = rexmit.tcpip.as_ref().expect("TCP/IP evidence");
        assert_eq!(t.mechanism, Some(pktmon::diagnose::tcpip::Mechanism::RetransmitTimer));
        assert_eq!(t.rto_ms, Some(300));
        assert_eq!(t.connections, vec!["0xFFFFE189BD811AA0".to_string()]);
        assert_eq!(t.lines, vec![2, 3, 4, 5, 6, 7]);
        assert!(
            rexmit
                .explanation
                .contains("after the retransmit timer expired (RTO 300 ms), as a tail loss probe"),
            "{}",
            rexmit.explanation
        );
        assert_eq!(d.findings.len(), 2, "{:#?}", d.findings);
        let s = d.tcpip.as_ref().unwrap();
        assert_eq!(
            (s.events, s.drop_events, s.drops_matched, s.retransmissions_explained),
            (7, 1, 1, 1)
        );
    }

    #[test]
    fn the_article_events_explain_the_capture_on_the_same_clock() {
        let d = diagnose(0, None);
        check(&d);
        let s = d.tcpip.as_ref().unwrap();
        assert_eq!(s.time_offset_source, OffsetSource::SharedEvents);
        // The send event pairs with both copies of seq 2526320299 (−300 ms and +1.4 µs) and the
        // drop with the ping (+0.2 µs): the two that agree win.
        assert_eq!((s.offset_pairs, s.offset_agreeing), (3, 2));
        assert!(s.time_offset_seconds.abs() < 0.001, "{}", s.time_offset_seconds);
    }

    #[test]
    fn a_local_time_trace_is_aligned_from_the_shared_events() {
        // netsh printed local time of a UTC+2 machine; the capture keeps UTC.
        let d = diagnose(-2 * 3600 * 10_000_000, None);
        check(&d);
        let s = d.tcpip.as_ref().unwrap();
        assert!(
            (s.time_offset_seconds + 7200.0).abs() < 0.001,
            "{}",
            s.time_offset_seconds
        );
    }

    #[test]
    fn a_given_offset_is_used_as_given() {
        let d = diagnose(-2 * 3600 * 10_000_000, Some(-7200 * 10_000_000));
        check(&d);
        assert_eq!(d.tcpip.as_ref().unwrap().time_offset_source, OffsetSource::Given);
        // A wrong offset links nothing: the trace stays a witness of its own.
        let wrong = diagnose(0, Some(-7200 * 10_000_000));
        let s = wrong.tcpip.as_ref().unwrap();
        assert_eq!((s.drops_matched, s.retransmissions_explained), (0, 0));
        let rexmit = wrong.findings.iter().find(|f| f.symptom == "retransmission").unwrap();
        assert!(rexmit.tcpip.is_none());
        let _ = MS;
    }

    /// `diagnose capture NetTrace.txt` in one folder gives one result for the host.
    #[test]
    fn the_cli_joins_a_nettrace_to_the_captures_of_its_folder() {
        let dir = std::env::temp_dir().join(format!("pktmon-netsh-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cap = dir.join("PktMon.pcapng");
        let net = dir.join("NetTrace.txt");
        std::fs::write(&cap, pcapng(&frames(0))).unwrap();
        std::fs::write(&net, utf16_crlf(&std::fs::read_to_string(ARTICLE).unwrap())).unwrap();
        let bin = env!("CARGO_BIN_EXE_pktmon-analyzer");
        let csv = dir.join("csv");
        let o = std::process::Command::new(bin)
            .args(["diagnose", "--json", "-", "--csv"])
            .arg(&csv)
            .arg(&cap)
            .arg(&net)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["inputs"].as_array().unwrap().len(), 1, "{v:#}");
        assert_eq!(v["inputs"][0]["tcpip"]["time_offset_source"], "shared_events");
        assert_eq!(v["inputs"][0]["tcpip"]["drops_matched"], 1);
        let rows = std::fs::read_to_string(csv.join("findings.csv")).unwrap();
        assert!(rows
            .lines()
            .next()
            .unwrap()
            .ends_with(",next_step,tcpip,problem,background"));
        let cell = format!(
            "retransmit_timer 0xFFFFE189BD811AA0 rto=300ms {}:2 3 4 5 6 7",
            net.display()
        );
        assert!(rows.lines().any(|l| l.contains(&format!(",{cell},"))), "{rows}");
        let f = v["findings"].as_array().unwrap();
        assert!(f.iter().any(|f| f["tcpip"]["mechanism"] == "retransmit_timer"), "{v:#}");
        assert!(f.iter().any(|f| f["drops"][0][0]["tcpip_reason"] == 9), "{v:#}");
        // The netsh text alone: its own result, with the drop and the timer-driven retransmission.
        let o = std::process::Command::new(bin)
            .args(["diagnose", "--json", "-", "--fail-on", "policy"])
            .arg(&net)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            v["inputs"][0]["kind"],
            "netsh trace text (Microsoft-Windows-TCPIP events, no packets)"
        );
        let f = v["findings"].as_array().unwrap();
        assert_eq!(f.len(), 2, "{v:#}");
        assert_eq!(f[1]["locality"], "unknown");
        assert_eq!(f[1]["tcpip"]["rto_ms"], 300);
        // Two netsh texts beside the capture: neither is joined, each is diagnosed alone and says why.
        let second = dir.join("NetTrace-2.txt");
        std::fs::copy(&net, &second).unwrap();
        let o = std::process::Command::new(bin)
            .args(["diagnose", "--json", "-"])
            .arg(&cap)
            .arg(&net)
            .arg(&second)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let inputs = v["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 3, "{v:#}");
        assert!(inputs[0]["tcpip"].is_null());
        for i in &inputs[1..] {
            assert!(
                i["warnings"][0].as_str().unwrap().contains("2 netsh trace texts"),
                "{i:#}"
            );
        }
        // --nettrace joins one explicitly.
        let o = std::process::Command::new(bin)
            .args(["diagnose", "--json", "-", "--nettrace"])
            .arg(&second)
            .arg(&cap)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["inputs"].as_array().unwrap().len(), 1);
        assert_eq!(v["inputs"][0]["tcpip"]["file"], second.display().to_string());
        // A damaged TCP/IP line: exit 2 with the file and line named, and the rest still diagnosed.
        let damaged = dir.join("damaged").join("NetTrace.txt");
        std::fs::create_dir_all(damaged.parent().unwrap()).unwrap();
        let mut text = std::fs::read_to_string(ARTICLE).unwrap();
        text = text.replacen("SeqNo = 2526320299", "SeqNo = ?", 1);
        std::fs::write(&damaged, text).unwrap();
        let o = std::process::Command::new(bin)
            .args(["diagnose", "--json", "-"])
            .arg(&damaged)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&format!("{}: at line 5", damaged.display())), "{err}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["findings"].as_array().unwrap().len(), 2, "{v:#}");
        // Other commands say what the file is instead of failing obscurely.
        let o = std::process::Command::new(bin).arg("drops").arg(&net).output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("netsh trace text"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---------------------------------------------------------------------------
// The generator's netsh text read back
// ---------------------------------------------------------------------------

mod generated {
    use super::*;
    use pktmon::diagnose::tcpip::{Mechanism, OffsetSource};
    use pktmon::diagnose::{Diagnoser, Diagnosis};
    use pktmon::generate::files::{self, Format};
    use pktmon::generate::nettrace::{catalog, encode, render, Collector};
    use pktmon::generate::{self as generate, Evidence, GenOptions, Scenario};
    use pktmon::tcpip::reasons::{INET_DISCARD_REASONS, IP_DISCARD_REASONS, TCP_STATES, TIMERS};
    use std::collections::BTreeSet;
    use std::sync::Arc;

    fn start() -> i64 {
        at(2025, 3, 27, 16, 12, 13, 0)
    }

    /// Every shape and every map value, in both languages and both encodings, reads back equal.
    #[test]
    fn every_tcpip_event_and_reason_reads_back_with_nothing_lost() {
        for lang in [Language::English, Language::German] {
            for utf16 in [true, false] {
                let mut records = catalog(start());
                let text = render(&mut records, lang);
                let t = read_bytes("catalog", &encode(&text, utf16));
                assert!(t.diagnostics.items.is_empty(), "{lang:?}: {:?}", t.diagnostics.items);
                assert_eq!(t.records.len(), records.len());
                for (got, want) in t.records.iter().zip(&records) {
                    assert_eq!(got, want, "{lang:?} utf16={utf16}: line {}", want.line);
                }
                // The two lines around the events: one TCP/IP event not parsed, one other provider.
                assert_eq!(t.tcpip_other, 1);
                assert_eq!(t.providers.get("Microsoft-Windows-NDIS-PacketCapture"), Some(&1));
                assert_eq!(t.providers.get(PROVIDER), Some(&(records.len() as u64 + 1)));
            }
        }
        let records = catalog(start());
        let codes = |layer: DropLayer| -> BTreeSet<u32> {
            records
                .iter()
                .filter_map(|r| match (&r.event, layer) {
                    (TcpipEvent::NetworkDrop(d), DropLayer::Network) => Some(d.reason.code),
                    (TcpipEvent::TransportDrop(d), DropLayer::Transport) => Some(d.reason.code),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            codes(DropLayer::Network),
            IP_DISCARD_REASONS.iter().map(|r| r.code).collect()
        );
        assert_eq!(
            codes(DropLayer::Transport),
            INET_DISCARD_REASONS.iter().map(|r| r.code).collect()
        );
        let timers: BTreeSet<(u32, bool)> = records
            .iter()
            .filter_map(|r| match &r.event {
                TcpipEvent::Timer(t) => Some((t.timer.code, t.started())),
                _ => None,
            })
            .collect();
        assert_eq!(timers.len(), TIMERS.len() * 2);
        let states: BTreeSet<u32> = records
            .iter()
            .filter_map(|r| match &r.event {
                TcpipEvent::Send(s) => Some(s.state.code),
                _ => None,
            })
            .collect();
        assert_eq!(states.len(), TCP_STATES.len());
        for kind in ["tlp_event", "tlp_send", "rexmit_mark", "retransmit_send", "connection"] {
            assert!(
                records.iter().any(|r| serde_json::to_value(r).unwrap()["type"] == kind),
                "no {kind}"
            );
        }
    }

    /// A trace alone: every drop event is a finding with the cause of its
    /// reason, counting the packets the event says it dropped.
    #[test]
    fn a_catalog_trace_alone_gives_every_drop_its_cause() {
        let mut records = catalog(start());
        let _ = render(&mut records, Language::English);
        let trace = Arc::new(TcpipTrace {
            file: "catalog".into(),
            records: records.clone(),
            ..Default::default()
        });
        let d = Diagnoser::new(None).with_tcpip(trace, None).finish(&Default::default());
        let drops: Vec<_> = records
            .iter()
            .filter_map(|r| match &r.event {
                TcpipEvent::NetworkDrop(x) => Some((DropLayer::Network, x.reason.code, x.count)),
                TcpipEvent::TransportDrop(x) => Some((DropLayer::Transport, x.reason.code, x.count)),
                _ => None,
            })
            .collect();
        for (layer, code, count) in drops {
            let f = d
                .findings
                .iter()
                .find(|f| {
                    f.drops
                        .iter()
                        .any(|(r, _)| r.tcpip_layer == Some(layer) && r.tcpip_reason == Some(code))
                })
                .unwrap_or_else(|| panic!("no finding for {layer:?} {code}"));
            let (cause, locality) = (
                pktmon::tcpip::reasons::category(layer, code),
                pktmon::tcpip::reasons::locality(layer, code),
            );
            assert_eq!((f.cause, f.locality), (cause.into(), locality), "{layer:?} {code}");
            let n: u64 = f
                .drops
                .iter()
                .filter(|(r, _)| r.tcpip_reason == Some(code) && r.tcpip_layer == Some(layer))
                .map(|(_, n)| n)
                .sum();
            assert!(n >= count, "{layer:?} {code}: {n} < {count}");
        }
        let inspection = d
            .findings
            .iter()
            .find(|f| {
                f.drops
                    .iter()
                    .any(|(r, _)| r.tcpip_reason == Some(9) && r.tcpip_layer == Some(DropLayer::Network))
            })
            .unwrap();
        assert_eq!(inspection.count, 3, "IP reason 9 is the catalog's 9th entry: 3 packets");
    }

    /// A translated trace whose labels were translated too cannot be read: the
    /// lines are counted as TCP/IP events of another kind, never misread.
    #[test]
    fn lines_whose_labels_were_translated_are_counted_not_misread() {
        let text = "[0]0000.0000::2025/03/27-16:12:13.966003800 [Microsoft-Windows-TCPIP]TCPIP: Couche réseau (Protocole 1(ICMP), Famille = 2(IPV4)) a rejeté 1 paquet(s). Adresse source = 10.0.0.1. Raison = 9(Inspection).\n";
        let t = read_bytes("fr", text.as_bytes());
        assert!(t.records.is_empty());
        assert_eq!(t.tcpip_other, 1);
        assert!(t.diagnostics.items.is_empty());
    }

    fn opts(scenario: Scenario, ipv6: bool, build: u32) -> GenOptions {
        GenOptions {
            seed: 5,
            scenario,
            ipv6,
            os_build: build,
            ..GenOptions::default()
        }
    }

    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn diagnose(pcapng: &Path, trace: Option<&TcpipTrace>) -> Diagnosis {
        let mut d = Diagnoser::new(None);
        if let Some(t) = trace {
            d = d.with_tcpip(Arc::new(t.clone()), None);
        }
        let outcome = pktmon::source::read(pcapng, &mut d).unwrap();
        d.finish(&outcome.info)
    }

    /// Scenario traces: written as generated, aligned to the capture from
    /// the shared events, every drop event tied to its packet, every planted
    /// retransmission of the host linked to the mechanism the scenario used,
    /// and the diagnosis's causes unchanged by the join.
    #[test]
    fn scenario_traces_read_back_and_join_their_captures() {
        let mut linked = 0;
        for scenario in Scenario::ALL {
            for (ipv6, build) in [(false, 26200), (true, 20348)] {
                let o = opts(scenario, ipv6, build);
                let dir =
                    Dir(std::env::temp_dir().join(format!("pktmon-nettrace-{}-{scenario}-{ipv6}", std::process::id())));
                let w = files::write(&o, &dir.0, &[Format::Pcapng, Format::NetTrace]).unwrap();
                let file = |f: Format| w.files.iter().find(|(x, _)| *x == f).unwrap().1.clone();
                let mut collector = Collector::default();
                let truth = generate::generate(&o, &mut collector);
                let mut want = collector.events(&truth);
                let _ = render(&mut want, Language::English);
                let t = read(&file(Format::NetTrace)).unwrap();
                assert!(t.diagnostics.items.is_empty(), "{scenario}: {:?}", t.diagnostics.items);
                assert_eq!(t.records, want, "{scenario} ipv6={ipv6}");
                // One send event per data segment the host sent, its packets told apart as diagnose does.
                let mut grouper: Option<pktmon::packets::Grouper> = None;
                let mut sent_segments = 0;
                let mut count = |ctx: &pktmon::model::Context<'_>, r: pktmon::model::Record| {
                    let pktmon::model::Record::Packet(a) = r else { return };
                    let g = grouper.get_or_insert_with(|| pktmon::packets::Grouper::for_capture(ctx.info));
                    let before = g.packet_count();
                    g.assign(&pktmon::packets::HopKey::of(&a));
                    let data = pktmon::flows::parse::parse(a.link_type, &a.payload).is_some_and(
                        |v| matches!(v.transport, pktmon::flows::parse::Transport::Tcp(t) if t.segment_len > 0),
                    );
                    if g.packet_count() > before && data && a.direction == Some(4) {
                        sent_segments += 1;
                    }
                };
                generate::generate(&o, &mut count);
                let sends = t
                    .records
                    .iter()
                    .filter(|r| matches!(r.event, TcpipEvent::Send(_)))
                    .count();
                assert_eq!(sends, sent_segments, "{scenario} ipv6={ipv6}");

                let plain = diagnose(&file(Format::Pcapng), None);
                let joined = diagnose(&file(Format::Pcapng), Some(&t));
                let s = joined.tcpip.as_ref().unwrap();
                let bias = generate::capture_info(&o).timezone_bias_minutes.unwrap();
                if s.offset_pairs > 0 {
                    assert_eq!(s.time_offset_source, OffsetSource::SharedEvents);
                    // Events are logged 1–5 µs before the packet's first appearance.
                    let expected = f64::from(bias) * 60.0;
                    assert!(
                        (s.time_offset_seconds - expected).abs() < 0.001,
                        "{scenario}: offset {} for bias {bias} min",
                        s.time_offset_seconds
                    );
                }
                assert_eq!(
                    s.drops_matched, s.drop_events,
                    "{scenario}: every drop event names a captured packet"
                );
                // PktMon saw those drops too: no second finding, the PktMon finding cites the netsh line.
                assert_eq!(joined.totals.drop_events, plain.totals.drop_events);
                for f in &joined.findings {
                    let tcpip_drop = f.drops.iter().any(|(d, _)| {
                        d.reason
                            .is_some_and(|r| pktmon::tcpip::reasons::from_pktmon(r, Some(&d.reason_text)).is_some())
                    });
                    assert!(
                        f.drops.iter().all(|(d, _)| d.tcpip_layer.is_none()),
                        "{scenario}: {f:#?}"
                    );
                    if tcpip_drop {
                        assert!(
                            f.tcpip.as_ref().is_some_and(|t| !t.lines.is_empty()),
                            "{scenario}: {f:#?}"
                        );
                    }
                }
                let causes = |d: &Diagnosis| -> Vec<(String, String, Option<String>)> {
                    let mut v: Vec<_> = d
                        .findings
                        .iter()
                        .map(|f| {
                            (
                                f.locality.as_str().to_string(),
                                f.cause.as_str().to_string(),
                                f.flow.clone(),
                            )
                        })
                        .collect();
                    v.sort();
                    v.dedup();
                    v
                };
                assert_eq!(
                    causes(&plain),
                    causes(&joined),
                    "{scenario} ipv6={ipv6}: the join changed the causes"
                );
                // One flow's retransmissions may split by mechanism (fast, timer): more findings, same causes.
                let (a, b) = (
                    generate::score(&truth, &plain.findings),
                    generate::score(&truth, &joined.findings),
                );
                assert_eq!(a.total.recall(), b.total.recall(), "{scenario}");
                assert_eq!(a.missed, b.missed, "{scenario}");
                let wrong = |s: &generate::Score| {
                    let mut v: Vec<_> = s.unexpected.iter().map(|(l, c, _, f)| (*l, *c, f.clone())).collect();
                    v.sort();
                    v.dedup();
                    v
                };
                assert_eq!(wrong(&a), wrong(&b), "{scenario}: the join made a wrong finding");
                // Planted retransmissions of the host's data: the mechanism the scenario used.
                for p in &truth.planted {
                    for e in &p.evidence {
                        let Evidence::Retransmission { frame, trigger, .. } = e else {
                            continue;
                        };
                        let want = match trigger.as_str() {
                            "timeout" => Mechanism::RetransmitTimer,
                            "fast" => Mechanism::FastRetransmit,
                            _ => continue,
                        };
                        let f = joined
                            .findings
                            .iter()
                            .find(|f| f.frames.contains(frame) && f.tcpip.is_some());
                        if let Some(f) = f.filter(|f| f.symptom == "retransmission" && f.drops.is_empty()) {
                            assert_eq!(
                                f.tcpip.as_ref().unwrap().mechanism,
                                Some(want),
                                "{scenario} frame {frame}"
                            );
                            linked += 1;
                        }
                    }
                }
            }
        }
        // remote-congestion and mix plant a fast and a timer-driven retransmission each, in both variants.
        assert!(linked >= 8, "only {linked} planted retransmissions were linked");
    }

    /// With no event both files saw, an ETL's time zone aligns the clocks:
    /// netsh printed the local time of the machine whose zone the ETL records.
    #[test]
    fn without_shared_events_the_etl_time_zone_aligns_the_clocks() {
        let o = (1..)
            .map(|seed| GenOptions {
                seed,
                ..opts(Scenario::RemoteCongestion, false, 26200)
            })
            .find(|o| generate::capture_info(o).timezone_bias_minutes.is_some_and(|b| b != 0))
            .unwrap();
        let bias = generate::capture_info(&o).timezone_bias_minutes.unwrap();
        let dir = Dir(std::env::temp_dir().join(format!("pktmon-nettrace-zone-{}", std::process::id())));
        let w = files::write(&o, &dir.0, &[Format::Etl, Format::NetTrace]).unwrap();
        let file = |f: Format| w.files.iter().find(|(x, _)| *x == f).unwrap().1.clone();
        let mut t = read(&file(Format::NetTrace)).unwrap();
        // Timers, marks, fast retransmit sends, and the endpoints of each connection from a
        // connection line instead of its send events: nothing names a captured packet's time.
        let mut named = BTreeSet::new();
        t.records.retain_mut(|r| match &r.event {
            TcpipEvent::Send(e) => {
                let first = named.insert(e.connection);
                r.event = TcpipEvent::Connection(ConnectionLine {
                    connection: e.connection,
                    local: e.local,
                    remote: e.remote,
                    rexmit_count: None,
                    what: "connected".to_string(),
                });
                first
            }
            e => matches!(
                e,
                TcpipEvent::Timer(_) | TcpipEvent::RexmitMark(_) | TcpipEvent::RetransmitSend(_)
            ),
        });
        let d = diagnose(&file(Format::Etl), Some(&t));
        let s = d.tcpip.as_ref().unwrap();
        assert_eq!((s.time_offset_source, s.offset_pairs), (OffsetSource::TimeZone, 0));
        assert_eq!(s.time_offset_seconds, f64::from(bias) * 60.0);
        assert_eq!(
            s.retransmissions_explained, 2,
            "the fast and the timer-driven retransmission"
        );
    }

    /// `generate --format nettrace` writes the trace beside the capture.
    #[test]
    fn the_cli_writes_the_nettrace_format() {
        let dir = Dir(std::env::temp_dir().join(format!("pktmon-nettrace-cli-{}", std::process::id())));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pktmon-analyzer"))
            .args([
                "generate",
                "--scenario",
                "local-policy",
                "--format",
                "pcapng,nettrace",
                "-o",
            ])
            .arg(&dir.0)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let bytes = std::fs::read(dir.0.join("local-policy.NetTrace.txt")).unwrap();
        assert_eq!(&bytes[..2], &[0xFF, 0xFE], "UTF-16LE with BOM");
        let t = read(&dir.0.join("local-policy.NetTrace.txt")).unwrap();
        assert!(t.records.iter().any(|r| matches!(
            &r.event,
            TcpipEvent::NetworkDrop(d) if d.reason == Coded::new(9, "Inspection drop")
        )));
    }
}

/// Random damage to a whole trace (bytes flipped, dropped, repeated; in UTF-8
/// and UTF-16LE) never panics, and every problem is reported with the file and its line.
#[test]
fn randomly_damaged_traces_never_panic() {
    let mut records = pktmon::generate::nettrace::catalog(at(2025, 3, 27, 16, 12, 13, 0));
    let text = pktmon::generate::nettrace::render(&mut records, Language::English);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..400 {
        let mut bytes = pktmon::generate::nettrace::encode(&text, round % 2 == 0);
        for _ in 0..(1 + next() % 12) {
            let i = (next() % bytes.len() as u64) as usize;
            match next() % 3 {
                0 => bytes[i] = next() as u8,
                1 => {
                    bytes.remove(i);
                }
                _ => {
                    let b = bytes[i];
                    bytes.insert(i, b);
                }
            }
        }
        let t = read_bytes("damaged", &bytes);
        assert!(t.records.len() <= records.len() + 2, "round {round}");
        for d in &t.diagnostics.items {
            assert!(d.to_string().starts_with("error: damaged: at line "), "{d}");
        }
    }
}
