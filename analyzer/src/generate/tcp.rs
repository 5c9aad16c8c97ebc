//! One TCP connection with real sequence numbers: each end's next sequence
//! number and what it has received (in-order point and out-of-order blocks,
//! from which ACKs and SACK blocks are made), window fields as Windows and
//! Linux send them, and the payload bytes of each direction as a stream, so a
//! retransmission carries the very same bytes.

use std::net::IpAddr;

use super::wire::{self, flags, Ip, Mac, Payload, Tcp};
use crate::flows::FlowKey;

/// One end of a connection.
#[derive(Debug, Clone)]
pub struct End {
    pub ip: IpAddr,
    pub port: u16,
    pub isn: u32,
    /// Next sequence number to send (SND.NXT).
    pub next: u32,
    /// Next sequence number expected from the other end (RCV.NXT).
    pub rcv_next: u32,
    /// Received out of order: (start, end) sequence ranges.
    pub ooo: Vec<(u32, u32)>,
    /// Window field after the handshake.
    pub window: u16,
    /// Window field of its SYN or SYN/ACK.
    pub syn_window: u16,
    pub mss: u16,
    pub wscale: u8,
    /// TTL / hop limit of its packets as they reach the capturing host.
    pub ttl: u8,
    /// IPv4 identification of its next packet (remote ends; the host has one counter for all).
    pub ip_id: u16,
    /// Seed of its payload byte stream.
    pub stream: u64,
    /// Its SYN (or SYN/ACK) options: Windows or Linux style.
    pub windows_style: bool,
}

/// A TCP connection between the capturing host and a peer.
#[derive(Debug, Clone)]
pub struct Conn {
    /// The end that sent the SYN.
    pub client: End,
    pub server: End,
    /// Whether the capturing host is the client.
    pub local_is_client: bool,
    /// MACs: the host's, and the next hop's (the gateway or the on-link peer).
    pub local_mac: Mac,
    pub peer_mac: Mac,
    pub flow_label: u32,
    /// CPU that receives its packets (RSS), CPU of the sending application.
    pub rx_cpu: u16,
    pub tx_cpu: u16,
    /// Process and thread of the application that owns it.
    pub pid: u32,
    pub tid: u32,
}

/// One segment as built: its frame and what it carries.
#[derive(Debug, Clone)]
pub struct Segment {
    pub frame: Vec<u8>,
    pub from_client: bool,
    pub seq: u32,
    pub len: u32,
    pub flags: u8,
}

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl End {
    /// Takes a segment that arrived: advances RCV.NXT over everything now contiguous.
    fn receive(&mut self, seq: u32, len: u32) {
        if len == 0 {
            return;
        }
        let end = seq.wrapping_add(len);
        if seq_lt(self.rcv_next, seq) {
            if !self.ooo.contains(&(seq, end)) {
                self.ooo.push((seq, end));
            }
            return;
        }
        if seq_lt(self.rcv_next, end) {
            self.rcv_next = end;
        }
        // Take every out-of-order block that now touches RCV.NXT.
        loop {
            let rcv = self.rcv_next;
            let Some(i) = self.ooo.iter().position(|&(s, _)| !seq_lt(rcv, s)) else {
                break;
            };
            let (_, e) = self.ooo.swap_remove(i);
            if seq_lt(self.rcv_next, e) {
                self.rcv_next = e;
            }
        }
    }
}

impl Conn {
    /// The flow as the analyzer names it (client → server).
    pub fn flow(&self) -> FlowKey {
        FlowKey {
            protocol: 6,
            client: self.client.ip,
            client_port: self.client.port,
            server: self.server.ip,
            server_port: self.server.port,
            vlan: None,
        }
    }

    pub fn is_v6(&self) -> bool {
        self.client.ip.is_ipv6()
    }

    fn ends(&mut self, from_client: bool) -> (&mut End, &mut End) {
        if from_client {
            (&mut self.client, &mut self.server)
        } else {
            (&mut self.server, &mut self.client)
        }
    }

