//! Joining a netsh trace's Microsoft-Windows-TCPIP events to a capture of
//! the same host.
//!
//! The two files have their own clocks: netsh prints local time, PktMon's
//! ETL keeps UTC, and the traces may have been started on different
//! machines' notions of now. The offset (capture time − netsh time) is given
//! by the user or found from events both files saw: a TCP send event's
//! endpoints and SeqNo name exactly one captured segment (or two, when it was
//! sent again), and a drop event's protocol and addresses name a captured
//! packet when only one such packet and one such event exist. The offset most
//! of these pairs agree on, within 50 ms, wins — pairs that matched the wrong
//! copy of a retransmitted segment disagree with each other and lose.
//!
//! With the clocks aligned, a retransmission seen in the packets is linked to
//! the events of its connection (found by endpoints) logged when it was sent:
//! the retransmit timer expiring, a tail loss probe, or neither (a fast
//! retransmission after duplicate ACKs); and each TCP/IP drop event is tied
//! to the captured packet it dropped, when the capture has it.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::Serialize;

use crate::flows::{self, FlowKey};
use crate::model::{FileTime, LinkType};
use crate::tcpip::{DropLayer, TcpipEvent, TcpipTrace};

const MS: FileTime = 10_000;
const SEC: FileTime = 10_000_000;
/// Offsets within this much of each other agree.
const AGREE: FileTime = 50 * MS;
/// Most clock pairs kept for finding the offset (the consensus is quadratic).
const MAX_PAIRS: usize = 2_000;
/// Captured packets kept per drop event's addresses (a busy connection's
/// packets share a network drop's addresses; with a given offset only those
/// near a drop are kept).
const MAX_CANDIDATES: usize = 16_384;
/// How far a drop event and the packet it dropped may be apart after alignment.
const DROP_WINDOW: FileTime = 2 * SEC;
/// How far a retransmission and its send event may be apart after alignment.
const SEND_WINDOW: FileTime = SEC;
/// The events that caused a retransmission are logged just before its send
/// event, in the same timer or ACK processing (µs apart in the article's
/// trace): within this much, and on the same clock.
const CAUSE_WINDOW: FileTime = 5 * MS;

/// How the time offset was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetSource {
    /// `--time-offset`.
    Given,
    /// Events both files saw.
    SharedEvents,
    /// No shared events: netsh printed the local time of the machine whose
    /// time zone the capture records (an ETL's header), so the offset is that zone's.
    TimeZone,
    /// Nothing to align on: the clocks are taken as equal.
    Assumed,
}

/// What the diagnosis says about the netsh trace it used.
#[derive(Debug, Clone, Serialize)]
pub struct TcpipSummary {
    pub file: String,
    /// Seconds added to netsh times to get capture times.
    pub time_offset_seconds: f64,
    pub time_offset_source: OffsetSource,
    /// Event pairs the offset was found from, and how many agreed on it.
    pub offset_pairs: u64,
    pub offset_agreeing: u64,
    pub events: u64,
    pub drop_events: u64,
    pub retransmit_timer_expiries: u64,
    pub tail_loss_probes: u64,
    /// Drop events tied to a captured packet.
    pub drops_matched: u64,
    /// Retransmissions in the capture linked to their TCP/IP events.
    pub retransmissions_explained: u64,
    pub lines_per_provider: BTreeMap<String, u64>,
    /// Microsoft-Windows-TCPIP lines of events not parsed.
    pub tcpip_other_lines: u64,
}

/// What caused a retransmission, by the TCP/IP events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    RetransmitTimer,
    TailLossProbe,
    FastRetransmit,
}

impl Mechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::RetransmitTimer => "retransmit_timer",
            Mechanism::TailLossProbe => "tail_loss_probe",
            Mechanism::FastRetransmit => "fast_retransmit",
        }
    }
}

