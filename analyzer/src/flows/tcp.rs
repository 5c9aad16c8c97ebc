//! TCP sequence analysis, the way Wireshark 4.0's `tcp_analyze_sequence_number`
//! decides its `tcp.analysis.*` flags (so that counts match tshark on
//! single-appearance captures), plus what Wireshark does not tell: the
//! original of each retransmission, RTT estimates and why a segment was sent
//! again (duplicate ACKs, a timeout, a tail loss probe).
//!
//! Sequence and acknowledgement numbers are the raw ones, as Wireshark
//! analyses them; "0 means unknown" is Wireshark's own convention and is kept
//! on purpose.

use std::collections::VecDeque;

use super::parse::{tcp_flags::*, TcpView};
use super::RetransmitTrigger;
use crate::model::FileTime;

// tcp_acked.flags bits (packet-tcp.c).
pub const A_RETRANSMISSION: u32 = 0x0001;
pub const A_LOST_PACKET: u32 = 0x0002;
pub const A_ACK_LOST_PACKET: u32 = 0x0004;
pub const A_KEEP_ALIVE: u32 = 0x0008;
pub const A_DUPLICATE_ACK: u32 = 0x0010;
pub const A_ZERO_WINDOW: u32 = 0x0020;
pub const A_ZERO_WINDOW_PROBE: u32 = 0x0040;
pub const A_ZERO_WINDOW_PROBE_ACK: u32 = 0x0080;
pub const A_KEEP_ALIVE_ACK: u32 = 0x0100;
pub const A_OUT_OF_ORDER: u32 = 0x0200;
pub const A_FAST_RETRANSMISSION: u32 = 0x0400;
pub const A_WINDOW_UPDATE: u32 = 0x0800;
pub const A_WINDOW_FULL: u32 = 0x1000;
pub const A_REUSED_PORTS: u32 = 0x2000;
pub const A_SPURIOUS_RETRANSMISSION: u32 = 0x4000;

/// What tshark's `tcp.analysis.retransmission` matches: its expert item is
/// added for plain, fast and spurious retransmissions alike.
pub const A_ANY_RETRANSMISSION: u32 = A_RETRANSMISSION | A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION;

/// Acknowledged ranges remembered per direction.
const RECENT_ACKED: usize = 16;

/// Wireshark's TCP_MAX_UNACKED_SEGMENTS.
const MAX_UNACKED_SEGMENTS: u32 = 10_000;

const MS: FileTime = 10_000;
/// Fast retransmission: the last duplicate ACK at most this long before.
const FAST_RETRANSMIT_WINDOW: FileTime = 20 * MS;
/// Out-of-order threshold without an initial RTT.
const OOO_DEFAULT: FileTime = 3 * MS;
/// The smallest retransmission timeout of common stacks (Linux 200 ms, Windows 300 ms).
pub const MIN_RTO: FileTime = 200 * MS;

fn gt(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}
fn ge(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) <= 0
}

/// A range of sequence space sent and not yet acknowledged.
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    pub seq: u32,
    /// seq + length (+1 for SYN/FIN).
    pub end: u32,
    /// Packet of its first transmission seen, and that packet's appearance.
    pub packet: usize,
    pub appearance: u64,
    pub first_tx: FileTime,
    pub last_tx: FileTime,
    /// Transmissions seen (Wireshark keeps one list entry per transmission).
    pub copies: u32,
}

