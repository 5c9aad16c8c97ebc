//! Network-layer view of a frame: link header (Ethernet with 802.1Q/QinQ,
//! raw IP, 802.11 data with LLC/SNAP) → IPv4/IPv6 (with extension headers) or
//! ARP → TCP/UDP/ICMP/ICMPv6, on etherparse's zero-copy slices (lax for IP:
//! the frame may be cut).
//!
//! PktMon logs only the first `--pkt-size` bytes of a frame (128 by default),
//! so lengths come from the headers, never from the captured bytes: the TCP
//! segment length is the IP payload length the IP header announces minus the
//! TCP header length, whatever was logged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{ArpPacketSlice, Ethernet2Slice, LaxIpSlice, LaxNetSlice, SingleVlanSlice, TcpSlice, UdpSlice};

use super::FlowKey;
use crate::model::LinkType;

/// TCP flag bits as in the header's 13th byte, plus NS/AE (bit 8).
pub mod tcp_flags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const AE: u16 = 0x100;
}

/// The IP header of a packet (or of the packet an ICMP error quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The transport protocol (the last IPv6 next-header).
    pub protocol: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// IPv4 identification (None for IPv6).
    pub id: Option<u16>,
    /// Length of the whole IP packet as its header says (IPv4 total length, IPv6 40 + payload length).
    pub total_len: u32,
    /// Transport bytes as the headers say (total length − IP header − extension headers).
    pub payload_len: u32,
    /// A fragment (IPv4 MF or offset, IPv6 fragment header): no transport analysis.
    pub fragmented: bool,
    /// IPv4 don't-fragment bit.
    pub dont_fragment: bool,
    /// Whether the lengths came from the header (false: the header said 0 or too little,
    /// as in some large-send captures, and the captured length was used).
    pub len_from_header: bool,
}

impl IpHeader {
    pub fn is_v6(&self) -> bool {
        self.src.is_ipv6()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpView<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// [`tcp_flags`] bits.
    pub flags: u16,
    /// The raw (unscaled) window field.
    pub window: u16,
    pub header_len: u8,
    /// Payload bytes per the IP header (not the captured bytes).
    pub segment_len: u32,
    pub options: &'a [u8],
}

impl TcpView<'_> {
    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// The window scale option's shift (clamped to 14 as RFC 7323 says), if present.
    pub fn window_scale(&self) -> Option<u8> {
        let o = self.options;
        let mut i = 0;
        while i < o.len() {
            match o[i] {
                0 => break,
                1 => i += 1,
                kind => {
                    let len = *o.get(i + 1)? as usize;
                    if len < 2 {
                        break;
                    }
                    if kind == 3 && len == 3 {
                        return o.get(i + 2).map(|&s| s.min(14));
                    }
                    i += len;
                }
            }
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpView {
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP length field.
    pub length: u16,
    pub checksum: u16,
    /// Payload bytes per the IP header.
    pub payload_len: u32,
}

/// ICMP (v4) or ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpView<'a> {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    pub checksum: u16,
    /// Header bytes 4..8 (identifier/sequence, unused/MTU, pointer…).
    pub rest: [u8; 4],
    /// Captured bytes after the 8-byte header (the quoted packet of an error).
    pub body: &'a [u8],
}

impl<'a> IcmpView<'a> {
    /// Destination unreachable (ICMP 3 / ICMPv6 1).
    pub fn is_unreachable(&self) -> bool {
        self.icmp_type == if self.v6 { 1 } else { 3 }
    }

    /// Fragmentation needed (ICMP 3/4) or packet too big (ICMPv6 2).
    pub fn is_too_big(&self) -> bool {
        if self.v6 {
            self.icmp_type == 2
        } else {
            self.icmp_type == 3 && self.code == 4
        }
    }

    /// Time exceeded (ICMP 11 / ICMPv6 3).
    pub fn is_time_exceeded(&self) -> bool {
        self.icmp_type == if self.v6 { 3 } else { 11 }
    }

    /// Port unreachable (ICMP 3/3, ICMPv6 1/4).
    pub fn is_port_unreachable(&self) -> bool {
        self.is_unreachable() && self.code == if self.v6 { 4 } else { 3 }
    }

    /// An error message that quotes the offending packet.
    pub fn is_error(&self) -> bool {
        if self.v6 {
            self.icmp_type < 128
        } else {
            matches!(self.icmp_type, 3 | 4 | 5 | 11 | 12)
        }
    }

    /// Echo request / reply identifier.
    pub fn echo_id(&self) -> Option<u16> {
        let echo = if self.v6 {
            matches!(self.icmp_type, 128 | 129)
        } else {
            matches!(self.icmp_type, 0 | 8)
        };
        echo.then(|| u16::from_be_bytes([self.rest[0], self.rest[1]]))
    }

    fn is_echo_request(&self) -> bool {
        self.icmp_type == if self.v6 { 128 } else { 8 }
    }

    /// Next-hop MTU of fragmentation needed (16 bits) or packet too big (32 bits).
    pub fn mtu(&self) -> Option<u32> {
        if !self.is_too_big() {
            return None;
        }
        Some(if self.v6 {
            u32::from_be_bytes(self.rest)
        } else {
            u16::from_be_bytes([self.rest[2], self.rest[3]]) as u32
        })
    }

    /// Target address of a neighbor solicitation (135) or advertisement (136).
    pub fn nd_target(&self) -> Option<Ipv6Addr> {
        if !self.v6 || !matches!(self.icmp_type, 135 | 136) {
            return None;
        }
        let t: [u8; 16] = self.body.get(..16)?.try_into().ok()?;
        Some(Ipv6Addr::from(t))
    }

    /// The packet an error message quotes: its IP header and first transport bytes.
    pub fn quoted(&self) -> Option<QuotedPacket> {
        if !self.is_error() {
            return None;
        }
        let (ip, rest) = ip_header(self.body)?;
        let mut first8 = [0u8; 8];
        let n = rest.len().min(8);
        first8[..n].copy_from_slice(&rest[..n]);
        Some(QuotedPacket {
            ip,
            first8,
            first8_len: n as u8,
        })
    }
}

/// The start of the packet an ICMP error quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedPacket {
    pub ip: IpHeader,
    /// The first 8 transport bytes (ports and TCP sequence, UDP length and checksum, ICMP echo id…).
    pub first8: [u8; 8],
    /// How many of them were quoted.
    pub first8_len: u8,
}

impl QuotedPacket {
    pub fn ports(&self) -> Option<(u16, u16)> {
        (matches!(self.ip.protocol, 6 | 17) && self.first8_len >= 4).then(|| {
            (
                u16::from_be_bytes([self.first8[0], self.first8[1]]),
                u16::from_be_bytes([self.first8[2], self.first8[3]]),
            )
        })
    }