/// The TCP/IP events behind a retransmission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetransmitCause {
    pub mechanism: Mechanism,
    /// The connection handle, as printed.
    pub connection: u64,
    /// Which connection of that handle (see [`Resolved`]).
    pub epoch: usize,
    /// The sequence number sent again.
    pub seq: u32,
    /// The retransmission timeout in force, ms.
    pub rto_ms: Option<u64>,
    /// Also sent as a tail loss probe (the probe fires on the retransmit timer).
    pub tail_loss_probe: bool,
    /// Line numbers of the events.
    pub lines: Vec<u64>,
}

impl RetransmitCause {
    /// "after the retransmit timer expired (RTO 300 ms), as a tail loss probe".
    pub fn describe(&self) -> String {
        let rto = self.rto_ms.map(|ms| format!(" (RTO {ms} ms)")).unwrap_or_default();
        match self.mechanism {
            Mechanism::RetransmitTimer => format!(
                "after the retransmit timer expired{rto}{}",
                if self.tail_loss_probe {
                    ", as a tail loss probe"
                } else {
                    ""
                }
            ),
            Mechanism::TailLossProbe => format!("as a tail loss probe{rto}"),
            Mechanism::FastRetransmit => {
                "as a fast retransmission (no retransmit timer expired: duplicate ACKs or SACK told TCP)".to_string()
            }
        }
    }
}

/// A captured packet a drop event may be about.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub time: FileTime,
    pub packet: usize,
    pub frame: u64,
    pub flow: Option<FlowKey>,
    pub ports: Option<(u16, u16)>,
}

/// A TCP/IP drop event, with the captured packet it dropped when found.
#[derive(Debug, Clone)]
pub struct DropEvent {
    pub line: u64,
    /// On the capture's clock.
    pub time: FileTime,
    pub layer: DropLayer,
    pub code: u32,
    pub text: String,
    pub direction: Option<String>,
    pub count: u64,
    pub flow: FlowKey,
    pub packet: Option<Candidate>,
}

type AddrKey = (u8, IpAddr, IpAddr);

/// Streaming side: collects the clock pairs and candidate packets.
pub struct TcpipJoin {
    trace: Arc<TcpipTrace>,
    given_offset: Option<FileTime>,
    /// (local, remote, SeqNo) → netsh times of its send events.
    sends: HashMap<(SocketAddr, SocketAddr, u32), Vec<FileTime>>,
    /// Drop events' (protocol, source, destination), both ways for transport
    /// drops: how many events, and their netsh times (sorted).
    drop_keys: HashMap<AddrKey, u32>,
    drop_times: HashMap<AddrKey, Vec<FileTime>>,
    candidates: HashMap<AddrKey, Vec<Candidate>>,
    pairs: Vec<FileTime>,
}

fn protocol_of(code: u32, layer: DropLayer) -> u8 {
    match u8::try_from(code) {
        Ok(p) => p,
        Err(_) if layer == DropLayer::Transport => 6,
        Err(_) => 0,
    }
}

impl TcpipJoin {
    pub fn new(trace: Arc<TcpipTrace>, given_offset: Option<FileTime>) -> TcpipJoin {
        let mut sends: HashMap<_, Vec<FileTime>> = HashMap::new();
        let mut drop_keys: HashMap<AddrKey, u32> = HashMap::new();
        let mut drop_times: HashMap<AddrKey, Vec<FileTime>> = HashMap::new();
        let mut add = |key: AddrKey, time: FileTime| {
            *drop_keys.entry(key).or_default() += 1;
            drop_times.entry(key).or_default().push(time);
        };
        for r in &trace.records {
            match &r.event {
                TcpipEvent::Send(s) => sends.entry((s.local, s.remote, s.seq)).or_default().push(r.time),
                TcpipEvent::NetworkDrop(d) => {
                    let p = protocol_of(d.protocol.code, DropLayer::Network);
                    add((p, d.source, d.destination), r.time);
                }
                TcpipEvent::TransportDrop(d) => {
                    let p = protocol_of(d.protocol.code, DropLayer::Transport);
                    add((p, d.remote.ip(), d.local.ip()), r.time);
                    add((p, d.local.ip(), d.remote.ip()), r.time);
                }
                _ => {}
            }
        }
        for v in drop_times.values_mut() {
            v.sort_unstable();
        }
        TcpipJoin {
            trace,
            given_offset,
            sends,
            drop_keys,
            drop_times,
            candidates: HashMap::new(),
            pairs: Vec::new(),
        }
    }