/// One direction of a connection (Wireshark's tcp_flow_t and its analysis info).
#[derive(Debug, Clone)]
pub struct Dir {
    pub base_seq: Option<u32>,
    pub nextseq: u32,
    pub nextseqtime: FileTime,
    pub nextseq_packet: usize,
    pub maxseqtobeacked: u32,
    pub lastack: u32,
    pub lastacktime: FileTime,
    pub lastnondupack: usize,
    pub dupacknum: i32,
    /// Raw window of the last segment (u32::MAX before any).
    pub window: u32,
    /// -1 unknown, -2 no scaling, else the shift.
    pub win_scale: i8,
    pub is_first_ack: bool,
    pub lastsegmentflags: u32,
    /// Wireshark's segment_count (approximated by the transmissions of the live ranges).
    ws_count: u32,
    // --- beyond Wireshark ---
    pub segs: VecDeque<Seg>,
    /// The last ranges acknowledged (to name the original of a spurious retransmission).
    recent_acked: VecDeque<Seg>,
    /// Packets of this side so far.
    pub packets: u64,
    /// SYNs (without ACK) sent: (count, first packets).
    pub syns: u32,
    pub syn_packets: Vec<usize>,
    /// Appearance and time of the first SYN.
    pub first_syn: (u64, FileTime),
    /// Highest data end (seq + len) sent, if any data was sent.
    pub data_end: Option<u32>,
    /// Highest ACK the other side sent for this side's data.
    pub acked: Option<u32>,
    /// When `acked` last advanced.
    pub last_progress: FileTime,
    /// When this side last sent data (new or again).
    pub last_data_tx: FileTime,
    /// Smoothed RTT of this side's data (100 ns), 0 = none.
    pub srtt: FileTime,
    /// A recovery episode: its trigger and the sequence it ends at.
    pub recovery: Option<(RetransmitTrigger, u32)>,
    pub max_segment: u32,
    pub retransmissions: u64,
    pub fin: bool,
    pub rst: bool,
}

impl Default for Dir {
    fn default() -> Self {
        Dir {
            base_seq: None,
            nextseq: 0,
            nextseqtime: 0,
            nextseq_packet: 0,
            maxseqtobeacked: 0,
            lastack: 0,
            lastacktime: 0,
            lastnondupack: 0,
            dupacknum: 0,
            window: u32::MAX,
            win_scale: -1,
            is_first_ack: false,
            lastsegmentflags: 0,
            ws_count: 0,
            segs: VecDeque::new(),
            recent_acked: VecDeque::new(),
            packets: 0,
            syns: 0,
            syn_packets: Vec::new(),
            first_syn: (0, 0),
            data_end: None,
            acked: None,
            last_progress: 0,
            last_data_tx: 0,
            srtt: 0,
            recovery: None,
            max_segment: 0,
            retransmissions: 0,
            fin: false,
            rst: false,
        }
    }
}

impl Dir {
    /// Records a transmission of [seq, end); returns the packet of the first
    /// transmission of what it repeats, if any.
    fn add_segment(&mut self, seq: u32, end: u32, at: (usize, u64), now: FileTime) -> Option<usize> {
        if self.acked.is_some_and(|a| lt(seq, a)) {
            // Repeats data already acknowledged (at least partly): its original may be among the last acked.
            let original = self
                .recent_acked
                .iter()
                .find(|s| lt(seq, s.end) && gt(end, s.seq))
                .map(|s| s.packet);
            let unseen = self.add_unacked(seq, end, at, now);
            return original.or(unseen);
        }
        self.add_unacked(seq, end, at, now)
    }

    fn add_unacked(&mut self, seq: u32, end: u32, at: (usize, u64), now: FileTime) -> Option<usize> {
        // Only what is not acknowledged yet is tracked.
        let seq = match self.acked {
            Some(a) if lt(seq, a) => {
                if !gt(end, a) {
                    return None;
                }
                a
            }
            _ => seq,
        };
        let add = self.ws_count < MAX_UNACKED_SEGMENTS;
        let back_end = self.segs.back().map(|b| b.end);
        match back_end {
            None => {
                if add && self.acked.is_none_or(|a| gt(end, a)) {
                    let from = match self.acked {
                        Some(a) if lt(seq, a) => a,
                        _ => seq,
                    };
                    self.push(from, end, at, now, 0);
                }
                None
            }
            Some(be) if ge(seq, be) => {
                if add {
                    self.push(seq, end, at, now, self.segs.len());
                }
                None
            }
            Some(be) => {
                // Overlaps or precedes the newest range: a repeat, or a hole being filled.
                let i = self.segs.partition_point(|s| le(s.end, seq));
                let mut original = None;
                let mut j = i;
                let mut covered = seq;
                while let Some(s) = self.segs.get_mut(j) {
                    if ge(s.seq, end) {
                        break;
                    }
                    if lt(covered, s.seq) && add {
                        // A gap before this range: data never seen before.
                        let gap_end = s.seq;
                        self.push(covered, gap_end, at, now, j);
                        covered = gap_end;
                        j += 1;
                        continue;
                    }
                    let s = &mut self.segs[j];
                    original.get_or_insert(s.packet);
                    s.copies += 1;
                    s.last_tx = now;
                    covered = s.end;
                    j += 1;
                }
                if add && original.is_some() {
                    self.ws_count += 1;
                }
                if lt(covered, end) && add && self.acked.is_none_or(|a| gt(end, a)) {
                    let from = if lt(covered, seq) { seq } else { covered };
                    let from = match self.acked {
                        Some(a) if lt(from, a) => a,
                        _ => from,
                    };
                    let pos = if ge(from, be) { self.segs.len() } else { j };
                    self.push(from, end, at, now, pos);
                }
                original
            }
        }
    }