    pub fn tcp_seq(&self) -> Option<u32> {
        (self.ip.protocol == 6 && self.first8_len >= 8)
            .then(|| u32::from_be_bytes([self.first8[4], self.first8[5], self.first8[6], self.first8[7]]))
    }

    /// The quoted packet's flow, as its sender saw it (sender = client).
    pub fn flow_key(&self, vlan: Option<u16>) -> FlowKey {
        let (sp, dp) = match self.ip.protocol {
            6 | 17 => self.ports().unwrap_or((0, 0)),
            1 | 58 if self.first8_len >= 6 => {
                let t = self.first8[0];
                let echo = if self.ip.protocol == 58 {
                    t == 128 || t == 129
                } else {
                    t == 8 || t == 0
                };
                let id = u16::from_be_bytes([self.first8[4], self.first8[5]]);
                match (echo, t == 8 || t == 128) {
                    (true, true) => (id, 0),
                    (true, false) => (0, id),
                    _ => (0, 0),
                }
            }
            _ => (0, 0),
        };
        FlowKey {
            protocol: self.ip.protocol,
            client: self.ip.src,
            client_port: sp,
            server: self.ip.dst,
            server_port: dp,
            vlan,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpView {
    /// 1 request, 2 reply.
    pub operation: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpView<'a>),
    Udp(UdpView),
    Icmp(IcmpView<'a>),
    Arp(ArpView),
    /// Another IP protocol, a fragment, or a transport header the capture cut.
    Other,
}

/// What [`parse`] sees of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketView<'a> {
    /// The outermost 802.1Q / 802.1ad VLAN id.
    pub vlan: Option<u16>,
    /// None for ARP.
    pub ip: Option<IpHeader>,
    pub transport: Transport<'a>,
}

impl PacketView<'_> {
    /// The transport flow of this packet as its sender sees it (sender = client):
    /// TCP/UDP ports, the echo identifier for ICMP echo (request: client port,
    /// reply: server port), 0 otherwise. None for ARP.
    pub fn flow_key(&self) -> Option<FlowKey> {
        let ip = self.ip?;
        let (sp, dp) = match &self.transport {
            Transport::Tcp(t) => (t.src_port, t.dst_port),
            Transport::Udp(u) => (u.src_port, u.dst_port),
            Transport::Icmp(i) => match i.echo_id() {
                Some(id) if i.is_echo_request() => (id, 0),
                Some(id) => (0, id),
                None => (0, 0),
            },
            _ => (0, 0),
        };
        Some(FlowKey {
            protocol: ip.protocol,
            client: ip.src,
            client_port: sp,
            server: ip.dst,
            server_port: dp,
            vlan: self.vlan,
        })
    }
}

/// Parses a frame down to the transport header. None when there is no IPv4,
/// IPv6 or ARP inside (other EtherTypes, 802.11 management/control or
/// protected frames, a cut or malformed IP header).
pub fn parse(link: LinkType, bytes: &[u8]) -> Option<PacketView<'_>> {
    parse_with_len(link, bytes, bytes.len() as u32)
}

/// [`parse`] for a frame of `original_len` bytes of which `bytes` were logged:
/// when an IP header carries no usable length (0 in some large-send
/// captures), the frame's original length gives it.
pub fn parse_with_len(link: LinkType, bytes: &[u8], original_len: u32) -> Option<PacketView<'_>> {
    let (vlan, ether_type, l3) = match link {
        LinkType::Ethernet => {
            let eth = Ethernet2Slice::from_slice_without_fcs(bytes).ok()?;
            let (mut et, mut rest, mut vlan) = (eth.ether_type().0, eth.payload_slice(), None);
            while matches!(et, 0x8100 | 0x88A8 | 0x9100) {
                let tag = SingleVlanSlice::from_slice(rest).ok()?;
                vlan.get_or_insert(tag.vlan_identifier().value());
                (et, rest) = (tag.ether_type().0, tag.payload_slice());
            }
            match (et, ieee80211_payload(bytes)) {
                // `pktmon etl2pcap` labels Wi-Fi frames Ethernet: an 802.11 data
                // frame with LLC/SNAP where the EtherType is nothing we know.
                (0x0800 | 0x86DD | 0x0806, _) | (_, None) => (vlan, et, rest),
                (_, Some((off, wifi_type))) => (None, wifi_type, &bytes[off..]),
            }
        }
        LinkType::RawIp => match bytes.first()? >> 4 {
            4 => (None, 0x0800, bytes),
            6 => (None, 0x86DD, bytes),
            _ => return None,
        },
        LinkType::Ieee80211 => {
            let (off, ether_type) = ieee80211_payload(bytes)?;
            (None, ether_type, &bytes[off..])
        }
        LinkType::Other => return None,
    };
    match ether_type {
        0x0800 | 0x86DD => {}
        0x0806 => {
            return arp_view(l3).map(|a| PacketView {
                vlan,
                ip: None,
                transport: Transport::Arp(a),
            })
        }
        _ => return None,
    }
    let (ip_slice, _ext_err) = LaxIpSlice::from_slice(l3).ok()?;
    let net: LaxNetSlice<'_> = ip_slice.into();
    let mut ip = ip_header_of(&net, l3.as_ptr())?;
    let cut = (original_len as usize).saturating_sub(bytes.len()) as u32;
    if !ip.len_from_header && cut > 0 {
        ip.total_len += cut;
        ip.payload_len += cut;
    }
    let payload = net.ip_payload_ref()?;
    let transport = if ip.fragmented {
        Transport::Other
    } else {
        transport_of(payload.ip_number.0, payload.payload, &ip)
    };
    Some(PacketView {
        vlan,
        ip: Some(ip),
        transport,
    })
}

fn arp_view(b: &[u8]) -> Option<ArpView> {
    let a = ArpPacketSlice::from_slice(b).ok()?;
    if a.hw_addr_size() != 6 || a.proto_addr_size() != 4 {
        return None;
    }
    let mac = |s: &[u8]| -> [u8; 6] { s.try_into().unwrap_or_default() };
    let ip = |s: &[u8]| -> Ipv4Addr { Ipv4Addr::new(s[0], s[1], s[2], s[3]) };
    Some(ArpView {
        operation: a.operation().0,
        sender_mac: mac(a.sender_hw_addr()),
        sender_ip: ip(a.sender_protocol_addr()),
        target_mac: mac(a.target_hw_addr()),
        target_ip: ip(a.target_protocol_addr()),
    })
}

/// The transport header, from the captured bytes after the IP header(s).
fn transport_of<'a>(protocol: u8, b: &'a [u8], ip: &IpHeader) -> Transport<'a> {
    match protocol {
        6 => match TcpSlice::from_slice(b) {
            Ok(tcp) => {
                let h = tcp.header_slice();
                let header_len = h.len() as u8;
                Transport::Tcp(TcpView {
                    src_port: tcp.source_port(),
                    dst_port: tcp.destination_port(),
                    seq: tcp.sequence_number(),
                    ack: tcp.acknowledgment_number(),
                    flags: u16::from_be_bytes([h[12], h[13]]) & 0x1FF,
                    window: tcp.window_size(),
                    header_len,
                    segment_len: ip.payload_len.saturating_sub(header_len as u32),
                    options: &h[20.min(h.len())..],
                })
            }
            Err(_) => Transport::Other,
        },
        17 => match UdpSlice::from_slice_lax(b) {
            Ok(udp) => Transport::Udp(UdpView {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                length: udp.length(),
                checksum: udp.checksum(),
                payload_len: ip.payload_len.saturating_sub(8),
            }),
            Err(_) => Transport::Other,
        },
        1 => icmp_view(b, false),
        58 => icmp_view(b, true),
        _ => Transport::Other,
    }
}

