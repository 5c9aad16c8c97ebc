//! [`TcpipRecord`] → a `netsh trace convert` line, in English (the templates
//! of `docs/pktmon-capture-formats-and-drop-reasons.md` §5) or with the words
//! translated to German around the untranslated labels and values, as a
//! localized Windows writes them. The generator's netsh output is made here,
//! and the reader is tested against it.

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::*;

/// The language of the words around the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    German,
}

/// `[31]0000.0000::2025/03/27-16:12:19.937105000 `: CPU, PID.TID and the time
/// as netsh prints it (nine fraction digits, the last two always 0).
pub fn prefix(cpu: u16, process_id: u32, thread_id: u32, time: FileTime) -> String {
    let (y, mo, d, h, mi, s, f) = crate::time::civil(time);
    format!("[{cpu}]{process_id:04X}.{thread_id:04X}::{y:04}/{mo:02}/{d:02}-{h:02}:{mi:02}:{s:02}.{f:07}00 ")
}

fn ep(a: &SocketAddr) -> String {
    a.to_string()
}

/// The whole line, without its line end.
pub fn line(r: &TcpipRecord, lang: Language) -> String {
    let mut out = prefix(r.cpu, r.process_id, r.thread_id, r.time);
    let _ = write!(out, "[{PROVIDER}]{}", message(&r.event, lang));
    out
}

