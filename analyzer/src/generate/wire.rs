//! Frames as they are on the wire: Ethernet II, IPv4/IPv6, TCP, UDP,
//! ICMP/ICMPv6, ARP and neighbor solicitation, with every length and
//! checksum right (unless a test plants a wrong one on purpose).
//!
//! Every builder writes a whole Ethernet frame into a caller's vector (cleared
//! first), so the hot path reuses one allocation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;
pub const ETH_LEN: usize = 14;

pub type Mac = [u8; 6];
pub const BROADCAST: Mac = [0xFF; 6];

/// TCP flag bits.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// The one's-complement sum of big-endian 16-bit words (an odd last byte is
/// padded with zero), not yet folded. Summing 8 bytes at a time keeps
/// checksumming 1460-byte segments cheap.
pub fn sum_words(mut acc: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // Add the two 32-bit halves: no word is lost to overflow.
        acc += (w >> 32) + (w & 0xFFFF_FFFF);
    }
    let rest = chunks.remainder();
    let mut i = 0;
    while i + 1 < rest.len() {
        acc += u64::from(u16::from_be_bytes([rest[i], rest[i + 1]]));
        i += 2;
    }
    if i < rest.len() {
        acc += u64::from(rest[i]) << 8;
    }
    acc
}

/// Folds a sum into the 16-bit one's-complement checksum field value.
pub fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    !(acc as u16)
}

/// The pseudo-header sum of TCP/UDP/ICMPv6 for IPv4 or IPv6.
fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u64 {
    let mut acc = 0;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            acc = sum_words(acc, &s.octets());
            acc = sum_words(acc, &d.octets());
        }
        (s, d) => {
            acc = sum_words(acc, &v6(s).octets());
            acc = sum_words(acc, &v6(d).octets());
        }
    }
    acc + u64::from(proto) + len as u64
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

/// The IP header fields a packet is sent with.
#[derive(Debug, Clone, Copy)]
pub struct Ip {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// IPv4 identification.
    pub id: u16,
    /// IPv4 don't-fragment.
    pub df: bool,
    /// IPv6 flow label (20 bits).
    pub flow_label: u32,
}

impl Ip {
    pub fn is_v6(&self) -> bool {
        self.src.is_ipv6()
    }
    pub fn header_len(&self) -> usize {
        if self.is_v6() {
            40
        } else {
            20
        }
    }
}

/// How the payload bytes of a segment are made: `len` bytes of the
/// pseudo-random stream `stream` from byte `offset` on (so a retransmission,
/// whatever its segmentation, carries exactly the same bytes), or given bytes.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    Stream { stream: u64, offset: u64, len: usize },
    Bytes(&'a [u8]),
}

impl Payload<'_> {
    pub fn len(&self) -> usize {
        match self {
            Payload::Stream { len, .. } => *len,
            Payload::Bytes(b) => b.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Payload::Bytes(b) => out.extend_from_slice(b),
            Payload::Stream { stream, offset, len } => {
                let start = out.len();
                out.resize(start + len, 0);
                fill_stream(&mut out[start..], stream, offset);
            }
        }
    }
}

/// Bytes `offset..offset + out.len()` of stream `stream`: byte k is byte
/// k % 8 of `mix(stream + k / 8)`, so any slice can be made directly.
pub fn fill_stream(out: &mut [u8], stream: u64, offset: u64) {
    let mut k = offset;
    let mut i = 0;
    while i < out.len() {
        let word = super::rng::mix(stream.wrapping_add(k / 8)).to_be_bytes();
        let from = (k % 8) as usize;
        let n = (8 - from).min(out.len() - i);
        out[i..i + n].copy_from_slice(&word[from..from + n]);
        i += n;
        k += n as u64;
    }
}

/// Appends the Ethernet header.
pub fn put_eth(out: &mut Vec<u8>, dst: Mac, src: Mac, ethertype: u16) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    out.extend_from_slice(&ethertype.to_be_bytes());
}

/// Appends an IP header for `payload_len` transport bytes (IPv4 checksum computed).
fn put_ip(out: &mut Vec<u8>, ip: &Ip, proto: u8, payload_len: usize) {
    match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let start = out.len();
            out.push(0x45);
            out.push(0);
            out.extend_from_slice(&((20 + payload_len) as u16).to_be_bytes());
            out.extend_from_slice(&ip.id.to_be_bytes());
            out.extend_from_slice(&(if ip.df { 0x4000u16 } else { 0 }).to_be_bytes());
            out.push(ip.ttl);
            out.push(proto);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = fold(sum_words(0, &out[start..start + 20]));
            out[start + 10..start + 12].copy_from_slice(&c.to_be_bytes());
        }
        (s, d) => {
            let vtf = (6u32 << 28) | (ip.flow_label & 0xF_FFFF);
            out.extend_from_slice(&vtf.to_be_bytes());
            out.extend_from_slice(&(payload_len as u16).to_be_bytes());
            out.push(proto);
            out.push(ip.ttl);
            out.extend_from_slice(&v6(s).octets());
            out.extend_from_slice(&v6(d).octets());
        }
    }
}