    /// Whether a segment from this end leaves the capturing host (Tx).
    pub fn is_local(&self, from_client: bool) -> bool {
        from_client == self.local_is_client
    }

    /// Builds a segment from one end at an explicit sequence number with
    /// `len` payload bytes (from that end's stream), without changing any state.
    /// `host_ip_id` is the host's IPv4 identification counter, used and
    /// advanced when the segment leaves the host.
    pub fn segment_at(
        &mut self,
        from_client: bool,
        seq: u32,
        len: u32,
        tcp_flags: u8,
        options: &[u8],
        host_ip_id: &mut u16,
    ) -> Segment {
        let mut frame = Vec::with_capacity(wire::ETH_LEN + 60 + len as usize);
        self.segment_into(&mut frame, from_client, seq, len, tcp_flags, options, host_ip_id);
        Segment {
            frame,
            from_client,
            seq,
            len,
            flags: tcp_flags,
        }
    }

    /// [`Conn::segment_at`] into a caller's buffer (reused on the hot path).
    #[allow(clippy::too_many_arguments)]
    pub fn segment_into(
        &mut self,
        frame: &mut Vec<u8>,
        from_client: bool,
        seq: u32,
        len: u32,
        tcp_flags: u8,
        options: &[u8],
        host_ip_id: &mut u16,
    ) {
        let local = self.is_local(from_client);
        let (local_mac, peer_mac, flow_label) = (self.local_mac, self.peer_mac, self.flow_label);
        let (me, other) = self.ends(from_client);
        let syn = tcp_flags & flags::SYN != 0;
        let ack = if tcp_flags & flags::ACK != 0 { me.rcv_next } else { 0 };
        let window = if syn { me.syn_window } else { me.window };
        let id = if local {
            let v = *host_ip_id;
            *host_ip_id = host_ip_id.wrapping_add(1);
            v
        } else {
            let v = me.ip_id;
            me.ip_id = me.ip_id.wrapping_add(1);
            v
        };
        let ip = Ip {
            src: me.ip,
            dst: other.ip,
            ttl: me.ttl,
            id,
            df: true,
            flow_label: if me.ip.is_ipv6() { flow_label } else { 0 },
        };
        let tcp = Tcp {
            src_port: me.port,
            dst_port: other.port,
            seq,
            ack,
            flags: tcp_flags,
            window,
            options,
        };
        // Payload offset in the stream: bytes after the ISN (SYN takes one number).
        let offset = u64::from(seq.wrapping_sub(me.isn).wrapping_sub(1));
        let payload = Payload::Stream {
            stream: me.stream,
            offset,
            len: len as usize,
        };
        let eth = if local {
            (peer_mac, local_mac)
        } else {
            (local_mac, peer_mac)
        };
        wire::tcp_frame(frame, eth, &ip, &tcp, payload);
    }

    /// The next segment from one end: at its SND.NXT, which then advances by
    /// the payload (and SYN/FIN). SYNs get their end's handshake options.
    pub fn next_segment(&mut self, from_client: bool, len: u32, tcp_flags: u8, host_ip_id: &mut u16) -> Segment {
        let (me, _) = self.ends(from_client);
        let seq = me.next;
        let mut options: Vec<u8> = Vec::new();
        if tcp_flags & flags::SYN != 0 {
            options.extend_from_slice(&if me.windows_style {
                wire::syn_options_windows(me.mss, me.wscale)
            } else {
                wire::synack_options_linux(me.mss, me.wscale)
            });
        }
        let seg = self.segment_at(from_client, seq, len, tcp_flags, &options, host_ip_id);
        let (me, _) = self.ends(from_client);
        let mut advance = len;
        if tcp_flags & (flags::SYN | flags::FIN) != 0 {
            advance += 1;
        }
        me.next = me.next.wrapping_add(advance);
        seg
    }