    /// A packet's first appearance.
    pub fn observe(&mut self, packet: usize, frame: u64, time: FileTime, link: LinkType, bytes: &[u8]) {
        let Some(view) = flows::parse(link, bytes) else { return };
        let Some(ip) = &view.ip else { return };
        let key = (ip.protocol, ip.src, ip.dst);
        let ports = match &view.transport {
            flows::parse::Transport::Tcp(t) => Some((t.src_port, t.dst_port)),
            flows::parse::Transport::Udp(u) => Some((u.src_port, u.dst_port)),
            _ => None,
        };
        let near_a_drop = match (self.given_offset, self.drop_times.get(&key)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(offset), Some(times)) => {
                let t = time - offset;
                let i = times.partition_point(|&x| x < t - DROP_WINDOW);
                times.get(i).is_some_and(|&x| x <= t + DROP_WINDOW)
            }
        };
        if near_a_drop {
            let list = self.candidates.entry(key).or_default();
            if list.len() < MAX_CANDIDATES {
                list.push(Candidate {
                    time,
                    packet,
                    frame,
                    flow: view.flow_key(),
                    ports,
                });
            }
        }
        if let flows::parse::Transport::Tcp(t) = &view.transport {
            if self.pairs.len() < MAX_PAIRS && t.segment_len > 0 {
                let local = SocketAddr::new(ip.src, t.src_port);
                let remote = SocketAddr::new(ip.dst, t.dst_port);
                if let Some(times) = self.sends.get(&(local, remote, t.seq)) {
                    self.pairs.extend(times.iter().map(|&n| time - n));
                }
            }
        }
    }

    /// Decides the offset and indexes the events by connection.
    /// `zone_bias_minutes` is the capture's time zone (UTC = local + bias), when it records one.
    pub fn resolve(mut self, zone_bias_minutes: Option<i32>) -> Resolved {
        // A drop event is a clock pair when its addresses name one event and one captured packet.
        for r in &self.trace.records {
            let key = match &r.event {
                TcpipEvent::NetworkDrop(d) => (
                    protocol_of(d.protocol.code, DropLayer::Network),
                    d.source,
                    d.destination,
                ),
                _ => continue,
            };
            if let (Some(1), Some([c])) = (self.drop_keys.get(&key), self.candidates.get(&key).map(Vec::as_slice)) {
                self.pairs.push(c.time - r.time);
            }
        }
        let (offset, source, agreeing) = match self.given_offset {
            Some(o) => (o, OffsetSource::Given, 0),
            None => match consensus(&self.pairs) {
                Some((o, n)) => (o, OffsetSource::SharedEvents, n),
                None => match zone_bias_minutes {
                    Some(bias) => (FileTime::from(bias) * 60 * SEC, OffsetSource::TimeZone, 0),
                    None => (0, OffsetSource::Assumed, 0),
                },
            },
        };
        // A handle is a kernel address, reused once its connection is gone:
        // other endpoints under a known handle start a new connection.
        let mut epochs: Vec<Epoch> = Vec::new();
        let mut current: HashMap<u64, usize> = HashMap::new();
        for (i, r) in self.trace.records.iter().enumerate() {
            let Some(handle) = r.event.connection() else { continue };
            let ends = r.event.endpoints();
            let e = match current.get(&handle) {
                Some(&e) if ends.is_none() || epochs[e].ends.is_none() || epochs[e].ends == ends => e,
                _ => {
                    epochs.push(Epoch {
                        handle,
                        ends: None,
                        events: Vec::new(),
                    });
                    current.insert(handle, epochs.len() - 1);
                    epochs.len() - 1
                }
            };
            epochs[e].ends = epochs[e].ends.or(ends);
            epochs[e].events.push(i);
        }
        let mut by_endpoints: HashMap<(SocketAddr, SocketAddr), Vec<usize>> = HashMap::new();
        for (e, epoch) in epochs.iter().enumerate() {
            if let Some(ends) = epoch.ends {
                by_endpoints.entry(ends).or_default().push(e);
            }
        }
        Resolved {
            trace: self.trace,
            offset,
            source,
            pairs: self.pairs.len() as u64,
            agreeing,
            candidates: self.candidates,
            epochs,
            by_endpoints,
        }
    }
}

