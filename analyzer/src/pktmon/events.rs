//! Decoders of the Microsoft-Windows-PktMon event payloads (version 0, packed,
//! little-endian) into model records.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::etl::bytes::*;
use crate::model::*;

pub const EVENT_COMPONENT: u16 = 20;
pub const EVENT_PROP_UINT: u16 = 30;
pub const EVENT_PROP_GUID: u16 = 40;
pub const EVENT_PROP_HEX32: u16 = 50;
pub const EVENT_PROP_NDIS_MEDIUM: u16 = 60;
pub const EVENT_PROP_IPV4: u16 = 65;
pub const EVENT_PROP_IPV6: u16 = 66;
pub const EVENT_PROP_BINARY: u16 = 70;
pub const EVENT_PROP_STRING: u16 = 73;
pub const EVENT_PROP_ETHERTYPE: u16 = 75;
pub const EVENT_DROP_COUNTERS: u16 = 80;
pub const EVENT_FLOW_COUNTERS: u16 = 90;
pub const EVENT_FILTER_IPV4: u16 = 100;
pub const EVENT_FILTER_IPV6: u16 = 110;
pub const EVENT_PACKET: u16 = 160;
pub const EVENT_DROP: u16 = 170;

/// Size of the fixed part of events 160 and 170.
pub const PACKET_HEADER_LEN: usize = 34;

/// Why a PktMon payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

fn short(event: u16, need: usize, have: usize) -> DecodeError {
    DecodeError(format!(
        "event {event} payload is {have} bytes, shorter than the {need} its layout needs"
    ))
}

/// Time and origin of an event, from the trace header.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventOrigin {
    pub time: FileTime,
    pub cpu: u16,
    pub process_id: u32,
    pub thread_id: u32,
}