fn icmp_view(s: &[u8], v6: bool) -> Transport<'_> {
    if s.len() < 8 {
        return Transport::Other;
    }
    Transport::Icmp(IcmpView {
        v6,
        icmp_type: s[0],
        code: s[1],
        checksum: u16::from_be_bytes([s[2], s[3]]),
        rest: [s[4], s[5], s[6], s[7]],
        body: &s[8..],
    })
}

/// The IP header fields, with lengths from the header. `start` is where the IP header begins.
fn ip_header_of(net: &LaxNetSlice<'_>, start: *const u8) -> Option<IpHeader> {
    let (src, dst, ttl, id, total, df, payload) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.ttl(),
                Some(h.identification()),
                h.total_len() as u32,
                h.dont_fragment(),
                v4.payload(),
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let total = match h.payload_length() {
                0 => 0, // jumbogram or unknown: fall back to the captured length below
                n => 40 + n as u32,
            };
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.hop_limit(),
                None,
                total,
                false,
                v6.payload(),
            )
        }
        LaxNetSlice::Arp(_) => return None,
    };
    // Bytes before the transport header (IP header, options, extension headers).
    let before = payload.payload.as_ptr() as usize - start as usize;
    let captured = before + payload.payload.len();
    let len_from_header = total as usize >= before;
    let total = if len_from_header { total } else { captured as u32 };
    Some(IpHeader {
        src,
        dst,
        protocol: payload.ip_number.0,
        ttl,
        id,
        total_len: total,
        payload_len: total - before as u32,
        fragmented: payload.fragmented,
        dont_fragment: df,
        len_from_header,
    })
}