/// The offset most pairs agree on (within [`AGREE`]), and how many agree; ties
/// go to the smaller offset, as clocks of one host are more often close than not.
fn consensus(pairs: &[FileTime]) -> Option<(FileTime, u64)> {
    let mut sorted = pairs.to_vec();
    sorted.sort_unstable();
    let mut best: Option<(usize, FileTime)> = None;
    let mut lo = 0;
    for hi in 0..sorted.len() {
        while sorted[hi] - sorted[lo] > AGREE {
            lo += 1;
        }
        let n = hi - lo + 1;
        let mid = sorted[lo + (hi - lo) / 2];
        let better = match best {
            None => true,
            Some((bn, bo)) => n > bn || (n == bn && mid.abs() < bo.abs()),
        };
        if better {
            best = Some((n, mid));
        }
    }
    best.map(|(n, o)| (o, n as u64))
}

/// One connection: a handle from its first event until the handle shows up
/// with other endpoints.
struct Epoch {
    handle: u64,
    ends: Option<(SocketAddr, SocketAddr)>,
    /// Its records, in time order.
    events: Vec<usize>,
}

/// The trace with its clock aligned and its events indexed by connection.
pub struct Resolved {
    pub trace: Arc<TcpipTrace>,
    /// Capture time − netsh time.
    pub offset: FileTime,
    pub source: OffsetSource,
    pairs: u64,
    agreeing: u64,
    candidates: HashMap<AddrKey, Vec<Candidate>>,
    epochs: Vec<Epoch>,
    by_endpoints: HashMap<(SocketAddr, SocketAddr), Vec<usize>>,
}

impl Resolved {
    pub fn summary(&self, drops_matched: u64, explained: u64) -> TcpipSummary {
        let t = &self.trace;
        let count = |f: fn(&TcpipEvent) -> bool| t.records.iter().filter(|r| f(&r.event)).count() as u64;
        TcpipSummary {
            file: t.file.clone(),
            time_offset_seconds: self.offset as f64 / SEC as f64,
            time_offset_source: self.source,
            offset_pairs: self.pairs,
            offset_agreeing: self.agreeing,
            events: t.records.len() as u64,
            drop_events: count(|e| matches!(e, TcpipEvent::NetworkDrop(_) | TcpipEvent::TransportDrop(_))),
            retransmit_timer_expiries: count(
                |e| matches!(e, TcpipEvent::Timer(t) if t.timer.code == 0 && t.expire_ms.is_none()),
            ),
            tail_loss_probes: count(|e| matches!(e, TcpipEvent::TlpSend(_))),
            drops_matched,
            retransmissions_explained: explained,
            lines_per_provider: t.providers.clone(),
            tcpip_other_lines: t.tcpip_other,
        }
    }

    /// The local and remote endpoints of a connection (an `epoch` of a [`RetransmitCause`]).
    pub fn endpoints(&self, epoch: usize) -> Option<(SocketAddr, SocketAddr)> {
        self.epochs.get(epoch)?.ends
    }