    /// [`Conn::next_segment`] into a caller's buffer; returns (seq, len, flags) for [`Conn::arrive_seq`].
    pub fn next_segment_into(
        &mut self,
        frame: &mut Vec<u8>,
        from_client: bool,
        len: u32,
        tcp_flags: u8,
        host_ip_id: &mut u16,
    ) -> u32 {
        let (me, _) = self.ends(from_client);
        let seq = me.next;
        let mut options = [0u8; 12];
        let n = if tcp_flags & flags::SYN != 0 {
            options = if me.windows_style {
                wire::syn_options_windows(me.mss, me.wscale)
            } else {
                wire::synack_options_linux(me.mss, me.wscale)
            };
            12
        } else {
            0
        };
        self.segment_into(frame, from_client, seq, len, tcp_flags, &options[..n], host_ip_id);
        let (me, _) = self.ends(from_client);
        let mut advance = len;
        if tcp_flags & (flags::SYN | flags::FIN) != 0 {
            advance += 1;
        }
        me.next = me.next.wrapping_add(advance);
        seq
    }

    /// A pure ACK carrying the receiver's SACK blocks (a duplicate ACK while data is missing).
    pub fn ack_with_sack(&mut self, from_client: bool, host_ip_id: &mut u16) -> Segment {
        let (me, _) = self.ends(from_client);
        let seq = me.next;
        let block = me.ooo.iter().copied().max_by_key(|&(_, e)| e);
        let options: Vec<u8> = match block {
            Some((l, r)) => wire::sack_option(l, r).to_vec(),
            None => Vec::new(),
        };
        self.segment_at(from_client, seq, 0, flags::ACK, &options, host_ip_id)
    }

    /// A segment reached the other end: it updates what that end has received.
    pub fn arrive(&mut self, seg: &Segment) {
        self.arrive_seq(seg.from_client, seg.seq, seg.len, seg.flags);
    }

    /// [`Conn::arrive`] from a segment's numbers.
    pub fn arrive_seq(&mut self, from_client: bool, seq: u32, len: u32, tcp_flags: u8) {
        let mut len = len;
        if tcp_flags & (flags::SYN | flags::FIN) != 0 {
            len += 1;
        }
        let (_, other) = self.ends(from_client);
        if tcp_flags & flags::SYN != 0 {
            other.rcv_next = seq;
        }
        other.receive(seq, len);
    }

    /// Everything the client has sent was received (for the start of a connection).
    pub fn established(&self) -> bool {
        self.server.rcv_next == self.client.next && self.client.rcv_next == self.server.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(ip: &str, port: u16, isn: u32) -> End {
        End {
            ip: ip.parse().unwrap(),
            port,
            isn,
            next: isn,
            rcv_next: 0,
            ooo: Vec::new(),
            window: 1026,
            syn_window: 64240,
            mss: 1460,
            wscale: 8,
            ttl: 128,
            ip_id: 1,
            stream: 5,
            windows_style: true,
        }
    }

    #[test]
    fn out_of_order_data_is_taken_when_the_hole_fills() {
        let mut c = Conn {
            client: end("10.0.0.1", 50000, 1000),
            server: end("10.0.0.2", 8443, 9000),
            local_is_client: true,
            local_mac: [1; 6],
            peer_mac: [2; 6],
            flow_label: 0,
            rx_cpu: 0,
            tx_cpu: 1,
            pid: 4,
            tid: 8,
        };
        let mut id = 0;
        let syn = c.next_segment(true, 0, flags::SYN, &mut id);
        c.arrive(&syn);
        let sa = c.next_segment(false, 0, flags::SYN | flags::ACK, &mut id);
        c.arrive(&sa);
        assert_eq!(c.server.rcv_next, 1001);
        assert_eq!(c.client.rcv_next, 9001);
        let a = c.next_segment(true, 100, flags::ACK, &mut id);
        let b = c.next_segment(true, 100, flags::ACK, &mut id);
        let d = c.next_segment(true, 100, flags::ACK, &mut id);
        c.arrive(&a);
        c.arrive(&d);
        assert_eq!(c.server.rcv_next, 1101);
        assert_eq!(c.server.ooo, vec![(1201, 1301)]);
        c.arrive(&b);
        assert_eq!(c.server.rcv_next, 1301);
        assert!(c.server.ooo.is_empty());
        assert!(c.established());
    }
}