/// The fields of a TCP header.
#[derive(Debug, Clone, Copy)]
pub struct Tcp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// Already padded to a multiple of 4 bytes.
    pub options: &'a [u8],
}

/// A whole Ethernet/IP/TCP frame into `out` (cleared first).
pub fn tcp_frame(out: &mut Vec<u8>, eth: (Mac, Mac), ip: &Ip, tcp: &Tcp<'_>, payload: Payload<'_>) {
    out.clear();
    let ethertype = if ip.is_v6() { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 };
    put_eth(out, eth.0, eth.1, ethertype);
    debug_assert!(tcp.options.len().is_multiple_of(4) && tcp.options.len() <= 40);
    let tcp_len = 20 + tcp.options.len() + payload.len();
    put_ip(out, ip, PROTO_TCP, tcp_len);
    let t = out.len();
    out.extend_from_slice(&tcp.src_port.to_be_bytes());
    out.extend_from_slice(&tcp.dst_port.to_be_bytes());
    out.extend_from_slice(&tcp.seq.to_be_bytes());
    out.extend_from_slice(&tcp.ack.to_be_bytes());
    out.push((((20 + tcp.options.len()) / 4) as u8) << 4);
    out.push(tcp.flags);
    out.extend_from_slice(&tcp.window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    out.extend_from_slice(tcp.options);
    payload.write(out);
    let sum = sum_words(pseudo_sum(ip.src, ip.dst, PROTO_TCP, tcp_len), &out[t..]);
    out[t + 16..t + 18].copy_from_slice(&fold(sum).to_be_bytes());
}

/// A whole Ethernet/IP/UDP frame into `out`.
pub fn udp_frame(out: &mut Vec<u8>, eth: (Mac, Mac), ip: &Ip, ports: (u16, u16), payload: &[u8]) {
    out.clear();
    let ethertype = if ip.is_v6() { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 };
    put_eth(out, eth.0, eth.1, ethertype);
    let len = 8 + payload.len();
    put_ip(out, ip, PROTO_UDP, len);
    let u = out.len();
    out.extend_from_slice(&ports.0.to_be_bytes());
    out.extend_from_slice(&ports.1.to_be_bytes());
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    let mut c = fold(sum_words(pseudo_sum(ip.src, ip.dst, PROTO_UDP, len), &out[u..]));
    if c == 0 {
        c = 0xFFFF;
    }
    out[u + 6..u + 8].copy_from_slice(&c.to_be_bytes());
}

/// An ICMP (IPv4) or ICMPv6 message: type, code, the 4 bytes after the
/// checksum (`rest`: unused, next-hop MTU, or ND flags), then `body`.
pub fn icmp_frame(out: &mut Vec<u8>, eth: (Mac, Mac), ip: &Ip, icmp_type: u8, code: u8, rest: [u8; 4], body: &[u8]) {
    out.clear();
    let v6 = ip.is_v6();
    put_eth(out, eth.0, eth.1, if v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 });
    let len = 8 + body.len();
    let proto = if v6 { PROTO_ICMPV6 } else { PROTO_ICMP };
    put_ip(out, ip, proto, len);
    let i = out.len();
    out.push(icmp_type);
    out.push(code);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&rest);
    out.extend_from_slice(body);
    let base = if v6 {
        pseudo_sum(ip.src, ip.dst, PROTO_ICMPV6, len)
    } else {
        0
    };
    let c = fold(sum_words(base, &out[i..]));
    out[i + 2..i + 4].copy_from_slice(&c.to_be_bytes());
}

/// An ARP request (who-has `target` tell `sender`), broadcast, 42 bytes as sent by the host.
pub fn arp_request(out: &mut Vec<u8>, sender_mac: Mac, sender: Ipv4Addr, target: Ipv4Addr) {
    out.clear();
    put_eth(out, BROADCAST, sender_mac, ETHERTYPE_ARP);
    out.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    out.extend_from_slice(&sender_mac);
    out.extend_from_slice(&sender.octets());
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&target.octets());
}

