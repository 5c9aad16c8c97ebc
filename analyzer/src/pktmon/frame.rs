//! PktMon metadata of one pcapng packet block, whoever wrote it: this
//! project's converter (comment with the etl2txt line, `DropReasonCode`
//! comment, packet id, verdict), microsoft/etl2pcapng (interface per
//! component, packet id = PktGroupId, verdict on drops), or any tool that put
//! PktMon lines in packet comments. Used by the pcapng reader and by the
//! Wireshark plugin, so both read a frame alike.

use crate::model::*;
use crate::pktmon::catalog::{Catalog, MAP_DIRECTION, MAP_DROP_REASON, MAP_PACKET_TYPE};
use crate::pktmon::events::link_type_for;
use crate::pktmon::text::{parse_packet_ids, parse_packet_message, parse_prefix, PacketIds, PacketLine};

/// What a packet block carries that can hold PktMon metadata.
#[derive(Debug, Clone, Default)]
pub struct FrameFacts<'a> {
    /// 0-based index of the frame in the file.
    pub index: u64,
    pub time: FileTime,
    pub link_type: Option<LinkType>,
    pub data: &'a [u8],
    pub original_len: u32,
    pub comments: &'a [&'a str],
    /// epb_packetid.
    pub packet_id: Option<u64>,
    /// An epb_verdict that says the packet was dropped (see [`verdict_is_drop`]).
    pub verdict: bool,
    /// epb_flags.
    pub flags: Option<u32>,
    /// epb_processid_threadid (option 8, written by etl2pcapng).
    pub process_thread: Option<(u32, u32)>,
    pub interface_id: Option<u32>,
    /// The PktMon component the frame's interface stands for, when the
    /// interface says so (the converter's IDB comment "PktMon component N").
    pub interface_component: Option<u16>,
}

/// Where the metadata of a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataSource {
    /// A PktMon line in a packet comment (converter output or comment-only files).
    Comment,
    /// Only structured options (packet id, verdict) and the interface: etl2pcapng output.
    Options,
    /// Nothing: a plain pcapng/pcap frame.
    None,
}

/// The comment prefix of the numeric drop reason the converter adds.
pub const DROP_REASON_CODE_PREFIX: &str = "DropReasonCode ";

/// epb_verdict types (pcapng): hardware, Linux eBPF TC, Linux eBPF XDP.
pub const VERDICT_HARDWARE: u8 = 0;
pub const VERDICT_EBPF_TC: u8 = 1;
pub const VERDICT_EBPF_XDP: u8 = 2;

/// Whether an `epb_verdict` says the packet was dropped. etl2pcapng and the
/// converter write eBPF-XDP `XDP_DROP` (type 2, value 1) on drops only; an
/// eBPF verdict that let the packet through (XDP_PASS/TX/REDIRECT, TC_ACT_OK …)
/// is not a drop. A hardware verdict is opaque, so it counts as one.
pub fn verdict_is_drop(kind: u8, value: Option<u64>) -> bool {
    const XDP_ABORTED: u64 = 0;
    const XDP_DROP: u64 = 1;
    const TC_ACT_SHOT: u64 = 2;
    match (kind, value) {
        (VERDICT_HARDWARE, _) => true,
        (VERDICT_EBPF_XDP, Some(v)) => matches!(v, XDP_ABORTED | XDP_DROP),
        (VERDICT_EBPF_TC, Some(v)) => v == TC_ACT_SHOT,
        _ => false,
    }
}

/// A PktMon line found in a frame's comments; `origin` is (CPU, PID, TID)
/// when the comment held a whole etl2txt line with its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLine<'a> {
    pub line: PacketLine<'a>,
    pub origin: Option<(u16, u32, u32)>,
}

/// The first line of any comment that parses as a PktMon packet or drop
/// message, with or without the `[CC]PID.TID::time [Provider] ` prefix.
pub fn find_packet_line<'a>(comments: &[&'a str]) -> Option<FoundLine<'a>> {
    comments.iter().flat_map(|c| c.lines()).find_map(|l| {
        let l = l.trim_start_matches('\u{feff}');
        if let Some(p) = parse_prefix(l) {
            if let Some(line) = parse_packet_message(p.message) {
                return Some(FoundLine {
                    line,
                    origin: Some((p.cpu, p.process_id, p.thread_id)),
                });
            }
        }
        parse_packet_message(l).map(|line| FoundLine { line, origin: None })
    })
}