/// Decodes one PktMon event. `Ok(None)` for events the model does not hold
/// (for example 10 DriverEntryFailed, or ids this version does not know).
/// `keep_payload`: copy each packet's bytes into its appearance (false for
/// readers that need only the metadata; the link type is still sniffed).
pub fn decode(
    event_id: u16,
    p: &[u8],
    origin: EventOrigin,
    index: u64,
    keep_payload: bool,
) -> Result<Option<Record>, DecodeError> {
    let need = |n: usize| {
        if p.len() < n {
            Err(short(event_id, n, p.len()))
        } else {
            Ok(())
        }
    };
    let comp = || u16_at(p, 0).unwrap_or(0);
    let prop = || u16_at(p, 2).unwrap_or(0);
    let property = |value| {
        Ok(Some(Record::Property {
            component_id: comp(),
            property: Property { id: prop(), value },
        }))
    };
    match event_id {
        EVENT_PACKET | EVENT_DROP => {
            decode_packet(event_id, p, origin, index, keep_payload).map(|a| Some(Record::Packet(a)))
        }
        EVENT_COMPONENT => {
            need(4)?;
            let (name, next) = utf16z_at(p, 4).unwrap_or_default();
            let (description, _) = utf16z_at(p, next).unwrap_or_default();
            Ok(Some(Record::Component(Component {
                id: comp(),
                component_type: prop(),
                name,
                description,
                properties: Vec::new(),
            })))
        }
        EVENT_PROP_UINT | EVENT_PROP_HEX32 => {
            need(8)?;
            property(PropertyValue::U32(u32_at(p, 4).unwrap_or(0)))
        }
        EVENT_PROP_GUID => {
            need(20)?;
            let g = guid_at(p, 4).unwrap_or_default();
            property(PropertyValue::Guid(format!("{{{}}}", guid_string(&g))))
        }
        EVENT_PROP_NDIS_MEDIUM => {
            need(6)?;
            property(PropertyValue::NdisMedium(u16_at(p, 4).unwrap_or(0)))
        }
        EVENT_PROP_IPV4 => {
            need(8)?;
            property(PropertyValue::Ipv4(Ipv4Addr::new(p[4], p[5], p[6], p[7])))
        }
        EVENT_PROP_IPV6 => {
            need(20)?;
            let b: [u8; 16] = p[4..20].try_into().unwrap_or_default();
            property(PropertyValue::Ipv6(Ipv6Addr::from(b)))
        }
        EVENT_PROP_BINARY => {
            need(8)?;
            let size = u32_at(p, 4).unwrap_or(0) as usize;
            let bytes = p
                .get(8..8usize.saturating_add(size))
                .ok_or_else(|| short(event_id, 8 + size, p.len()))?;
            property(PropertyValue::Bytes(bytes.to_vec()))
        }
        EVENT_PROP_STRING => {
            need(4)?;
            property(PropertyValue::Str(utf16z_at(p, 4).unwrap_or_default().0))
        }
        EVENT_PROP_ETHERTYPE => {
            need(6)?;
            property(PropertyValue::EtherType(u16_at(p, 4).unwrap_or(0)))
        }
        EVENT_DROP_COUNTERS => {
            need(38)?;
            Ok(Some(Record::DropCounters(DropCounters {
                component_id: comp(),
                direction_in: u16_at(p, 2).unwrap_or(0),
                packets_in: u64_at(p, 4).unwrap_or(0),
                bytes_in: u64_at(p, 12).unwrap_or(0),
                direction_out: u16_at(p, 20).unwrap_or(0),
                packets_out: u64_at(p, 22).unwrap_or(0),
                bytes_out: u64_at(p, 30).unwrap_or(0),
            })))
        }
        EVENT_FLOW_COUNTERS => {
            need(4)?;
            let (edge_name, o) = utf16z_at(p, 2).unwrap_or_default();
            if p.len() < o + 38 {
                return Err(short(event_id, o + 38, p.len()));
            }
            Ok(Some(Record::FlowCounters(FlowCounters {
                component_id: comp(),
                edge_name,
                edge_id: u16_at(p, o).unwrap_or(0),
                direction_in: u16_at(p, o + 2).unwrap_or(0),
                packets_in: u64_at(p, o + 4).unwrap_or(0),
                bytes_in: u64_at(p, o + 12).unwrap_or(0),
                direction_out: u16_at(p, o + 20).unwrap_or(0),
                packets_out: u64_at(p, o + 22).unwrap_or(0),
                bytes_out: u64_at(p, o + 30).unwrap_or(0),
            })))
        }
        EVENT_FILTER_IPV4 | EVENT_FILTER_IPV6 => {
            need(2)?;
            let (name, o) = utf16z_at(p, 2).unwrap_or_default();
            let ip_len = if event_id == EVENT_FILTER_IPV4 { 4 } else { 16 };
            let total = o + 6 + 6 + 2 + 2 + 2 * ip_len + 1 + 2 + 2 + 1;
            if p.len() < total {
                return Err(short(event_id, total, p.len()));
            }
            let mac = |at: usize| -> [u8; 6] { p[at..at + 6].try_into().unwrap_or_default() };
            let ip = |at: usize| -> IpAddr {
                if ip_len == 4 {
                    IpAddr::V4(Ipv4Addr::new(p[at], p[at + 1], p[at + 2], p[at + 3]))
                } else {
                    let b: [u8; 16] = p[at..at + 16].try_into().unwrap_or_default();
                    IpAddr::V6(Ipv6Addr::from(b))
                }
            };
            let ips = o + 16;
            let after = ips + 2 * ip_len;
            Ok(Some(Record::Filter(PacketFilter {
                id: comp(),
                name,
                mac1: mac(o),
                mac2: mac(o + 6),
                ether_type: u16_at(p, o + 12).unwrap_or(0),
                vlan_id: u16_at(p, o + 14).unwrap_or(0),
                ip1: ip(ips),
                ip2: ip(ips + ip_len),
                protocol: p[after],
                port1: u16_at(p, after + 1).unwrap_or(0),
                port2: u16_at(p, after + 3).unwrap_or(0),
                tcp_flags: p[after + 5],
            })))
        }
        _ => Ok(None),
    }
}

/// Decodes event 160 (flow) or 170 (drop). A payload shorter than its
/// LoggedPayloadSize says is an error (the caller reports it); the fixed part
/// must be complete.
pub fn decode_packet(
    event_id: u16,
    p: &[u8],
    origin: EventOrigin,
    index: u64,
    keep_payload: bool,
) -> Result<Appearance, DecodeError> {
    if p.len() < PACKET_HEADER_LEN {
        return Err(short(event_id, PACKET_HEADER_LEN, p.len()));
    }
    let logged = u16_at(p, 32).unwrap_or(0) as usize;
    let payload = p
        .get(PACKET_HEADER_LEN..PACKET_HEADER_LEN + logged)
        .ok_or_else(|| short(event_id, PACKET_HEADER_LEN + logged, p.len()))?;
    let packet_type = u16_at(p, 14).unwrap_or(0);
    let drop = (event_id == EVENT_DROP).then(|| DropInfo {
        reason: u32_at(p, 22),
        reason_text: None,
        location: u32_at(p, 26),
    });
    Ok(Appearance {
        index,
        time: origin.time,
        cpu: Some(origin.cpu),
        process_id: Some(origin.process_id),
        thread_id: Some(origin.thread_id),
        group_id: u64_at(p, 0),
        pkt_number: u16_at(p, 8),
        appearance: u16_at(p, 10),
        direction: u16_at(p, 12),
        packet_type: Some(packet_type),
        component_id: u16_at(p, 16),
        edge_id: u16_at(p, 18),
        filter_id: u16_at(p, 20),
        drop,
        original_size: u16_at(p, 30).unwrap_or(0) as u32,
        logged_size: logged as u32,
        link_type: link_type_for(packet_type, payload),
        payload: if keep_payload { payload.to_vec() } else { Vec::new() },
    })
}