    fn push(&mut self, seq: u32, end: u32, (packet, appearance): (usize, u64), now: FileTime, at: usize) {
        let s = Seg {
            seq,
            end,
            packet,
            appearance,
            first_tx: now,
            last_tx: now,
            copies: 1,
        };
        if at == self.segs.len() {
            self.segs.push_back(s);
        } else {
            self.segs.insert(at, s);
        }
        self.ws_count += 1;
    }

    /// Removes what `ack` acknowledges; returns an RTT sample (Karn: ranges sent once).
    fn ack(&mut self, ack: u32, now: FileTime) -> Option<FileTime> {
        let mut sample = None;
        while let Some(front) = self.segs.front_mut() {
            if le(front.end, ack) {
                if front.end == ack && front.copies == 1 {
                    sample = Some(now - front.first_tx);
                }
                self.ws_count = self.ws_count.saturating_sub(front.copies);
                let done = self.segs.pop_front().expect("front");
                if self.recent_acked.len() == RECENT_ACKED {
                    self.recent_acked.pop_front();
                }
                self.recent_acked.push_back(done);
            } else {
                if gt(ack, front.seq) {
                    front.seq = ack;
                }
                break;
            }
        }
        if self.acked.is_none_or(|a| gt(ack, a)) {
            self.acked = Some(ack);
            self.last_progress = now;
            if let Some((_, point)) = self.recovery {
                if ge(ack, point) {
                    self.recovery = None;
                }
            }
        }
        sample
    }

    /// Smoothed RTT, else the handshake's.
    fn rtt(&self, first_rtt: FileTime) -> FileTime {
        if self.srtt > 0 {
            self.srtt
        } else {
            first_rtt
        }
    }

    /// Unacknowledged data bytes at the end (sent beyond the highest ACK).
    pub fn unacked_bytes(&self) -> u64 {
        match (self.data_end, self.acked) {
            (Some(end), Some(acked)) if gt(end, acked) => end.wrapping_sub(acked) as u64,
            (Some(_), None) => self.segs.iter().map(|s| s.end.wrapping_sub(s.seq) as u64).sum(),
            _ => 0,
        }
    }
}

/// What the analysis found in one segment.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Wireshark's tcp_acked flags.
    pub flags: u32,
    pub dupack_num: u32,
    /// The ACK this one duplicates.
    pub dupack_of: usize,
    /// Why it was sent again (set for plain, fast and spurious retransmissions).
    pub trigger: Option<RetransmitTrigger>,
    /// First transmission of what it repeats.
    pub original: Option<usize>,
    /// The segment before a hole.
    pub related_hole: Option<usize>,
    /// The other side's packet whose window this segment filled.
    pub related_window: Option<usize>,
    /// The other side's last segment seen, for an ACK of unseen data.
    pub related_ack_lost: Option<usize>,
}

/// One TCP connection: both directions (0 = client, 1 = server).
#[derive(Debug, Clone, Default)]
pub struct Conn {
    pub d: [Dir; 2],
    ts_mru_syn: FileTime,
    /// Initial RTT: most recent SYN to the first ACK (Wireshark's ts_first_rtt); 0 = unknown.
    pub first_rtt: FileTime,
    /// Packet of the side's last window advertisement (for window full).
    last_packet: [usize; 2],
}