    /// The drop events, each with the captured packet it dropped when found.
    pub fn drops(&self) -> Vec<DropEvent> {
        let mut out = Vec::new();
        for r in &self.trace.records {
            let (layer, protocol, count, reason, direction, src, dst, ports) = match &r.event {
                TcpipEvent::NetworkDrop(d) => (
                    DropLayer::Network,
                    protocol_of(d.protocol.code, DropLayer::Network),
                    d.count,
                    &d.reason,
                    d.direction.as_ref().map(|c| {
                        if c.text.is_empty() {
                            c.code.to_string()
                        } else {
                            c.text.clone()
                        }
                    }),
                    SocketAddr::new(d.source, 0),
                    SocketAddr::new(d.destination, 0),
                    None,
                ),
                TcpipEvent::TransportDrop(d) => (
                    DropLayer::Transport,
                    protocol_of(d.protocol.code, DropLayer::Transport),
                    d.count,
                    &d.reason,
                    None,
                    d.remote,
                    d.local,
                    Some((d.remote.port(), d.local.port())),
                ),
                _ => continue,
            };
            let time = r.time + self.offset;
            let mut best: Option<Candidate> = None;
            for key in [(protocol, src.ip(), dst.ip()), (protocol, dst.ip(), src.ip())] {
                for c in self.candidates.get(&key).into_iter().flatten() {
                    let ports_ok = match (ports, c.ports) {
                        (Some((a, b)), Some((x, y))) => (a, b) == (x, y) || (a, b) == (y, x),
                        (Some(_), None) => false,
                        (None, _) => key.1 == src.ip(),
                    };
                    let near = (c.time - time).abs() <= DROP_WINDOW;
                    if ports_ok && near && best.is_none_or(|b| (c.time - time).abs() < (b.time - time).abs()) {
                        best = Some(*c);
                    }
                }
            }
            let flow = best.and_then(|c| c.flow).unwrap_or(FlowKey {
                protocol,
                client: src.ip(),
                client_port: src.port(),
                server: dst.ip(),
                server_port: dst.port(),
                vlan: None,
            });
            out.push(DropEvent {
                line: r.line,
                time,
                layer,
                code: reason.code,
                text: reason.text.clone(),
                direction,
                count,
                flow,
                packet: best,
            });
        }
        out
    }

    /// A connection's events before `from` and from it on (its list is in time order).
    fn events_from(&self, epoch: usize, from: FileTime) -> (&[usize], &[usize]) {
        let list = self.epochs.get(epoch).map(|e| e.events.as_slice()).unwrap_or(&[]);
        let split = list.partition_point(|&i| self.trace.records[i].time < from);
        list.split_at(split)
    }

    /// The connections of a flow (either way round).
    fn connections_of(&self, flow: &FlowKey) -> Vec<usize> {
        let a = SocketAddr::new(flow.client, flow.client_port);
        let b = SocketAddr::new(flow.server, flow.server_port);
        let mut out: Vec<usize> = Vec::new();
        for k in [(a, b), (b, a)] {
            out.extend(self.by_endpoints.get(&k).into_iter().flatten());
        }
        out
    }

    /// What the TCP/IP events say about a retransmission of `seq` on `flow` captured at `time`.
    pub fn retransmission(&self, flow: &FlowKey, seq: u32, time: FileTime) -> Option<RetransmitCause> {
        let t = time - self.offset;
        let recs = &self.trace.records;
        let mut best: Option<(FileTime, usize, usize)> = None;
        for c in self.connections_of(flow) {
            let (_, events) = self.events_from(c, t - SEND_WINDOW);
            for &i in events {
                let r = &recs[i];
                if r.time > t + SEND_WINDOW {
                    break;
                }
                let names_seq = match &r.event {
                    TcpipEvent::Send(s) => s.seq == seq,
                    TcpipEvent::RexmitMark(m) => m.start == seq,
                    TcpipEvent::TlpSend(p) => p.tail_probe_seq == seq,
                    _ => false,
                };
                let d = (r.time - t).abs();
                if names_seq && d <= SEND_WINDOW && best.is_none_or(|(bd, _, _)| d < bd) {
                    best = Some((d, c, i));
                }
            }
        }
        let (_, epoch, anchor) = best?;
        self.cause_at(epoch, recs[anchor].time, seq)
    }