/// The link type of a payload, from what its bytes are, with PacketType as
/// the tie-breaker: NDIS filters above nwifi.sys log Ethernet frames typed
/// WiFi (2), a WiFi miniport drop can hold an Ethernet frame, and a frame
/// typed Ethernet can be an 802.11 frame. A frame is taken for 802.11 when its
/// frame control and length make a whole 802.11 frame (a null-data frame is
/// exactly its header; a data frame with a body starts it with LLC/SNAP, or
/// is protected), and for Ethernet when it has a plausible Ethernet header.
pub fn link_type_for(packet_type: u16, payload: &[u8]) -> LinkType {
    let dot11 = is_80211_frame(payload);
    match packet_type {
        1 if dot11 && !looks_like_ethernet(payload) => LinkType::Ieee80211,
        1 => LinkType::Ethernet,
        3 => LinkType::RawIp,
        2 => {
            if dot11 || !looks_like_ethernet(payload) {
                LinkType::Ieee80211
            } else {
                LinkType::Ethernet
            }
        }
        // A whole 802.11 frame first: a null-data frame (FC 48) would pass for IPv4.
        0 if dot11 => LinkType::Ieee80211,
        0 => match payload.first().map(|b| b >> 4) {
            Some(4) | Some(6) => LinkType::RawIp,
            _ if looks_like_ethernet(payload) => LinkType::Ethernet,
            _ => LinkType::Other,
        },
        _ => LinkType::Other,
    }
}

/// The MAC header length of an 802.11 data frame (version 0, type 2).
pub fn dot11_data_header_len(b: &[u8]) -> Option<usize> {
    let (&fc0, &fc1) = (b.first()?, b.get(1)?);
    if fc0 & 0x03 != 0 || (fc0 >> 2) & 0x03 != 2 {
        return None;
    }
    let mut header = 24;
    if fc1 & 0x03 == 0x03 {
        header += 6; // four-address frame
    }
    if fc0 & 0x80 != 0 {
        header += 2; // QoS data
        if fc1 & 0x80 != 0 {
            header += 4; // HT control
        }
    }
    Some(header)
}

/// The Protected bit of an 802.11 frame's control field.
pub const DOT11_PROTECTED: u8 = 0x40;

/// A whole 802.11 data frame: a null-data frame (subtype 4 or 12: no body),
/// a body starting with LLC/SNAP (clear, or decrypted by the driver while
/// the Protected bit stayed set), or a protected body with its CCMP/TKIP
/// header (ExtIV set).
fn is_80211_frame(b: &[u8]) -> bool {
    let Some(header) = dot11_data_header_len(b) else {
        return false;
    };
    let subtype = b[0] >> 4;
    if subtype & 0x07 == 4 {
        // Null data (4) or QoS null (12): the header only, maybe with its FCS.
        return b.len() == header || b.len() == header + 4;
    }
    if b.get(header..header + 3) == Some(&[0xAA, 0xAA, 0x03][..]) {
        return true;
    }
    b[1] & DOT11_PROTECTED != 0 && b.get(header + 3).is_some_and(|k| k & 0x20 != 0) && b.len() >= header + 8 + 8
}

/// Whether an 802.11 data frame's body is plaintext (LLC/SNAP right after
/// the header) though its Protected bit is set: PktMon logs frames the
/// driver already decrypted that way, and Wireshark would show their body
/// as encrypted data.
pub fn dot11_decrypted_but_protected(b: &[u8]) -> bool {
    let Some(header) = dot11_data_header_len(b) else {
        return false;
    };
    b[1] & DOT11_PROTECTED != 0 && b.get(header..header + 3) == Some(&[0xAA, 0xAA, 0x03][..])
}

