//! Microsoft-Windows-TCPIP events from `netsh trace` text (`NetTrace.txt`,
//! written by `netsh trace convert`): drop events with their discard reason,
//! retransmit timers, tail loss probes, TCP send events and send-tracker
//! retransmit marks, parsed into [`TcpipEvent`]s.
//!
//! The lines are `[CPU]PID.TID::YYYY/MM/DD-HH:MM:SS.fffffffff
//! [Microsoft-Windows-TCPIP]message` (`docs/pktmon-etl-and-text-formats.md`
//! §4.2). The message's words are translated with the Windows UI language;
//! the field labels, numbers, `N(Name)` map values and addresses are not
//! (`Reason = 9(`, `SeqNo = `), so [`parse`] keys on those and reads a German
//! trace as well as an English one wherever the labels survived translation.
//!
//! [`reader`] streams a file into a [`TcpipTrace`]; [`write`] formats events
//! back into lines (the generator's netsh output); [`reasons`] holds the IP and
//! INET discard-reason tables and their causes.

pub mod parse;
pub mod reader;
pub mod reasons;
pub mod write;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use crate::error::Diagnostics;
use crate::model::FileTime;
pub use reasons::DropLayer;

/// The provider whose lines are parsed; every other provider is counted and skipped.
pub const PROVIDER: &str = "Microsoft-Windows-TCPIP";

/// A map value as printed: `9(Inspection drop)` is code 9, text "Inspection drop".
/// A value printed without a name keeps an empty text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Coded {
    pub code: u32,
    pub text: String,
}

impl Coded {
    pub fn new(code: u32, text: &str) -> Coded {
        Coded {
            code,
            text: text.to_string(),
        }
    }
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.text.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}({})", self.code, self.text)
        }
    }
}

/// Event 1215: the network layer (IP) dropped packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkDrop {
    /// IP protocol, e.g. `1(ICMP)`.
    pub protocol: Coded,
    /// Address family, `2(IPV4)` or `23(IPV6)`.
    pub family: Coded,
    pub count: u64,
    /// Interface index (newer templates only).
    pub interface: Option<u32>,
    pub source: IpAddr,
    pub destination: IpAddr,
    /// `IP_DISCARD_REASON`.
    pub reason: Coded,
    /// `0(Send)` or `1(Receive)` (newer templates only).
    pub direction: Option<Coded>,
    /// The NET_BUFFER_LIST's address (newest template only).
    pub nbl: Option<u64>,
}

/// Event 1214: the transport layer (INET) dropped packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransportDrop {
    pub protocol: Coded,
    pub family: Coded,
    pub count: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// `INET_DISCARD_REASON`.
    pub reason: Coded,
}

/// A TCP timer started (with its delay) or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimerEvent {
    pub connection: u64,
    /// `0(RetransmitTimer)`, …
    pub timer: Coded,
    /// `Some` for "timer started. Scheduled to expire in N ms".
    pub expire_ms: Option<u64>,
    pub processor: Option<u32>,
    /// 100-ns ticks.
    pub last_interrupt_time: Option<u64>,
    pub last_microsecond_count: Option<u64>,
}

impl TimerEvent {
    pub fn started(&self) -> bool {
        self.expire_ms.is_some()
    }
}

/// Event 1386: a tail-loss-probe state change (`Event = 2(TimerFired)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlpEvent {
    pub connection: u64,
    pub event: Coded,
}

/// Event 1385: a tail loss probe sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlpSend {
    pub connection: u64,
    pub snd_una: u32,
    pub snd_max: u32,
    pub send_available: u64,
    pub tail_probe_seq: u32,
    pub tail_probe_last: u32,
    pub controls_to_send: u64,
    pub th_flags: u64,
}

/// A TCP send event: one segment handed down, with the connection's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendEvent {
    pub connection: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub seq: u32,
    pub bytes_sent: u64,
    pub cwnd: u64,
    pub snd_wnd: u64,
    /// Smoothed RTT and its variance, µs.
    pub srtt: u64,
    pub rttvar: u64,
    /// Retransmission timeout, ms.
    pub rto: u64,
    pub rcv_wnd: u64,
    pub pacing_rate: u64,
    pub state: Coded,
    pub congestion_state: u64,
    pub snd_una: u32,
    pub snd_max: u32,
    pub recovery_max: u32,
    pub rcv_buf_set: Coded,
    pub max_rcv_buf: u64,
}