/// What grouping needs of a frame, read from its first PktMon line without
/// the rest of the metadata. `None` unless that line is plainly English
/// (the caller then reads the frame whole with [`metadata_from_frame`]).
pub fn packet_ids_from_frame(f: &FrameFacts<'_>) -> Option<PacketIds> {
    let line = f
        .comments
        .iter()
        .flat_map(|c| c.lines())
        .map(|l| l.trim_start_matches('\u{feff}'))
        .find(|l| l.contains("PktGroupId"))?;
    let message = parse_prefix(line).map_or(line, |p| p.message);
    let mut ids = parse_packet_ids(message)?;
    // As apply_options: a dropping verdict makes a drop of any line.
    ids.is_drop |= f.verdict;
    Some(ids)
}

/// The numeric drop reason of a `DropReasonCode <n>` comment.
pub fn find_drop_reason_code(comments: &[&str]) -> Option<u32> {
    comments.iter().flat_map(|c| c.lines()).find_map(|l| {
        l.trim()
            .strip_prefix(DROP_REASON_CODE_PREFIX.trim_end())?
            .trim()
            .parse()
            .ok()
    })
}

/// A map code from its text as etl2txt printed it, or from the number printed
/// when the formatter had no text.
fn code_from_text(catalog: &Catalog, map: &str, text: &str) -> Option<u32> {
    catalog.code_for_text(map, text).or_else(|| text.trim().parse().ok())
}

/// Fills an appearance from a parsed PktMon line.
fn apply_line(a: &mut Appearance, line: &PacketLine<'_>, reason_code: Option<u32>, catalog: &Catalog) {
    a.group_id = line.group_id;
    a.pkt_number = line.pkt_number;
    a.appearance = line.appearance;
    a.component_id = line.component_id;
    a.edge_id = line.edge_id;
    a.filter_id = line.filter_id;
    a.direction = line
        .direction
        .as_deref()
        .and_then(|t| code_from_text(catalog, MAP_DIRECTION, t))
        .and_then(|c| u16::try_from(c).ok());
    a.packet_type = line
        .packet_type
        .as_deref()
        .and_then(|t| code_from_text(catalog, MAP_PACKET_TYPE, t))
        .and_then(|c| u16::try_from(c).ok());
    if let Some(o) = line.original_size {
        a.original_size = o;
    }
    if line.is_drop {
        let text = line.drop_reason.as_deref();
        let numeric = text.and_then(|t| t.trim().parse::<u32>().ok());
        let reason = reason_code
            .or_else(|| text.and_then(|t| catalog.code_for_text(MAP_DROP_REASON, t)))
            .or(numeric);
        a.drop = Some(DropInfo {
            reason,
            // A bare number is not a text: the catalog renders the code instead.
            reason_text: text.filter(|_| numeric.is_none()).map(str::to_string),
            location: line.drop_location,
        });
    }
}

/// Structured options, used where the comment said nothing.
fn apply_options(a: &mut Appearance, f: &FrameFacts<'_>) {
    if a.group_id.is_none() {
        a.group_id = f.packet_id;
    }
    if a.drop.is_none() && f.verdict {
        a.drop = Some(DropInfo {
            reason: None,
            reason_text: None,
            location: None,
        });
    }
    if a.direction.is_none() {
        // epb_flags bits 0-1: 1 inbound, 2 outbound → PKTMON_DIRECTION_TAG In (1) / Out (2).
        a.direction = match f.flags.map(|fl| fl & 3) {
            Some(1) => Some(1),
            Some(2) => Some(2),
            _ => None,
        };
    }
    if a.process_id.is_none() {
        a.process_id = f.process_thread.map(|(p, _)| p);
        a.thread_id = f.process_thread.map(|(_, t)| t);
    }
}

/// The model's appearance of a frame, with what its metadata came from.
pub fn appearance_from_frame(f: &FrameFacts<'_>, catalog: &Catalog) -> (Appearance, MetadataSource) {
    from_frame(f, catalog, true)
}