/// The solicited-node multicast address of `a` (ff02::1:ffXX:XXXX).
pub fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(
        0xFF02,
        0,
        0,
        0,
        0,
        1,
        0xFF00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

/// The Ethernet multicast address of an IPv6 multicast address (33:33:…).
pub fn multicast_mac(a: Ipv6Addr) -> Mac {
    let o = a.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// An IPv6 neighbor solicitation for `target` from `src`, with the source
/// link-layer address option, to the target's solicited-node address.
pub fn neighbor_solicitation(out: &mut Vec<u8>, src_mac: Mac, src: Ipv6Addr, target: Ipv6Addr) {
    let dst = solicited_node(target);
    let mut body = Vec::with_capacity(24);
    body.extend_from_slice(&target.octets());
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(&src_mac);
    let ip = Ip {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl: 255,
        id: 0,
        df: false,
        flow_label: 0,
    };
    icmp_frame(out, (multicast_mac(dst), src_mac), &ip, 135, 0, [0; 4], &body);
}

/// What an ICMP error quotes of `frame` (an Ethernet frame): its IP packet,
/// cut to `limit` bytes.
pub fn quote(frame: &[u8], limit: usize) -> &[u8] {
    let ip = &frame[ETH_LEN..];
    &ip[..ip.len().min(limit)]
}

/// TCP options of a Windows SYN: MSS, NOP, window scale, NOP, NOP, SACK permitted.
pub fn syn_options_windows(mss: u16, wscale: u8) -> [u8; 12] {
    let m = mss.to_be_bytes();
    [2, 4, m[0], m[1], 1, 3, 3, wscale, 1, 1, 4, 2]
}

/// TCP options of a Linux SYN/ACK without timestamps: MSS, SACK permitted, NOP, window scale.
pub fn synack_options_linux(mss: u16, wscale: u8) -> [u8; 12] {
    let m = mss.to_be_bytes();
    [2, 4, m[0], m[1], 4, 2, 1, 3, 3, wscale, 0, 0]
}

/// NOP, NOP, one SACK block.
pub fn sack_option(left: u32, right: u32) -> [u8; 12] {
    let l = left.to_be_bytes();
    let r = right.to_be_bytes();
    [1, 1, 5, 10, l[0], l[1], l[2], l[3], r[0], r[1], r[2], r[3]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{LaxSlicedPacket, NetSlice, SlicedPacket, TransportSlice};

    fn ip4() -> Ip {
        Ip {
            src: "192.168.1.10".parse().unwrap(),
            dst: "203.0.113.5".parse().unwrap(),
            ttl: 128,
            id: 7,
            df: true,
            flow_label: 0,
        }
    }

    #[test]
    fn tcp_checksums_verify() {
        for ip in [
            ip4(),
            Ip {
                src: "2001:db8:1::10".parse().unwrap(),
                dst: "2001:db8:2::5".parse().unwrap(),
                ttl: 128,
                id: 0,
                df: false,
                flow_label: 0x12345,
            },
        ] {
            let mut f = Vec::new();
            let opts = syn_options_windows(1460, 8);
            for len in [0usize, 1, 7, 8, 1460] {
                let tcp = Tcp {
                    src_port: 50000,
                    dst_port: 8443,
                    seq: 1,
                    ack: 2,
                    flags: flags::ACK | flags::PSH,
                    window: 1026,
                    options: &opts,
                };
                tcp_frame(
                    &mut f,
                    ([1; 6], [2; 6]),
                    &ip,
                    &tcp,
                    Payload::Stream {
                        stream: 9,
                        offset: 3,
                        len,
                    },
                );
                let p = SlicedPacket::from_ethernet(&f).unwrap();
                let Some(TransportSlice::Tcp(t)) = p.transport else {
                    panic!()
                };
                let sum = match p.net {
                    Some(NetSlice::Ipv4(v4)) => {
                        let h = v4.header().to_header();
                        assert_eq!(h.header_checksum, h.calc_header_checksum());
                        t.to_header().calc_checksum_ipv4(&h, t.payload()).unwrap()
                    }
                    Some(NetSlice::Ipv6(v6)) => t
                        .to_header()
                        .calc_checksum_ipv6(&v6.header().to_header(), t.payload())
                        .unwrap(),
                    _ => panic!(),
                };
                assert_eq!(sum, t.checksum(), "len {len}");
                assert_eq!(t.payload().len(), len);
            }
        }
    }

    #[test]
    fn stream_slices_agree() {
        let mut whole = [0u8; 40];
        fill_stream(&mut whole, 5, 0);
        for start in 0..20 {
            let mut part = [0u8; 13];
            fill_stream(&mut part, 5, start as u64);
            assert_eq!(&part[..], &whole[start..start + 13]);
        }
    }

    #[test]
    fn icmp_and_nd_parse() {
        let mut f = Vec::new();
        neighbor_solicitation(
            &mut f,
            [0, 0x15, 0x5d, 1, 2, 3],
            "2001:db8:1::10".parse().unwrap(),
            "2001:db8:1::50".parse().unwrap(),
        );
        assert!(LaxSlicedPacket::from_ethernet(&f).unwrap().net.is_some());
        arp_request(
            &mut f,
            [2; 6],
            "192.168.1.10".parse().unwrap(),
            "192.168.1.50".parse().unwrap(),
        );
        assert_eq!(f.len(), 42);
    }
}
