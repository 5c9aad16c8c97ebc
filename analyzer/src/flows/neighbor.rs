//! ARP requests and IPv6 neighbor solicitations nobody answered.
//!
//! Requests for one target that follow each other within [`BURST_GAP`] form a
//! burst (a resolver tries a few times, about once a second). A request is
//! unanswered when no reply (ARP reply from the target / neighbor
//! advertisement for the target) comes within [`ANSWER_WINDOW`] of it. A burst
//! with unanswered requests is reported once, when it ends: at the reply, when
//! no request followed for [`BURST_GAP`], or at the end of the capture.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{Symptom, SymptomKind};
use crate::model::FileTime;

/// A reply within this long answers a request.
pub const ANSWER_WINDOW: FileTime = 10_000_000; // 1 s
/// Requests closer than this belong to one burst.
pub const BURST_GAP: FileTime = 3 * 10_000_000; // 3 s

#[derive(Debug, Clone)]
struct Request {
    packet: usize,
    appearance: u64,
    time: FileTime,
}

#[derive(Debug, Clone)]
struct Burst {
    nd: bool,
    requests: Vec<Request>,
    last_time: FileTime,
}

/// Open bursts by (VLAN, target).
#[derive(Debug, Default)]
pub struct Neighbors {
    pending: HashMap<(Option<u16>, IpAddr), Burst>,
    next_sweep: FileTime,
}

/// One request or reply.
pub struct Event {
    pub vlan: Option<u16>,
    pub target: IpAddr,
    pub nd: bool,
    pub packet: usize,
    pub appearance: u64,
    pub time: FileTime,
}

impl Neighbors {
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn request(&mut self, e: Event, out: &mut Vec<Symptom>) {
        let key = (e.vlan, e.target);
        if let Some(b) = self.pending.get_mut(&key) {
            if e.time - b.last_time <= BURST_GAP {
                b.last_time = b.last_time.max(e.time);
                b.requests.push(Request {
                    packet: e.packet,
                    appearance: e.appearance,
                    time: e.time,
                });
                return;
            }
            let b = self.pending.remove(&key).expect("present");
            close(e.target, b, None, out);
        }
        self.pending.insert(
            key,
            Burst {
                nd: e.nd,
                requests: vec![Request {
                    packet: e.packet,
                    appearance: e.appearance,
                    time: e.time,
                }],
                last_time: e.time,
            },
        );
    }

    pub fn reply(&mut self, e: Event, out: &mut Vec<Symptom>) {
        if let Some(b) = self.pending.remove(&(e.vlan, e.target)) {
            close(e.target, b, Some(e.time), out);
        }
    }

    /// Ends the bursts nothing can extend or answer any more.
    pub fn sweep(&mut self, now: FileTime, out: &mut Vec<Symptom>) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + ANSWER_WINDOW;
        let done: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, b)| now - b.last_time > BURST_GAP)
            .map(|(k, _)| *k)
            .collect();
        for k in done {
            let b = self.pending.remove(&k).expect("present");
            close(k.1, b, None, out);
        }
    }

    pub fn finish(&mut self, out: &mut Vec<Symptom>) {
        let mut all: Vec<_> = self.pending.drain().collect();
        all.sort_by_key(|(_, b)| b.requests[0].packet);
        for (k, b) in all {
            close(k.1, b, None, out);
        }
    }
}

/// Reports a burst's requests that no reply answered within the window.
fn close(target: IpAddr, b: Burst, reply: Option<FileTime>, out: &mut Vec<Symptom>) {
    let unanswered: Vec<&Request> = b
        .requests
        .iter()
        .filter(|r| reply.is_none_or(|t| t - r.time > ANSWER_WINDOW))
        .collect();
    let Some(first) = unanswered.first() else {
        return;
    };
    let kind = if b.nd {
        SymptomKind::NeighborSolicitationUnanswered { target }
    } else {
        SymptomKind::ArpUnanswered { target }
    };
    out.push(Symptom {
        kind,
        flow: None,
        from: None,
        packet: first.packet,
        appearance: first.appearance,
        time: first.time,
        related_packets: unanswered.iter().map(|r| r.packet).collect(),
        seq: None,
        len: None,
    });
}