impl Conn {
    /// Analyses one segment sent by side `s`.
    pub fn segment(
        &mut self,
        s: usize,
        t: &TcpView<'_>,
        (packet, appearance): (usize, u64),
        now: FileTime,
        preset: u32,
    ) -> Outcome {
        let seq = t.seq;
        let ack = t.ack;
        let seglen = t.segment_len;
        let flags = t.flags;
        let window = t.window as u32;
        let first_rtt = self.first_rtt;
        let [a, b] = &mut self.d;
        let (fwd, rev) = if s == 0 { (a, b) } else { (b, a) };
        let mut o = Outcome {
            flags: preset,
            ..Default::default()
        };
        let sfr = flags & (SYN | FIN | RST) != 0;

        if flags & SYN != 0 && flags & ACK == 0 && fwd.base_seq == Some(seq) {
            // A SYN sent again: restore nextseq (issue 17616), as Wireshark does before analysing.
            fwd.nextseq = fwd.maxseqtobeacked;
        }
        if fwd.base_seq.is_none() {
            fwd.base_seq = Some(if flags & SYN != 0 { seq } else { seq.wrapping_sub(1) });
        }
        if rev.base_seq.is_none() && flags & ACK != 0 {
            rev.base_seq = Some(ack.wrapping_sub(1));
        }

        'fwd: {
            // Zero window probe.
            if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
                o.flags |= A_ZERO_WINDOW_PROBE;
                break 'fwd;
            }
            if window == 0 && !sfr {
                o.flags |= A_ZERO_WINDOW;
            }
            if fwd.nextseq != 0 && gt(seq, fwd.nextseq) && flags & RST == 0 {
                o.flags |= A_LOST_PACKET;
                o.related_hole = Some(fwd.nextseq_packet);
            }
            if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && !sfr {
                o.flags |= A_KEEP_ALIVE;
            }
            if seglen == 0 && window != 0 && window != fwd.window && seq == fwd.nextseq && ack == fwd.lastack && !sfr {
                o.flags |= A_WINDOW_UPDATE;
            }
            if seglen > 0 && rev.win_scale != -1 && !sfr {
                let shift = if rev.is_first_ack || rev.win_scale == -2 {
                    0
                } else {
                    rev.win_scale as u32
                };
                if seq.wrapping_add(seglen) == rev.lastack.wrapping_add(rev.window << shift) {
                    o.flags |= A_WINDOW_FULL;
                    o.related_window = Some(self.last_packet[1 - s]);
                }
            }
            let repeats = seglen == 0 && seq == fwd.nextseq && ack == fwd.lastack && !sfr;
            if repeats && window != 0 && window == fwd.window && rev.lastsegmentflags & A_KEEP_ALIVE != 0 {
                o.flags |= A_KEEP_ALIVE_ACK;
                break 'fwd;
            }
            if repeats && window == 0 && window == fwd.window && rev.lastsegmentflags & A_ZERO_WINDOW_PROBE != 0 {
                o.flags |= A_ZERO_WINDOW_PROBE_ACK;
                break 'fwd;
            }
            if repeats && window != 0 && window == fwd.window {
                fwd.dupacknum = if fwd.dupacknum == -1 { 1 } else { fwd.dupacknum + 1 };
                o.flags |= A_DUPLICATE_ACK;
                o.dupack_num = fwd.dupacknum.max(0) as u32;
                o.dupack_of = fwd.lastnondupack;
            }
        }
        if ack != fwd.lastack {
            fwd.lastnondupack = packet;
            fwd.dupacknum = 0;
        }

        // ACKed lost segment.
        if rev.maxseqtobeacked != 0 && gt(ack, rev.maxseqtobeacked) && flags & ACK != 0 {
            if lt(rev.maxseqtobeacked, rev.nextseq) {
                rev.maxseqtobeacked = rev.nextseq;
                o.flags |= A_ACK_LOST_PACKET;
            } else {
                if rev.dupacknum == 0 {
                    o.flags |= A_ACK_LOST_PACKET;
                }
                rev.dupacknum = -1;
            }
        }

        // Retransmission, fast retransmission, out-of-order, spurious.
        let carries = seglen > 0 || flags & (SYN | FIN) != 0;
        let mut not_advanced_real = false;
        if carries && o.flags & A_KEEP_ALIVE == 0 {
            let mut seq_not_advanced = fwd.nextseq != 0 && lt(seq, fwd.nextseq);
            not_advanced_real = seq_not_advanced;
            if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
                seq_not_advanced = false;
            }
            let since = |t: FileTime| if now >= t { Some(now - t) } else { None };
            if seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack) {
                o.flags |= A_SPURIOUS_RETRANSMISSION;
            } else if seq_not_advanced
                && rev.dupacknum >= 2
                && rev.lastack == seq
                && since(rev.lastacktime).is_some_and(|d| d < FAST_RETRANSMIT_WINDOW)
            {
                o.flags |= A_FAST_RETRANSMISSION;
            } else if seq_not_advanced
                && since(fwd.nextseqtime).is_some_and(|d| d < if first_rtt == 0 { OOO_DEFAULT } else { first_rtt })
                && fwd.nextseq
                    != seq
                        .wrapping_add(seglen)
                        .wrapping_add(u32::from(flags & (SYN | FIN) != 0))
            {
                o.flags |= A_OUT_OF_ORDER;
            } else if seq_not_advanced {
                o.flags |= A_RETRANSMISSION;
            }
        }

        // Beyond Wireshark: the original, and why it was sent again.
        let end = seq
            .wrapping_add(seglen)
            .wrapping_add(u32::from(flags & (SYN | FIN) != 0));
        let could_add = fwd.ws_count < MAX_UNACKED_SEGMENTS;
        if carries {
            let last_tx_before = fwd.last_data_tx;
            let seg_tx = match fwd.segs.back() {
                Some(b) if lt(seq, b.end) => {
                    let i = fwd.segs.partition_point(|x| le(x.end, seq));
                    fwd.segs.get(i).filter(|x| le(x.seq, seq)).map(|x| x.last_tx)
                }
                _ => None,
            };
            o.original = fwd.add_segment(seq, end, (packet, appearance), now);
            if o.flags & A_ANY_RETRANSMISSION != 0 {
                fwd.retransmissions += 1;
                o.trigger = Some(classify(
                    fwd,
                    rev,
                    &o,
                    Classify {
                        seq,
                        end,
                        now,
                        first_rtt,
                        seg_tx,
                        last_tx_before,
                        not_advanced: not_advanced_real,
                    },
                ));
            }
            if seglen > 0 {
                fwd.last_data_tx = now;
                let data_end = seq.wrapping_add(seglen);
                if fwd.data_end.is_none_or(|e| gt(data_end, e)) {
                    fwd.data_end = Some(data_end);
                }
                fwd.max_segment = fwd.max_segment.max(seglen);
            }
        }
        if o.flags & A_ACK_LOST_PACKET != 0 {
            o.related_ack_lost = Some(rev.nextseq_packet);
        }

        // Wireshark's nextseq bookkeeping.
        let mut nextseq = seq.wrapping_add(seglen);
        if carries && could_add && flags & (SYN | FIN) != 0 {
            nextseq = nextseq.wrapping_add(1);
        }
        if (gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && o.flags & A_ZERO_WINDOW_PROBE == 0 {
            fwd.nextseq = nextseq;
            fwd.nextseq_packet = packet;
            fwd.nextseqtime = now;
        }
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && o.flags & A_ZERO_WINDOW_PROBE == 0 {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
        fwd.window = window;
        fwd.lastack = ack;
        fwd.lastacktime = now;
        fwd.lastsegmentflags = o.flags;

        if flags & ACK != 0 {
            if let Some(sample) = rev.ack(ack, now) {
                rev.srtt = if rev.srtt == 0 {
                    sample
                } else {
                    rev.srtt + (sample - rev.srtt) / 8
                };
            }
        }

        // After the analysis, as dissect_tcp does.
        if flags & SYN != 0 {
            if flags & ACK == 0 {
                self.ts_mru_syn = now;
                fwd.syns += 1;
                if fwd.syns == 1 {
                    fwd.first_syn = (appearance, now);
                }
                if fwd.syn_packets.len() < 16 {
                    fwd.syn_packets.push(packet);
                }
            }
            fwd.is_first_ack = true;
            if let Some(ws) = t.window_scale() {
                fwd.win_scale = ws as i8;
            }
            // verify_tcp_window_scaling
            if fwd.win_scale == -1 {
                fwd.win_scale = -2;
                rev.win_scale = -2;
            } else if flags & ACK != 0 && rev.win_scale == -2 {
                fwd.win_scale = -2;
            }
        }
        if flags & (SYN | ACK) == ACK {
            if self.ts_mru_syn != 0 && self.first_rtt == 0 {
                self.first_rtt = now - self.ts_mru_syn;
            }
            fwd.is_first_ack = false;
        }
        if flags & FIN != 0 {
            fwd.fin = true;
        }
        if flags & RST != 0 {
            fwd.rst = true;
        }
        fwd.packets += 1;
        self.last_packet[s] = packet;
        o
    }

    /// Whether a SYN (without ACK) with this sequence number starts a new
    /// connection on the same ports (Wireshark: a new conversation, "ports reused").
    pub fn is_new_syn(&self, s: usize, t: &TcpView<'_>) -> bool {
        t.flags & (SYN | ACK) == SYN && self.d[s].base_seq.is_some_and(|b| b != t.seq)
    }

    /// SYN/ACK with another ISN than the one seen: Wireshark flags "ports reused" and takes the new base.
    pub fn synack_reuse(&mut self, s: usize, t: &TcpView<'_>) -> bool {
        if t.flags & (SYN | ACK) == (SYN | ACK) && self.d[s].base_seq.is_some_and(|b| b != t.seq) {
            self.d[s].base_seq = Some(t.seq);
            return true;
        }
        false
    }
}