/// The message of an event.
pub fn message(e: &TcpipEvent, lang: Language) -> String {
    let de = lang == Language::German;
    match e {
        TcpipEvent::NetworkDrop(d) => {
            let mut s = if de {
                format!(
                    "TCPIP: Die Netzwerkschicht (Protokoll {}, AddressFamily = {}) hat {} Paket(e)",
                    d.protocol, d.family, d.count
                )
            } else {
                format!(
                    "TCPIP: Network layer (Protocol {}, AddressFamily = {}) dropped {} packet(s)",
                    d.protocol, d.family, d.count
                )
            };
            if let Some(i) = d.interface {
                let _ = write!(s, "{} {i}", if de { " an Schnittstelle" } else { " on interface" });
            }
            if de {
                s.push_str(" verworfen");
            }
            let _ = write!(
                s,
                ". SourceAddress = {}. DestAddress = {}. Reason = {}.",
                d.source, d.destination, d.reason
            );
            if let Some(dir) = &d.direction {
                let _ = write!(s, " Direction = {dir}.");
            }
            if let Some(nbl) = d.nbl {
                let _ = write!(s, " NBL = 0x{nbl:016X}.");
            }
            s
        }
        TcpipEvent::TransportDrop(d) => {
            if de {
                format!(
                    "TCPIP: Die Transportschicht (Protokoll {}, AddressFamily = {}) hat {} Paket(e) verworfen mit Local = {}, Remote = {}. Reason = {}.",
                    d.protocol, d.family, d.count, ep(&d.local), ep(&d.remote), d.reason
                )
            } else {
                format!(
                    "TCPIP: Transport (Protocol {}, AddressFamily = {}) dropped {} packet(s) with Local = {}, Remote = {}. Reason = {}.",
                    d.protocol, d.family, d.count, ep(&d.local), ep(&d.remote), d.reason
                )
            }
        }
        TcpipEvent::Timer(t) => match (t.expire_ms, de) {
            (None, false) => format!("TCP: Connection 0x{:016X} {} timer has expired.", t.connection, t.timer),
            (None, true) => format!("TCP: Verbindung 0x{:016X} Zeitgeber {} ist abgelaufen.", t.connection, t.timer),
            (Some(ms), _) => {
                let mut s = if de {
                    format!(
                        "TCP: Verbindung 0x{:016X} Zeitgeber {} gestartet. Läuft in {ms} ms ab.",
                        t.connection, t.timer
                    )
                } else {
                    format!(
                        "TCP: Connection 0x{:016X} {} timer started. Scheduled to expire in {ms} ms.",
                        t.connection, t.timer
                    )
                };
                if let (Some(p), Some(it), Some(us)) = (t.processor, t.last_interrupt_time, t.last_microsecond_count) {
                    if de {
                        let _ = write!(
                            s,
                            " Prozessor {p}: LastInterruptTime {it} 100-ns-Ticks; LastMicrosecondCount {us} ms"
                        );
                    } else {
                        let _ = write!(
                            s,
                            " Processor {p}: LastInterruptTime {it} 100-ns ticks; LastMicrosecondCount {us} msec"
                        );
                    }
                }
                s
            }
        },
        TcpipEvent::TlpEvent(t) => format!(
            "TCP: {} Connection = 0x{:016X}, Event = {}.",
            if de { "Tail-Loss-Probe-Ereignis" } else { "Tail Loss Probe Event" },
            t.connection,
            t.event
        ),
        TcpipEvent::TlpSend(t) => format!(
            "TCP: {} Connection = 0x{:016X} SndUna = {}, SndMax = {}, SendAvailable = {}, TailProbeSeq = {}, TailProbeLast = {}, ControlsToSend = {}, ThFlags = {}.",
            if de { "Tail-Loss-Probe gesendet" } else { "Tail Loss Probe Send" },
            t.connection,
            t.snd_una,
            t.snd_max,
            t.send_available,
            t.tail_probe_seq,
            t.tail_probe_last,
            t.controls_to_send,
            t.th_flags
        ),
        TcpipEvent::Send(e) => format!(
            "TCP: {} 0x{:016X} (local={} remote={}): {}, SeqNo = {}, BytesSent = {}, CWnd = {}, SndWnd = {}, SRtt = {}, RttVar = {}, RTO = {}, RcvWnd = {}, PacingRate = {}, State = {}, CongestionState = {}, SndUna = {}, SndMax = {}, RecoveryMax = {}, RcvBufSet = {}, MaxRcvBuf = {}.",
            if de { "Verbindung" } else { "connection" },
            e.connection,
            ep(&e.local),
            ep(&e.remote),
            if de { "TCP-Sendeereignis" } else { "TCP send event" },
            e.seq,
            e.bytes_sent,
            e.cwnd,
            e.snd_wnd,
            e.srtt,
            e.rttvar,
            e.rto,
            e.rcv_wnd,
            e.pacing_rate,
            e.state,
            e.congestion_state,
            e.snd_una,
            e.snd_max,
            e.recovery_max,
            e.rcv_buf_set,
            e.max_rcv_buf
        ),
        TcpipEvent::RexmitMark(m) => format!(
            "TCP: {} = 0x{:016X} {}. Start = {}, End = {}, Timestamp = {}, InFlightCount = {}, SackedBytes = {}, BytesInFlight = {}.",
            if de { "Verbindung" } else { "connection" },
            m.connection,
            if de {
                "Sendetracker hat eine Übertragung als Wiederholung markiert"
            } else {
                "send tracker marked a transmit as rexmit"
            },
            m.start,
            m.end,
            m.timestamp,
            m.in_flight_count,
            m.sacked_bytes,
            m.bytes_in_flight
        ),
        TcpipEvent::RetransmitSend(r) => format!(
            "TCP: {}, Connection = 0x{:016X}, BytesToSend = {}, SndNxt = {}",
            match r.kind {
                RetransmitSendKind::Fast => "Fast Retransmit Send",
                RetransmitSendKind::Sack => "SACK Retransmit Send",
                RetransmitSendKind::SackAdditional => "SACK Retransmit Additional Send",
                RetransmitSendKind::Unknown => "Retransmit Send",
            },
            r.connection,
            r.bytes_to_send,
            r.snd_nxt
        ),
        TcpipEvent::Connection(c) => {
            let mut s = format!(
                "TCP: {} 0x{:016X} (local={} remote={}) {}",
                if de { "Verbindung" } else { "connection" },
                c.connection,
                ep(&c.local),
                ep(&c.remote),
                c.what
            );
            if let Some(n) = c.rexmit_count {
                let _ = write!(s, ", RexmitCount = {n}.");
            }
            s
        }
    }
}