/// Parses an IP header (a quoted one: lax, the rest of its packet is missing);
/// returns it with the bytes after it.
pub fn ip_header(bytes: &[u8]) -> Option<(IpHeader, &[u8])> {
    let (ip, _) = LaxIpSlice::from_slice(bytes).ok()?;
    let net: LaxNetSlice<'_> = ip.into();
    let header = ip_header_of(&net, bytes.as_ptr())?;
    let rest = net.ip_payload_ref()?.payload;
    Some((header, rest))
}

/// Offset and EtherType of the LLC/SNAP payload of an 802.11 data frame.
fn ieee80211_payload(b: &[u8]) -> Option<(usize, u16)> {
    let (&fc0, &fc1) = (b.first()?, b.get(1)?);
    // Type must be data (2); subtypes with bit 2 set carry no data (null function).
    // The protected bit is no reason to give up: PktMon logs frames the NIC
    // already decrypted with the bit still set (the LLC/SNAP check below
    // tells plaintext from ciphertext).
    if (fc0 >> 2) & 0x3 != 2 || fc0 & 0x40 != 0 {
        return None;
    }
    let mut h = 24;
    if fc1 & 0x03 == 0x03 {
        h += 6; // four addresses
    }
    if fc0 & 0x80 != 0 {
        h += 2; // QoS control
        if fc1 & 0x80 != 0 {
            h += 4; // HT control
        }
    }
    let llc = b.get(h..h + 8)?;
    if llc[..3] != [0xAA, 0xAA, 0x03] {
        return None;
    }
    Some((h + 8, u16::from_be_bytes([llc[6], llc[7]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_scale_option() {
        let t = TcpView {
            src_port: 1,
            dst_port: 2,
            seq: 0,
            ack: 0,
            flags: tcp_flags::SYN,
            window: 0,
            header_len: 32,
            segment_len: 0,
            options: &[2, 4, 5, 0xb4, 1, 3, 3, 7],
        };
        assert_eq!(t.window_scale(), Some(7));
        let t = TcpView {
            options: &[1, 1, 3, 3, 20],
            ..t
        };
        assert_eq!(t.window_scale(), Some(14));
        let t = TcpView {
            options: &[2, 4, 5, 0xb4],
            ..t
        };
        assert_eq!(t.window_scale(), None);
    }
}