    /// The cause of the transmission of `seq` logged at `at` on a connection.
    /// Events about other sequence numbers logged meanwhile are not its cause.
    pub fn cause_at(&self, epoch: usize, at: FileTime, seq: u32) -> Option<RetransmitCause> {
        let recs = &self.trace.records;
        let mut lines = Vec::new();
        let (mut expired, mut tlp, mut fast, mut marked) = (false, false, false, false);
        let mut rto = None;
        let (earlier, events) = self.events_from(epoch, at - CAUSE_WINDOW);
        // Without a send event's RTO, the delay the retransmit timer was last started with.
        let mut last_started = earlier.iter().rev().take(256).find_map(|&i| match &recs[i].event {
            TcpipEvent::Timer(t) if t.timer.code == 0 => t.expire_ms,
            _ => None,
        });
        for &i in events {
            let r = &recs[i];
            if r.time > at + MS {
                break;
            }
            let relevant = match &r.event {
                // Expiry before the send; the timer re-armed after it.
                TcpipEvent::Timer(t) if t.timer.code == 0 && (t.expire_ms.is_none()) == (r.time <= at) => {
                    match t.expire_ms {
                        None => expired = true,
                        Some(ms) => last_started = last_started.or(Some(ms)),
                    }
                    true
                }
                TcpipEvent::TlpEvent(e) if r.time <= at => {
                    tlp |= e.event.code == crate::tcpip::reasons::TLP_TIMER_FIRED;
                    true
                }
                TcpipEvent::TlpSend(p) if p.tail_probe_seq == seq => {
                    tlp = true;
                    true
                }
                TcpipEvent::RetransmitSend(_) if r.time <= at => {
                    fast = true;
                    true
                }
                TcpipEvent::RexmitMark(m) if m.start == seq => {
                    marked = true;
                    true
                }
                TcpipEvent::Send(s) if s.seq == seq => {
                    rto = Some(s.rto);
                    true
                }
                _ => false,
            };
            if relevant {
                lines.push(r.line);
            }
        }
        let mechanism = if expired {
            Mechanism::RetransmitTimer
        } else if tlp {
            Mechanism::TailLossProbe
        } else if fast || marked {
            Mechanism::FastRetransmit
        } else {
            return None;
        };
        Some(RetransmitCause {
            mechanism,
            connection: self.epochs[epoch].handle,
            epoch,
            seq,
            rto_ms: rto.or(last_started),
            tail_loss_probe: tlp && expired,
            lines,
        })
    }

