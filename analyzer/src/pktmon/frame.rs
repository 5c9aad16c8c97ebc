//! PktMon metadata of one pcapng packet block, whoever wrote it: this
//! project's converter (comment with the etl2txt line, `DropReasonCode`
//! comment, packet id, verdict), microsoft/etl2pcapng (interface per
//! component, packet id = PktGroupId, verdict on drops), or any tool that put
//! PktMon lines in packet comments. Used by the pcapng reader and by the
//! Wireshark plugin, so both read a frame alike.

use crate::model::*;
use crate::pktmon::catalog::{Catalog, MAP_DIRECTION, MAP_DROP_REASON, MAP_PACKET_TYPE};
use crate::pktmon::events::link_type_for;
use crate::pktmon::text::{parse_packet_message, parse_prefix, PacketLine};

/// What a packet block carries that can hold PktMon metadata.
#[derive(Debug, Clone, Default)]
pub struct FrameFacts<'a> {
    /// 0-based index of the frame in the file.
    pub index: u64,
    pub time: FileTime,
    pub link_type: Option<LinkType>,
    pub data: &'a [u8],
    pub original_len: u32,
    pub comments: Vec<&'a str>,
    /// epb_packetid.
    pub packet_id: Option<u64>,
    /// An epb_verdict is present (etl2pcapng and the converter write one on drops).
    pub verdict: bool,
    /// epb_flags.
    pub flags: Option<u32>,
    pub interface_id: Option<u32>,
}

/// Where the metadata of a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataSource {
    /// A PktMon line in a packet comment (converter output or comment-only files).
    Comment,
    /// Only a packet id and/or verdict (etl2pcapng output): the component is the interface.
    PacketId,
    /// Nothing: a plain pcapng/pcap frame.
    None,
}

/// The comment prefix of the numeric drop reason the converter adds.
pub const DROP_REASON_CODE_PREFIX: &str = "DropReasonCode ";

/// Finds the PktMon line among a frame's comments (with or without the etl2txt prefix).
pub fn find_packet_line(comments: &[&str]) -> Option<PacketLine> {
    comments.iter().find_map(|c| {
        let c = c.trim_start();
        let message = parse_prefix(c).map(|p| p.message).unwrap_or(c);
        parse_packet_message(message)
    })
}

/// The numeric drop reason of a `DropReasonCode <n>` comment.
pub fn find_drop_reason_code(comments: &[&str]) -> Option<u32> {
    comments.iter().find_map(|c| c.trim().strip_prefix(DROP_REASON_CODE_PREFIX)?.trim().parse().ok())
}

/// The model's appearance of a frame, with what its metadata came from.
pub fn appearance_from_frame(f: &FrameFacts<'_>, catalog: &Catalog) -> (Appearance, MetadataSource) {
    let mut a = Appearance {
        index: f.index,
        time: f.time,
        cpu: None,
        process_id: None,
        thread_id: None,
        group_id: None,
        pkt_number: None,
        appearance: None,
        direction: None,
        packet_type: None,
        component_id: None,
        edge_id: None,
        filter_id: None,
        drop: None,
        original_size: f.original_len.max(f.data.len() as u32),
        logged_size: f.data.len() as u32,
        link_type: f.link_type.unwrap_or(LinkType::Other),
        payload: f.data.to_vec(),
    };
    if let Some(line) = find_packet_line(&f.comments) {
        let code = |map: &str, text: &Option<String>| -> Option<u32> {
            let t = text.as_deref()?;
            catalog.code_for_text(map, t).or_else(|| t.trim().parse().ok())
        };
        a.group_id = line.group_id.or(f.packet_id);
        a.pkt_number = line.pkt_number;
        a.appearance = line.appearance;
        a.direction = code(MAP_DIRECTION, &line.direction).map(|c| c as u16);
        a.packet_type = code(MAP_PACKET_TYPE, &line.packet_type).map(|c| c as u16);
        a.component_id = line.component_id;
        a.edge_id = line.edge_id;
        a.filter_id = line.filter_id;
        if let Some(o) = line.original_size {
            a.original_size = o;
        }
        if line.is_drop || f.verdict {
            let reason = find_drop_reason_code(&f.comments).or_else(|| code(MAP_DROP_REASON, &line.drop_reason));
            a.drop = Some(DropInfo {
                reason,
                reason_text: line.drop_reason.clone(),
                location: line.drop_location,
            });
        }
        if f.link_type.is_none() {
            if let Some(t) = a.packet_type {
                a.link_type = link_type_for(t, &a.payload);
            }
        }
        return (a, MetadataSource::Comment);
    }
    if f.packet_id.is_some() || f.verdict {
        a.group_id = f.packet_id;
        a.component_id = f.interface_id.and_then(|i| u16::try_from(i).ok());
        if f.verdict {
            a.drop = Some(DropInfo {
                reason: None,
                reason_text: None,
                location: None,
            });
        }
        return (a, MetadataSource::PacketId);
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
            comments: vec![
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
        assert_eq!((a.direction, a.packet_type, a.component_id), (Some(3), Some(3), Some(101)));
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
        assert_eq!(src, MetadataSource::PacketId);
        assert_eq!((a.group_id, a.component_id), (Some(77), Some(3)));
        assert!(a.is_drop());
        let (_, src) = appearance_from_frame(&FrameFacts::default(), &catalog);
        assert_eq!(src, MetadataSource::None);
    }
}