/// [`appearance_from_frame`] without a copy of the frame's bytes (`payload`
/// is left empty; `logged_size` and the link type still describe them), for
/// callers that have the bytes at hand, like the Wireshark plugin.
pub fn metadata_from_frame(f: &FrameFacts<'_>, catalog: &Catalog) -> (Appearance, MetadataSource) {
    from_frame(f, catalog, false)
}

fn from_frame(f: &FrameFacts<'_>, catalog: &Catalog, copy_payload: bool) -> (Appearance, MetadataSource) {
    let mut a = Appearance::bare(
        f.index,
        f.time,
        f.link_type.unwrap_or(LinkType::Other),
        if copy_payload { f.data.to_vec() } else { Vec::new() },
        f.original_len.max(f.data.len() as u32),
    );
    a.logged_size = f.data.len() as u32;
    if let Some(found) = find_packet_line(f.comments) {
        apply_line(&mut a, &found.line, find_drop_reason_code(f.comments), catalog);
        if let Some((cpu, pid, tid)) = found.origin {
            a.cpu = Some(cpu);
            a.process_id = Some(pid);
            a.thread_id = Some(tid);
        }
        if a.component_id.is_none() {
            a.component_id = f.interface_component;
        }
        apply_options(&mut a, f);
        if f.link_type.is_none() {
            if let Some(t) = a.packet_type {
                a.link_type = link_type_for(t, f.data);
            }
        }
        return (a, MetadataSource::Comment);
    }
    if f.interface_component.is_some() {
        // The converter fed with a source without metadata: keep what the options say.
        a.component_id = f.interface_component;
        apply_options(&mut a, f);
        return (a, MetadataSource::Options);
    }
    if f.packet_id.is_some() || f.verdict {
        // etl2pcapng: the interface is the component. Its epb_flags are not used:
        // etl2pcapng derives them from an NDIS keyword PktMon events never carry,
        // so every PktMon packet says "inbound".
        a.group_id = f.packet_id;
        a.component_id = f.interface_id.and_then(|i| u16::try_from(i).ok());
        a.drop = f.verdict.then_some(DropInfo {
            reason: None,
            reason_text: None,
            location: None,
        });
        a.process_id = f.process_thread.map(|(p, _)| p);
        a.thread_id = f.process_thread.map(|(_, t)| t);
        return (a, MetadataSource::Options);
    }
    (a, MetadataSource::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converter_comments_give_every_field() {
        let catalog = Catalog::builtin(Some(26200));
        let f = FrameFacts {
            comments: &[
                "Drop: PktGroupId 2814749767106857, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 101, Filter 0, DropReason INET: transport endpoint was not found , DropLocation 0xE0004500, OriginalSize 52, LoggedSize 52 ",
                "DropReasonCode 1204",
            ],
            packet_id: Some(2814749767106857),
            verdict: true,
            data: &[0x45, 0, 0, 52],
            ..Default::default()
        };
        let (a, src) = appearance_from_frame(&f, &catalog);
        assert_eq!(src, MetadataSource::Comment);
        assert_eq!(
            (a.direction, a.packet_type, a.component_id),
            (Some(3), Some(3), Some(101))
        );
        let d = a.drop.unwrap();
        assert_eq!((d.reason, d.location), (Some(1204), Some(0xE000_4500)));
        assert_eq!(d.reason_text.as_deref(), Some("INET: transport endpoint was not found"));
        assert_eq!(a.link_type, LinkType::RawIp);
        assert_eq!(a.original_size, 52);
    }

    #[test]
    fn etl2pcapng_frames_use_the_interface_as_component() {
        let catalog = Catalog::builtin(None);
        let f = FrameFacts {
            packet_id: Some(77),
            verdict: true,
            interface_id: Some(3),
            link_type: Some(LinkType::RawIp),
            ..Default::default()
        };
        let (a, src) = appearance_from_frame(&f, &catalog);
        assert_eq!(src, MetadataSource::Options);
        assert_eq!((a.group_id, a.component_id), (Some(77), Some(3)));
        assert!(a.is_drop());
        let (_, src) = appearance_from_frame(&FrameFacts::default(), &catalog);
        assert_eq!(src, MetadataSource::None);
    }
}