/// The send tracker marked a transmission as a retransmission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RexmitMark {
    pub connection: u64,
    pub start: u32,
    pub end: u32,
    pub timestamp: u64,
    pub in_flight_count: u64,
    pub sacked_bytes: u64,
    pub bytes_in_flight: u64,
}

/// Which retransmit-send event (1418/1419/1421), from its untranslated words when they survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetransmitSendKind {
    Fast,
    Sack,
    SackAdditional,
    Unknown,
}

/// `TCP: Fast Retransmit Send, Connection = …, BytesToSend = …, SndNxt = …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetransmitSend {
    pub connection: u64,
    pub kind: RetransmitSendKind,
    pub bytes_to_send: u64,
    pub snd_nxt: u32,
}

/// Any other line that ties a connection to its endpoints
/// (`connection 0x… (local=… remote=…) …`), e.g. retransmitting data or
/// terminating after the retransmission timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionLine {
    pub connection: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// `RexmitCount = N` when the line has it.
    pub rexmit_count: Option<u64>,
    /// The words after the endpoints, as printed.
    pub what: String,
}

/// One TCP/IP event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TcpipEvent {
    NetworkDrop(NetworkDrop),
    TransportDrop(TransportDrop),
    Timer(TimerEvent),
    TlpEvent(TlpEvent),
    TlpSend(TlpSend),
    Send(SendEvent),
    RexmitMark(RexmitMark),
    RetransmitSend(RetransmitSend),
    Connection(ConnectionLine),
}

impl TcpipEvent {
    /// The connection handle the event is about (drops have none).
    pub fn connection(&self) -> Option<u64> {
        match self {
            TcpipEvent::NetworkDrop(_) | TcpipEvent::TransportDrop(_) => None,
            TcpipEvent::Timer(e) => Some(e.connection),
            TcpipEvent::TlpEvent(e) => Some(e.connection),
            TcpipEvent::TlpSend(e) => Some(e.connection),
            TcpipEvent::Send(e) => Some(e.connection),
            TcpipEvent::RexmitMark(e) => Some(e.connection),
            TcpipEvent::RetransmitSend(e) => Some(e.connection),
            TcpipEvent::Connection(e) => Some(e.connection),
        }
    }

    /// Local and remote endpoints, when the line names them.
    pub fn endpoints(&self) -> Option<(SocketAddr, SocketAddr)> {
        match self {
            TcpipEvent::Send(e) => Some((e.local, e.remote)),
            TcpipEvent::Connection(e) => Some((e.local, e.remote)),
            _ => None,
        }
    }
}

/// An event with where and when it was logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpipRecord {
    /// 1-based line number in the file.
    pub line: u64,
    pub cpu: u16,
    pub process_id: u32,
    pub thread_id: u32,
    /// The time as printed, read as if it were UTC (netsh prints the
    /// capturing machine's local time; the offset to a capture absorbs the zone).
    pub time: FileTime,
    #[serde(flatten)]
    pub event: TcpipEvent,
}

/// Everything read from one netsh trace text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TcpipTrace {
    pub file: String,
    pub records: Vec<TcpipRecord>,
    /// Lines read (including empty and unprefixed ones).
    pub lines: u64,
    /// Prefixed lines per provider, all providers.
    pub providers: BTreeMap<String, u64>,
    /// Microsoft-Windows-TCPIP lines of a kind not parsed (other events: RSC settings, …).
    pub tcpip_other: u64,
    /// Lines without the `[CPU]PID.TID::` prefix (headers, continuation lines).
    pub unprefixed: u64,
    #[serde(skip)]
    pub diagnostics: Diagnostics,
}

impl TcpipTrace {
    /// Records of one kind, by a selector.
    pub fn events<'a, T: 'a>(
        &'a self,
        select: impl Fn(&'a TcpipEvent) -> Option<&'a T> + 'a,
    ) -> impl Iterator<Item = (&'a TcpipRecord, &'a T)> + 'a {
        self.records
            .iter()
            .filter_map(move |r| select(&r.event).map(|e| (r, e)))
    }
}