/// An Ethernet II frame: an EtherType (≥ 0x0600) at offset 12, or an 802.3
/// length followed by LLC.
fn looks_like_ethernet(b: &[u8]) -> bool {
    match u16_at(b, 12).map(u16::from_be) {
        Some(t) if t >= 0x0600 => true,
        Some(len) => len as usize <= b.len().saturating_sub(14) + 4 && b.len() >= 17,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_typed_ethernet_is_recognised() {
        // The finguard 204 drop: broadcast Ethernet header with EtherType 0x8300.
        let eth = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x83, 0x00, 1, 2, 3, 4,
        ];
        assert_eq!(link_type_for(2, &eth), LinkType::Ethernet);
        // A real 802.11 data frame: FC 08 02, 24-byte header, then LLC/SNAP.
        let mut dot11 = vec![0x08, 0x02];
        dot11.extend_from_slice(&[0u8; 22]);
        dot11.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00]);
        assert_eq!(link_type_for(2, &dot11), LinkType::Ieee80211);
        // QoS data (FC 88 02) has a 26-byte header.
        let mut qos = vec![0x88, 0x02];
        qos.extend_from_slice(&[0u8; 24]);
        qos.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x86, 0xDD]);
        assert_eq!(link_type_for(2, &qos), LinkType::Ieee80211);
        assert_eq!(link_type_for(3, &[0x45]), LinkType::RawIp);
        // A null-data frame (FC 48 02, 24 bytes) whose address bytes look like an EtherType.
        let mut null = vec![0x48, 0x02, 0x2c, 0x00];
        null.extend_from_slice(&[0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x34, 0xf7, 0x16, 0x95, 0x71, 0xea]);
        null.extend_from_slice(&[0x90, 0xa5, 0xaf, 0x5a, 0x29, 0x05, 0x40, 0xb2]);
        assert_eq!(null.len(), 24);
        assert_eq!(link_type_for(2, &null), LinkType::Ieee80211);
        assert_eq!(
            link_type_for(1, &null),
            LinkType::Ethernet,
            "0x1695 at 12 is a plausible EtherType"
        );
        assert_eq!(link_type_for(0, &null), LinkType::Ieee80211);
        // A decrypted frame that kept its Protected bit (FC 08 42): 802.11, and flagged.
        let mut decrypted = vec![0x08, 0x42];
        decrypted.extend_from_slice(&[0u8; 22]);
        decrypted.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
        assert_eq!(link_type_for(2, &decrypted), LinkType::Ieee80211);
        assert!(dot11_decrypted_but_protected(&decrypted));
        assert!(!dot11_decrypted_but_protected(&dot11), "not protected");
        // Still encrypted (CCMP header with ExtIV, then ciphertext): 802.11, not flagged.
        let mut encrypted = vec![0x08, 0x41];
        encrypted.extend_from_slice(&[0u8; 22]);
        encrypted.extend_from_slice(&[0x01, 0x00, 0x00, 0x20, 0, 0, 0, 0]);
        encrypted.extend_from_slice(&[0x5a; 32]);
        assert_eq!(link_type_for(2, &encrypted), LinkType::Ieee80211);
        assert!(!dot11_decrypted_but_protected(&encrypted));
        assert_eq!(link_type_for(4, b"GET /"), LinkType::Other);
    }

    #[test]
    fn packet_event_fields_are_where_the_layout_says() {
        let mut p = Vec::new();
        p.extend_from_slice(&8_444_249_301_423_149u64.to_le_bytes());
        for v in [1u16, 0, 3, 3, 49, 0, 1] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        p.extend_from_slice(&1204u32.to_le_bytes());
        p.extend_from_slice(&0xE000_460Au32.to_le_bytes());
        p.extend_from_slice(&402u16.to_le_bytes());
        p.extend_from_slice(&4u16.to_le_bytes());
        p.extend_from_slice(&[0x45, 0, 0, 20]);
        let without = decode_packet(EVENT_DROP, &p, EventOrigin::default(), 7, false).unwrap();
        let a = decode_packet(EVENT_DROP, &p, EventOrigin::default(), 7, true).unwrap();
        assert_eq!(a.payload, [0x45, 0, 0, 20]);
        // Metadata-only decoding: the same appearance, bytes left out, link type still sniffed.
        assert!(without.payload.is_empty());
        assert_eq!(
            Appearance {
                payload: a.payload.clone(),
                ..without
            },
            a
        );
        assert_eq!(a.group_id, Some(8_444_249_301_423_149));
        assert_eq!(a.group_id.unwrap() >> 48, 30, "top 16 bits are the CPU");
        assert_eq!(
            (a.direction, a.packet_type, a.component_id, a.filter_id),
            (Some(3), Some(3), Some(49), Some(1))
        );
        let d = a.drop.unwrap();
        assert_eq!((d.reason, d.location), (Some(1204), Some(0xE000_460A)));
        assert_eq!((a.original_size, a.logged_size, a.payload.len()), (402, 4, 4));
        assert!(decode_packet(EVENT_DROP, &p[..p.len() - 1], EventOrigin::default(), 0, true).is_err());
        assert!(decode_packet(EVENT_PACKET, &p[..33], EventOrigin::default(), 0, true).is_err());
    }
}