    /// Every retransmission the events alone show (send-tracker marks, tail
    /// loss probes without a mark), per connection: for a trace without a capture.
    pub fn retransmissions(&self) -> Vec<(FileTime, RetransmitCause)> {
        let mut out: Vec<(FileTime, RetransmitCause)> = Vec::new();
        for (e, epoch) in self.epochs.iter().enumerate() {
            let first = out.len();
            for &i in &epoch.events {
                let r = &self.trace.records[i];
                let seq = match &r.event {
                    TcpipEvent::RexmitMark(m) => m.start,
                    TcpipEvent::TlpSend(p) => p.tail_probe_seq,
                    _ => continue,
                };
                // One transmission logs a TLP send and a rexmit mark µs apart: count it once.
                let at = r.time + self.offset;
                if out[first..]
                    .iter()
                    .rev()
                    .take(16)
                    .any(|(t, x)| x.seq == seq && (at - *t).abs() <= CAUSE_WINDOW)
                {
                    continue;
                }
                if let Some(cause) = self.cause_at(e, r.time, seq) {
                    out.push((at, cause));
                }
            }
        }
        out.sort_by_key(|(t, _)| *t);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcpip::*;

    const C: u64 = 0xFFFF_E189_BD81_1AA0;
    const SEQ: u32 = 2_526_320_299;

    fn rec(line: u64, time: FileTime, event: TcpipEvent) -> TcpipRecord {
        TcpipRecord {
            line,
            cpu: 0,
            process_id: 0,
            thread_id: 0,
            time,
            event,
        }
    }

    fn timer(expire_ms: Option<u64>) -> TcpipEvent {
        TcpipEvent::Timer(TimerEvent {
            connection: C,
            timer: Coded::new(0, "RetransmitTimer"),
            expire_ms,
            processor: None,
            last_interrupt_time: None,
            last_microsecond_count: None,
        })
    }

    fn send(seq: u32) -> TcpipEvent {
        TcpipEvent::Send(SendEvent {
            connection: C,
            local: "10.0.0.1:50000".parse().unwrap(),
            remote: "10.0.0.2:443".parse().unwrap(),
            seq,
            bytes_sent: 1460,
            cwnd: 1,
            snd_wnd: 1,
            srtt: 1,
            rttvar: 1,
            rto: 250,
            rcv_wnd: 1,
            pacing_rate: 0,
            state: Coded::new(4, "EstablishedState"),
            congestion_state: 0,
            snd_una: seq,
            snd_max: seq,
            recovery_max: 0,
            rcv_buf_set: Coded::new(0, "FALSE"),
            max_rcv_buf: 1,
        })
    }

    fn mark(seq: u32) -> TcpipEvent {
        TcpipEvent::RexmitMark(RexmitMark {
            connection: C,
            start: seq,
            end: seq + 1460,
            timestamp: 0,
            in_flight_count: 1,
            sacked_bytes: 0,
            bytes_in_flight: 1460,
        })
    }

    fn tlp_fired() -> TcpipEvent {
        TcpipEvent::TlpEvent(TlpEvent {
            connection: C,
            event: Coded::new(2, "TimerFired"),
        })
    }

    fn fast() -> TcpipEvent {
        TcpipEvent::RetransmitSend(RetransmitSend {
            connection: C,
            kind: RetransmitSendKind::Fast,
            bytes_to_send: 1460,
            snd_nxt: SEQ,
        })
    }

    /// The events before the send of `SEQ` at 1 s, and the cause they give.
    fn cause(before: Vec<TcpipEvent>) -> Option<RetransmitCause> {
        let t = SEC;
        let mut records: Vec<TcpipRecord> = before
            .into_iter()
            .enumerate()
            .map(|(i, e)| rec(i as u64 + 1, t - 10 * (4 - i as FileTime), e))
            .collect();
        let n = records.len() as u64;
        records.push(rec(n + 1, t, send(SEQ)));
        records.push(rec(n + 2, t + 5, mark(SEQ)));
        records.push(rec(n + 3, t + 6, timer(Some(500))));
        let trace = Arc::new(TcpipTrace {
            records,
            ..Default::default()
        });
        let r = TcpipJoin::new(trace, Some(0)).resolve(None);
        let flow = FlowKey {
            protocol: 6,
            client: "10.0.0.1".parse().unwrap(),
            client_port: 50000,
            server: "10.0.0.2".parse().unwrap(),
            server_port: 443,
            vlan: None,
        };
        r.retransmission(&flow, SEQ, t + 20)
    }

    #[test]
    fn the_events_before_a_send_name_its_mechanism() {
        let c = cause(vec![timer(None), tlp_fired()]).unwrap();
        assert_eq!(
            (c.mechanism, c.tail_loss_probe, c.rto_ms),
            (Mechanism::RetransmitTimer, true, Some(250))
        );
        assert_eq!(c.lines, vec![1, 2, 3, 4, 5]);
        let c = cause(vec![timer(None)]).unwrap();
        assert_eq!((c.mechanism, c.tail_loss_probe), (Mechanism::RetransmitTimer, false));
        assert_eq!(cause(vec![tlp_fired()]).unwrap().mechanism, Mechanism::TailLossProbe);
        assert_eq!(cause(vec![fast()]).unwrap().mechanism, Mechanism::FastRetransmit);
        // Marked as a retransmission with no timer: fast.
        assert_eq!(cause(vec![]).unwrap().mechanism, Mechanism::FastRetransmit);
        // Events of another segment are not this one's evidence.
        assert_eq!(cause(vec![send(SEQ + 1460)]).unwrap().lines, vec![2, 3, 4]);
    }

    /// Windows reuses a handle once its connection is gone: events under it
    /// belong to the connection whose endpoints came last before them.
    #[test]
    fn a_reused_handle_is_two_connections() {
        let mut second = send(SEQ);
        if let TcpipEvent::Send(s) = &mut second {
            s.remote = "10.0.0.3:443".parse().unwrap();
            s.rto = 400;
        }
        let trace = Arc::new(TcpipTrace {
            records: vec![
                rec(1, SEC - 10, timer(None)),
                rec(2, SEC, send(SEQ)),
                rec(3, SEC + 5, mark(SEQ)),
                rec(4, 5 * SEC, second),
                rec(5, 5 * SEC + 5, mark(SEQ)),
            ],
            ..Default::default()
        });
        let r = TcpipJoin::new(trace, Some(0)).resolve(None);
        let flow = |server: &str| FlowKey {
            protocol: 6,
            client: "10.0.0.1".parse().unwrap(),
            client_port: 50000,
            server: server.parse().unwrap(),
            server_port: 443,
            vlan: None,
        };
        let first = r.retransmission(&flow("10.0.0.2"), SEQ, SEC + 20).unwrap();
        assert_eq!(
            (first.mechanism, first.rto_ms, first.epoch),
            (Mechanism::RetransmitTimer, Some(250), 0)
        );
        let later = r.retransmission(&flow("10.0.0.3"), SEQ, 5 * SEC + 20).unwrap();
        assert_eq!(
            (later.mechanism, later.rto_ms, later.epoch),
            (Mechanism::FastRetransmit, Some(400), 1)
        );
        assert_eq!(later.connection, C);
        assert_eq!(r.endpoints(1).unwrap().1, "10.0.0.3:443".parse().unwrap());
        // The old connection's events are not the new one's: nothing at 5 s on the first flow.
        assert_eq!(r.retransmission(&flow("10.0.0.2"), SEQ, 5 * SEC + 20), None);
        assert_eq!(r.retransmissions().len(), 2);
    }

    #[test]
    fn an_expiry_long_before_the_send_is_not_its_cause() {
        let trace = Arc::new(TcpipTrace {
            records: vec![
                rec(1, SEC - 100 * MS, timer(None)),
                rec(2, SEC, send(SEQ)),
                rec(3, SEC + 5, mark(SEQ)),
            ],
            ..Default::default()
        });
        let r = TcpipJoin::new(trace, Some(0)).resolve(None);
        let c = r.cause_at(0, SEC, SEQ).unwrap();
        assert_eq!(c.mechanism, Mechanism::FastRetransmit);
        assert_eq!(c.lines, vec![2, 3]);
        // Nothing names the segment as sent again: no cause at all.
        assert_eq!(r.cause_at(0, SEC, SEQ + 1), None);
    }

    #[test]
    fn the_offset_most_pairs_agree_on_wins() {
        // Two pairs from the wrong copy of a retransmitted segment (±300 ms) lose to three that agree.
        let h = 3600 * SEC;
        let pairs = [h - 300 * MS, h, h + 10 * MS, h + 300 * MS, h + 5 * MS];
        let (o, n) = consensus(&pairs).unwrap();
        assert_eq!(n, 3);
        assert_eq!(o, h + 5 * MS);
        assert_eq!(consensus(&[]), None);
        // A tie goes to the smaller offset.
        assert_eq!(consensus(&[-300 * MS, 0]).unwrap().0, 0);
    }
}
