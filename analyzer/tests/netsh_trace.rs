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
            let _ = read_bytes("cut", l[..cut].as_bytes());
            let mut garbled = l.to_string();
            garbled.replace_range(cut..cut + l[cut..].chars().next().map_or(0, char::len_utf8), "(");
            let _ = read_bytes("garbled", garbled.as_bytes());
        }
    }
}