struct Classify {
    seq: u32,
    end: u32,
    now: FileTime,
    first_rtt: FileTime,
    /// Last transmission of the range it repeats, if seen.
    seg_tx: Option<FileTime>,
    /// The side's previous data transmission.
    last_tx_before: FileTime,
    /// Sequence below the highest sent (Wireshark's test, before its zero-window-probe exception).
    not_advanced: bool,
}

/// Why a segment was sent again: duplicate ACKs (Fast), a timeout, a tail
/// loss probe, or a recovery episode one of those started.
fn classify(fwd: &mut Dir, rev: &Dir, o: &Outcome, c: Classify) -> RetransmitTrigger {
    let rtt = fwd.rtt(c.first_rtt);
    let rto = MIN_RTO.max(3 * rtt);
    let recovery_point = fwd.nextseq;
    let fast_window = c.now >= rev.lastacktime && c.now - rev.lastacktime < FAST_RETRANSMIT_WINDOW;
    if o.flags & A_FAST_RETRANSMISSION != 0 {
        fwd.recovery = Some((RetransmitTrigger::Fast, recovery_point));
        return RetransmitTrigger::Fast;
    }
    let reference = match c.seg_tx {
        Some(tx) => tx.max(fwd.last_progress),
        None if fwd.last_progress > 0 => fwd.last_progress,
        None => fwd.nextseqtime,
    };
    if c.now - reference >= rto {
        fwd.recovery = Some((RetransmitTrigger::Timeout, recovery_point));
        return RetransmitTrigger::Timeout;
    }
    if let Some((trigger, point)) = fwd.recovery {
        if lt(c.seq, point) {
            return trigger;
        }
    }
    if c.not_advanced && rev.dupacknum >= 2 && fast_window {
        fwd.recovery = Some((RetransmitTrigger::Fast, recovery_point));
        return RetransmitTrigger::Fast;
    }
    let highest = fwd.data_end.is_none_or(|e| ge(c.end, e));
    let idle = c.now - c.last_tx_before;
    if highest && rev.dupacknum <= 0 && rtt > 0 && idle * 2 >= rtt * 3 && idle < rto {
        return RetransmitTrigger::TailLossProbe;
    }
    RetransmitTrigger::Unknown
}
