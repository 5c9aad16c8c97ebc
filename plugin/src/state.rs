//! What the dissector knows across frames, and the field values of each
//! frame. Safe Rust only: the FFI layer hands in plain data and gets plain
//! data back.
//!
//! Metadata is read with the analyzer's own frame reader and packets are
//! grouped with its [`Grouper`], so the plugin and `pktmon-analyzer` agree on
//! what a packet and its path are. Frames arrive in order on the first pass;
//! forward references (next and last appearance, count) are complete only
//! when frames are revisited (tshark -2, or the GUI).

use pktmon::model::{Appearance, FileTime, LinkType};
use pktmon::packets::{Grouper, HopKey};
use pktmon::pktmon::catalog::{drop_category, drop_location_name, Catalog};
use pktmon::pktmon::frame::{metadata_from_frame, packet_ids_from_frame, FrameFacts, MetadataSource};

use crate::fields::Field;

/// One frame as the FFI layer reads it.
#[derive(Debug, Clone, Default)]
pub struct FrameInput<'a> {
    pub number: u32,
    pub visited: bool,
    /// Where the record starts in the file (-1: unknown). Two records that
    /// get the same frame number are told apart by it: on the first pass a
    /// read filter discards a record and the next one takes its number.
    pub offset: i64,
    pub interface_id: Option<u32>,
    pub interface_name: Option<&'a str>,
    pub interface_description: Option<&'a str>,
    pub time: FileTime,
    pub link_type: Option<LinkType>,
    pub data: &'a [u8],
    pub reported_len: u32,
    pub comments: Vec<&'a str>,
    pub packet_id: Option<u64>,
    /// The frame has an epb_verdict that says it was dropped.
    pub verdict: bool,
    pub flags: Option<u32>,
}

/// A field value to add to the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Uint(u32),
    Uint64(u64),
    Bool(bool),
    Str(String),
    /// A relative time in nanoseconds.
    DurationNs(u64),
}

/// Everything to add for one frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dissection {
    /// In tree order: identity, path, drop, links, timing.
    pub fields: Vec<(Field, Value)>,
    /// Appended to the protocol item's text.
    pub summary: String,
    /// Warning expert info ("Dropped by <component>: <reason>").
    pub drop_expert: Option<String>,
    /// Appended to the Info column.
    pub info: Option<String>,
    /// A one-off note that the file has no PktMon metadata.
    pub no_metadata_note: Option<String>,
    /// The drop, for the statistics tap.
    pub drop: Option<DropKey>,
}

/// A drop, for the statistics tap.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DropKey {
    pub reason: String,
    pub component: String,
}

/// One record (PktMon event) of the file, in the order the first pass met
/// them, and where it sits on its packet's path. This is all the plugin keeps
/// per record (its other fields are read again from the frame when it is
/// revisited), so a capture of millions of frames costs tens of megabytes.
///
/// Records, not frame numbers, make the paths: a record a read filter
/// discards keeps its place on its packet's path (so hop and count are the
/// same with or without the filter) but has no frame to link to.
#[derive(Debug, Clone, Copy)]
struct RecordPath {
    /// Index into `CaptureState::packets`; [`NO_PACKET`] for a record without metadata.
    packet: u32,
    /// 0-based position on the path.
    hop: u32,
    /// Neighbouring records on the path (record index + 1; 0: none).
    prev: u32,
    next: u32,
    time: FileTime,
    /// Where the record starts in the file.
    offset: i64,
    /// Its frame number (0: a read filter discarded it).
    frame: u32,
    /// The record is a drop event.
    drop: bool,
}

const NO_PACKET: u32 = u32::MAX;

/// A packet's path as a list threaded through `RecordPath::prev/next`
/// (record index + 1).
#[derive(Debug, Clone, Copy)]
struct PacketPath {
    first: u32,
    last: u32,
    count: u32,
    /// The packet's first drop record (0: not dropped): its path ends there.
    first_drop: u32,
    first_time: FileTime,
}

/// Per-capture state; reset when a new file is opened.
#[derive(Debug, Default)]
pub struct CaptureState {
    catalog: Catalog,
    grouper: Grouper,
    /// Every record met, in first-pass order.
    records: Vec<RecordPath>,
    /// Frame number − 1 → its record (index + 1; 0: none yet).
    frames: Vec<u32>,
    packets: Vec<PacketPath>,
    metadata_frames: u64,
    first_plain_frame: Option<u32>,
}

/// A time difference in nanoseconds, 0 when negative, saturating when huge
/// (a hostile if_tsoffset can put times anywhere).
fn delta_ns(later: FileTime, earlier: FileTime) -> u64 {
    (later.saturating_sub(earlier).max(0) as u64).saturating_mul(100)
}

impl CaptureState {
    pub fn new() -> CaptureState {
        CaptureState {
            catalog: Catalog::builtin(None),
            ..Default::default()
        }
    }

    /// The fields of one frame. `None` for frames without PktMon metadata
    /// (except the first, which carries the note that the file has none).
    ///
    /// `wanted` says whether Wireshark shows or filters on any PktMon field
    /// (a visible tree, a display filter, `-T fields`…). When it does not, only
    /// drops are dissected (their expert info, Info column and tap entry are
    /// always wanted, on every pass); other frames just take their place on
    /// their path.
    ///
    /// `names` gives the frame's interface name and description, looked up
    /// only for frames whose fields are built.
    pub fn dissect<'a>(
        &mut self,
        f: &FrameInput<'a>,
        wanted: bool,
        names: impl FnOnce() -> (Option<&'a str>, Option<&'a str>),
    ) -> Option<Dissection> {
        let index = f.number.checked_sub(1)? as usize;
        let (record, appearance) = match self.record_of(index, f.offset) {
            Some(r) => (r, None),
            None => self.first_pass(f, index, wanted)?,
        };
        let path = self.records[record];
        if path.packet == NO_PACKET {
            return self.plain(f);
        }
        if !wanted && !path.drop {
            return None;
        }
        let a = match appearance {
            Some(a) => a,
            None => metadata_from_frame(&Self::facts(f), &self.catalog).0,
        };
        let (interface_name, interface_description) = names();
        let f = FrameInput {
            interface_name,
            interface_description,
            ..f.clone()
        };
        Some(self.fields_of(&f, &a, &path))
    }

    /// The record already met as frame `index` + 1, if this is the same
    /// record (same file offset): a revisit.
    fn record_of(&self, index: usize, offset: i64) -> Option<usize> {
        let r = (*self.frames.get(index)?).checked_sub(1)? as usize;
        (self.records.get(r)?.offset == offset).then_some(r)
    }

    fn plain(&mut self, f: &FrameInput<'_>) -> Option<Dissection> {
        if self.metadata_frames > 0 {
            return None;
        }
        let first = *self.first_plain_frame.get_or_insert(f.number);
        (first == f.number).then(|| Dissection {
            no_metadata_note: Some(
                "This file carries no PktMon metadata (no component, direction or drop reason; pktmon etl2pcap \
                 output looks like this). Convert the original .etl with pktmon-analyzer convert to see them."
                    .to_string(),
            ),
            ..Default::default()
        })
    }

    fn facts<'a>(f: &'a FrameInput<'_>) -> FrameFacts<'a> {
        FrameFacts {
            index: f.number.saturating_sub(1) as u64,
            time: f.time,
            link_type: f.link_type,
            data: f.data,
            original_len: f.reported_len,
            comments: &f.comments,
            packet_id: f.packet_id,
            verdict: f.verdict,
            flags: f.flags,
            process_thread: None,
            interface_id: f.interface_id,
            interface_component: None,
        }
    }

    /// Reads a record met for the first time and places it on its packet's
    /// path. Frame numbers come in order on the first pass; a number met again
    /// with another record means a read filter discarded the record that had
    /// it, which keeps its place on its path but loses its frame.
    fn first_pass(&mut self, f: &FrameInput<'_>, index: usize, wanted: bool) -> Option<(usize, Option<Appearance>)> {
        if self.records.len() >= NO_PACKET as usize - 1 {
            return None; // more records than the ids can name
        }
        if let Some(old) = self.frames.get(index).and_then(|r| r.checked_sub(1)) {
            if let Some(old) = self.records.get_mut(old as usize) {
                old.frame = 0;
            }
        }
        if self.frames.len() <= index {
            self.frames.resize(index + 1, 0);
        }
        let record = self.records.len();
        self.frames[index] = record as u32 + 1;
        let mut r = RecordPath {
            packet: NO_PACKET,
            hop: 0,
            prev: 0,
            next: 0,
            time: f.time,
            offset: f.offset,
            frame: f.number,
            drop: false,
        };
        // Most frames are only placed on their paths: when the fields are not
        // shown, their ids are all that is read (drops are read whole).
        if !wanted {
            let facts = Self::facts(f);
            if let (Some(ids), Some(link)) = (packet_ids_from_frame(&facts), f.link_type) {
                if !ids.is_drop {
                    let key = HopKey::from_ids(
                        f.time,
                        Some(ids.group_id),
                        Some(ids.pkt_number),
                        Some(ids.appearance),
                        link,
                        f.data,
                    );
                    self.place(&mut r, record, &key);
                    self.records.push(r);
                    return Some((record, None));
                }
            }
        }
        let (a, source) = metadata_from_frame(&Self::facts(f), &self.catalog);
        if source == MetadataSource::None {
            self.records.push(r);
            return Some((record, None));
        }
        r.time = a.time;
        self.place(&mut r, record, &HopKey::with_payload(&a, f.data));
        self.records.push(r);
        Some((record, Some(a)))
    }

    /// Puts record `record` (with metadata) on its packet's path.
    fn place(&mut self, r: &mut RecordPath, record: usize, key: &HopKey) {
        let (p, _) = self.grouper.assign(key);
        let Some(packet) = u32::try_from(p).ok().filter(|&p| p != NO_PACKET) else {
            return; // more packets than the ids can name: the record stays off any path
        };
        self.metadata_frames += 1;
        let id = record as u32 + 1;
        if packet as usize >= self.packets.len() {
            self.packets.resize(
                packet as usize + 1,
                PacketPath {
                    first: 0,
                    last: 0,
                    count: 0,
                    first_drop: 0,
                    first_time: r.time,
                },
            );
            self.packets[packet as usize] = PacketPath {
                first: id,
                last: 0,
                count: 0,
                first_drop: 0,
                first_time: r.time,
            };
        }
        let pp = &mut self.packets[packet as usize];
        r.packet = packet;
        r.hop = pp.count;
        r.prev = pp.last;
        r.drop = key.is_drop;
        if let Some(prev) = pp.last.checked_sub(1).and_then(|i| self.records.get_mut(i as usize)) {
            prev.next = id;
        }
        pp.last = id;
        pp.count = pp.count.saturating_add(1);
        if key.is_drop && pp.first_drop == 0 {
            pp.first_drop = id;
        }
    }

    /// The frame number of a record (record index + 1), if it has one.
    fn frame_of(&self, id: u32) -> Option<u32> {
        let r = self.records.get(id.checked_sub(1)? as usize)?;
        (r.frame > 0).then_some(r.frame)
    }

    fn time_of(&self, id: u32) -> Option<FileTime> {
        Some(self.records.get(id.checked_sub(1)? as usize)?.time)
    }

    fn fields_of(&self, f: &FrameInput<'_>, r: &Appearance, path: &RecordPath) -> Dissection {
        let mut d = Dissection::default();
        let v = &mut d.fields;
        let text = |t: Option<&str>, code: Option<u16>| -> Option<String> {
            match (t, code) {
                (Some(t), _) => Some(t.trim().to_string()),
                (None, Some(c)) => Some(c.to_string()),
                _ => None,
            }
        };
        let pp = &self.packets[path.packet as usize];

        // Identity: what PktMon logged about this event.
        if let Some(g) = r.group_id {
            v.push((Field::GroupId, Value::Uint64(g)));
        }
        if let Some(n) = r.pkt_number {
            v.push((Field::PktNumber, Value::Uint(n.into())));
        }
        if let Some(n) = r.appearance {
            v.push((Field::Appearance, Value::Uint(n.into())));
        }
        if let Some(c) = r.component_id {
            v.push((Field::ComponentId, Value::Uint(c.into())));
        }
        let component_name = f
            .interface_name
            // Wireshark names an interface without if_name "unknown".
            .filter(|s| !s.is_empty() && *s != "unknown" && !s.starts_with("component "))
            .map(str::to_string);
        if let Some(n) = &component_name {
            v.push((Field::ComponentName, Value::Str(n.clone())));
        }
        if let Some(desc) = f.interface_description.filter(|s| !s.is_empty()) {
            v.push((Field::ComponentDescription, Value::Str(desc.to_string())));
        }
        if let Some(e) = r.edge_id {
            v.push((Field::EdgeId, Value::Uint(e.into())));
        }
        let direction = text(r.direction.and_then(|c| self.catalog.direction(c)), r.direction);
        if let Some(s) = &direction {
            v.push((Field::Direction, Value::Str(s.clone())));
        }
        if let Some(s) = text(r.packet_type.and_then(|c| self.catalog.packet_type(c)), r.packet_type) {
            v.push((Field::PacketType, Value::Str(s)));
        }
        if let Some(e) = r.filter_id {
            v.push((Field::FilterId, Value::Uint(e.into())));
        }
        v.push((Field::OriginalSize, Value::Uint(r.original_size)));
        v.push((Field::LoggedSize, Value::Uint(r.logged_size)));

        // Path: where this appearance sits.
        v.push((Field::Hop, Value::Uint(path.hop.saturating_add(1))));
        v.push((Field::AppearanceCount, Value::Uint(pp.count)));
        // Present only on later appearances, so that `!pktmon.duplicate` shows each packet once.
        if path.hop > 0 {
            v.push((Field::Duplicate, Value::Bool(true)));
        }

        // Drop: why and where.
        let component_label = match (&component_name, r.component_id) {
            (Some(n), _) => n.clone(),
            (None, Some(id)) => format!("component {id}"),
            (None, None) => "unknown component".to_string(),
        };
        // Present only when true, so that `pktmon.drop` selects the drops.
        if r.drop.is_some() {
            v.push((Field::Drop, Value::Bool(true)));
        }
        if let Some(drop) = &r.drop {
            let reason_text = drop
                .reason_text
                .clone()
                .or_else(|| {
                    drop.reason
                        .and_then(|c| self.catalog.drop_reason(c))
                        .map(|t| t.trim().to_string())
                })
                .or_else(|| drop.reason.map(|c| c.to_string()));
            if let Some(t) = &reason_text {
                v.push((Field::DropReason, Value::Str(t.clone())));
            }
            if let Some(c) = drop.reason {
                v.push((Field::DropReasonCode, Value::Uint(c)));
            }
            if let Some(l) = drop.location {
                v.push((Field::DropLocation, Value::Uint(l)));
                if let Some(n) = drop_location_name(l) {
                    v.push((Field::DropLocationName, Value::Str(n.to_string())));
                }
            }
            let category = drop_category(drop.reason, reason_text.as_deref());
            v.push((Field::DropCategory, Value::Str(category.as_str().to_string())));
            let reason = reason_text.unwrap_or_else(|| "reason not recorded".to_string());
            d.drop_expert = Some(format!("Dropped by {component_label}: {reason}"));
            d.info = Some(format!(" [PktMon drop: {reason} @ {component_label}]"));
            d.drop = Some(DropKey {
                reason,
                component: component_label.clone(),
            });
        }
        // A drop event is its own drop; the others point at the drop that ends their path.
        let dropped_in = if path.drop {
            Some(path.frame)
        } else {
            self.frame_of(pp.first_drop)
        };
        if let Some(n) = dropped_in.filter(|&n| n > 0) {
            v.push((Field::DroppedInFrame, Value::Uint(n)));
        }

        // Links: the packet's other appearances (those a read filter kept).
        if let Some(n) = self.frame_of(pp.first) {
            v.push((Field::FirstFrame, Value::Uint(n)));
        }
        if let Some(n) = self.frame_of(path.prev) {
            v.push((Field::PrevFrame, Value::Uint(n)));
        }
        if let Some(n) = self.frame_of(path.next) {
            v.push((Field::NextFrame, Value::Uint(n)));
        }
        if let Some(n) = self.frame_of(pp.last) {
            v.push((Field::LastFrame, Value::Uint(n)));
        }

        // Timing.
        if let Some(prev_time) = self.time_of(path.prev) {
            v.push((Field::DeltaFromPrev, Value::DurationNs(delta_ns(path.time, prev_time))));
        }
        v.push((
            Field::DeltaFromFirst,
            Value::DurationNs(delta_ns(path.time, pp.first_time)),
        ));

        let position = format!("hop {} of {}", path.hop.saturating_add(1), pp.count);
        let state = if r.drop.is_some() {
            format!("DROPPED at {position}")
        } else {
            position
        };
        d.summary = match &direction {
            Some(dir) => format!(", {component_label}, {dir}, {state}"),
            None => format!(", {component_label}, {state}"),
        };
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame<'a>(number: u32, comment: &'a str, time: FileTime, data: &'a [u8]) -> FrameInput<'a> {
        FrameInput {
            number,
            time,
            link_type: Some(LinkType::Ethernet),
            data,
            reported_len: data.len() as u32,
            comments: vec![comment],
            interface_name: Some("netvsc.sys"),
            ..Default::default()
        }
    }

    fn value(d: &Dissection, f: Field) -> Option<&Value> {
        d.fields.iter().find(|(x, _)| *x == f).map(|(_, v)| v)
    }

    #[test]
    fn shared_id_paths_link_every_appearance() {
        let mut s = CaptureState::new();
        let data = [0u8; 60];
        let l1 = "PktGroupId 7, PktNumber 1, Appearance 1, Direction Rx , Type Ethernet , Component 59, Edge 1, Filter 1, OriginalSize 60, LoggedSize 60 ";
        let l2 = "PktGroupId 7, PktNumber 1, Appearance 2, Direction Rx , Type Ethernet , Component 61, Edge 2, Filter 1, OriginalSize 60, LoggedSize 60 ";
        let d1 = {
            let fr = frame(1, l1, 1000, &data);
            s.dissect(&fr, true, || (fr.interface_name, fr.interface_description))
        }
        .unwrap();
        let d2 = {
            let fr = frame(2, l2, 1034, &data);
            s.dissect(&fr, true, || (fr.interface_name, fr.interface_description))
        }
        .unwrap();
        assert_eq!(value(&d1, Field::Duplicate), None);
        assert_eq!(value(&d1, Field::NextFrame), None, "not known on the first pass");
        assert_eq!(value(&d2, Field::Duplicate), Some(&Value::Bool(true)));
        assert_eq!(value(&d2, Field::PrevFrame), Some(&Value::Uint(1)));
        assert_eq!(value(&d2, Field::DeltaFromFirst), Some(&Value::DurationNs(3400)));
        // Second pass: forward references are known.
        let mut again = frame(1, l1, 1000, &data);
        again.visited = true;
        let d1 = s
            .dissect(&again, true, || (again.interface_name, again.interface_description))
            .unwrap();
        assert_eq!(value(&d1, Field::NextFrame), Some(&Value::Uint(2)));
        assert_eq!(value(&d1, Field::LastFrame), Some(&Value::Uint(2)));
        assert_eq!(value(&d1, Field::AppearanceCount), Some(&Value::Uint(2)));
    }

    #[test]
    fn drops_get_expert_info_column_text_and_a_tap_entry() {
        let mut s = CaptureState::new();
        let data = [0x45u8; 40];
        let line = "Drop: PktGroupId 9, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 101, Filter 0, DropReason INET: transport endpoint was not found , DropLocation 0xE0004500, OriginalSize 40, LoggedSize 40 ";
        let mut f = frame(1, line, 5, &data);
        f.interface_name = Some("tcpip.sys");
        let d = s
            .dissect(&f, true, || (f.interface_name, f.interface_description))
            .unwrap();
        assert_eq!(
            d.drop_expert.as_deref(),
            Some("Dropped by tcpip.sys: INET: transport endpoint was not found")
        );
        assert_eq!(
            d.info.as_deref(),
            Some(" [PktMon drop: INET: transport endpoint was not found @ tcpip.sys]")
        );
        assert_eq!(value(&d, Field::DropReasonCode), Some(&Value::Uint(1204)));
        assert_eq!(value(&d, Field::DropCategory), Some(&Value::Str("unreachable".into())));
        assert_eq!(value(&d, Field::DroppedInFrame), Some(&Value::Uint(1)));
        assert_eq!(d.drop.unwrap().component, "tcpip.sys");
    }

    /// tshark without a tree, filter or column on PktMon: the first pass only
    /// places frames on their paths and dissects drops; a later pass that
    /// shows the fields reads them again and still knows the whole path.
    #[test]
    fn unwanted_frames_are_only_placed_until_their_fields_are_shown() {
        let mut s = CaptureState::new();
        let data = [0x45u8; 40];
        let flow = "PktGroupId 9, PktNumber 1, Appearance 1, Direction Rx , Type IP , Component 59, Edge 1, Filter 0, OriginalSize 40, LoggedSize 40 ";
        let drop = "Drop: PktGroupId 9, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 101, Filter 0, DropReason INET: transport endpoint was not found , DropLocation 0xE0004500, OriginalSize 40, LoggedSize 40 ";
        let f1 = frame(1, flow, 5, &data);
        let mut f2 = frame(2, drop, 9, &data);
        f2.interface_name = Some("tcpip.sys");
        let no_names = || -> (Option<&str>, Option<&str>) { panic!("names looked up for an unshown frame") };
        assert_eq!(s.dissect(&f1, false, no_names), None);
        let d2 = s.dissect(&f2, false, || (f2.interface_name, None)).unwrap();
        assert_eq!(
            d2.drop_expert.as_deref(),
            Some("Dropped by tcpip.sys: INET: transport endpoint was not found")
        );
        let mut again = f1.clone();
        again.visited = true;
        let d1 = s.dissect(&again, true, || (again.interface_name, None)).unwrap();
        assert_eq!(value(&d1, Field::NextFrame), Some(&Value::Uint(2)));
        assert_eq!(value(&d1, Field::DroppedInFrame), Some(&Value::Uint(2)));
        assert_eq!(value(&d1, Field::ComponentId), Some(&Value::Uint(59)));
        assert_eq!(value(&d1, Field::Direction), Some(&Value::Str("Rx".into())));
        assert_eq!(value(&d1, Field::ComponentName), Some(&Value::Str("netvsc.sys".into())));
    }

    #[test]
    fn plain_files_get_one_note() {
        let mut s = CaptureState::new();
        let f1 = FrameInput {
            number: 1,
            data: &[1, 2, 3],
            ..Default::default()
        };
        assert!(s
            .dissect(&f1, true, || (None, None))
            .unwrap()
            .no_metadata_note
            .is_some());
        let f2 = FrameInput {
            number: 2,
            data: &[1, 2, 3],
            ..Default::default()
        };
        assert!(s.dissect(&f2, true, || (None, None)).is_none());
    }

    fn line(group: u64, pkt: u16, appearance: u16, component: u16) -> String {
        format!(
            "PktGroupId {group}, PktNumber {pkt}, Appearance {appearance}, Direction Rx , Type IP , Component {component}, \
             Edge 1, Filter 0, OriginalSize 40, LoggedSize 40 "
        )
    }

    fn drop_line(group: u64, pkt: u16, appearance: u16, component: u16) -> String {
        format!(
            "Drop: PktGroupId {group}, PktNumber {pkt}, Appearance {appearance}, Direction Rx , Type IP , \
             Component {component}, Filter 0, DropReason INET: transport endpoint was not found , \
             DropLocation 0xE0004500, OriginalSize 40, LoggedSize 40 "
        )
    }

    fn run(s: &mut CaptureState, f: &FrameInput<'_>, wanted: bool) -> Option<Dissection> {
        s.dissect(f, wanted, || (f.interface_name, f.interface_description))
    }

    /// One multicast datagram dropped at three sockets: every drop event is
    /// marked on every pass, whether or not the fields are shown, and each
    /// drop names itself as where it was dropped.
    #[test]
    fn every_drop_event_of_a_packet_is_marked_on_every_pass() {
        let data = [0x45u8; 40];
        let lines = [
            line(5, 1, 1, 3),
            drop_line(5, 1, 2, 7),
            drop_line(5, 1, 3, 8),
            drop_line(5, 1, 4, 9),
        ];
        for wanted in [false, true] {
            let mut s = CaptureState::new();
            let frames: Vec<FrameInput<'_>> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut f = frame(i as u32 + 1, l, 10 + i as i64, &data);
                    f.offset = 100 * i as i64;
                    f
                })
                .collect();
            for pass in 0..2 {
                let mut drops = 0;
                for f in &frames {
                    let mut f = f.clone();
                    f.visited = pass == 1;
                    if let Some(d) = run(&mut s, &f, wanted) {
                        if d.drop_expert.is_some() {
                            drops += 1;
                            assert!(d.info.is_some() && d.drop.is_some());
                            assert_eq!(value(&d, Field::DroppedInFrame), Some(&Value::Uint(f.number)));
                        }
                    }
                }
                assert_eq!(drops, 3, "pass {pass}, wanted {wanted}");
            }
            let d = run(&mut s, &frames[0], true).unwrap();
            assert_eq!(
                value(&d, Field::DroppedInFrame),
                Some(&Value::Uint(2)),
                "the first drop ends the path"
            );
        }
    }

    /// tshark -R (and the window's read filter): a record the filter discards
    /// shares its frame number with the next record on the first pass. The
    /// next record is not a revisit; the discarded one keeps its place on the
    /// path (hop and count as without the filter) but is linked to by no one.
    #[test]
    fn a_record_discarded_by_a_read_filter_keeps_its_hop_but_loses_its_frame() {
        let data = [0x45u8; 40];
        let (a1, b1, a2, a3) = (
            line(1, 1, 1, 3),
            line(2, 1, 1, 3),
            line(1, 1, 2, 4),
            drop_line(1, 1, 3, 5),
        );
        let mut s = CaptureState::new();
        // Records at offsets 0, 100, 200, 300; the filter keeps a1 and a3.
        let mut rec = |number: u32, l: &str, offset: i64, wanted: bool| {
            let mut f = frame(number, l, 10 + offset, &data);
            f.offset = offset;
            run(&mut s, &f, wanted)
        };
        rec(1, &a1, 0, true);
        rec(2, &b1, 100, true); // discarded
        rec(2, &a2, 200, true); // discarded
        let d = rec(2, &a3, 300, true).unwrap();
        assert_eq!(value(&d, Field::Hop), Some(&Value::Uint(3)));
        assert_eq!(value(&d, Field::AppearanceCount), Some(&Value::Uint(3)));
        assert_eq!(
            value(&d, Field::PrevFrame),
            None,
            "its previous appearance was discarded"
        );
        assert_eq!(value(&d, Field::FirstFrame), Some(&Value::Uint(1)));
        assert_eq!(value(&d, Field::DeltaFromPrev), Some(&Value::DurationNs(10_000)));
        // Second pass: frame 2 is the drop (offset 300), frame 1 links to it only as where it was dropped.
        let d2 = rec(2, &a3, 300, false).unwrap();
        assert!(d2.drop_expert.is_some());
        let d1 = rec(1, &a1, 0, true).unwrap();
        assert_eq!(value(&d1, Field::NextFrame), None);
        assert_eq!(value(&d1, Field::LastFrame), Some(&Value::Uint(2)));
        assert_eq!(value(&d1, Field::DroppedInFrame), Some(&Value::Uint(2)));
        assert_eq!(value(&d1, Field::AppearanceCount), Some(&Value::Uint(3)));
    }

    #[test]
    fn hostile_times_saturate() {
        let data = [0x45u8; 40];
        let mut s = CaptureState::new();
        let (l1, l2) = (line(3, 1, 1, 3), line(3, 1, 2, 4));
        // A hop logged before the previous one (clocks of two CPUs): no negative latency.
        let mut f1 = frame(1, &l1, 1000, &data);
        f1.offset = 0;
        let mut f2 = frame(2, &l2, 900, &data);
        f2.offset = 50;
        run(&mut s, &f1, true);
        let d = run(&mut s, &f2, true).unwrap();
        assert_eq!(value(&d, Field::DeltaFromPrev), Some(&Value::DurationNs(0)));
        // Times anywhere in i64 (a hostile if_tsoffset): no overflow, no joined packets.
        let (l3, l4) = (line(4, 1, 1, 3), line(4, 1, 2, 4));
        let mut f3 = frame(3, &l3, i64::MAX, &data);
        f3.offset = 100;
        let mut f4 = frame(4, &l4, i64::MIN, &data);
        f4.offset = 150;
        run(&mut s, &f3, true);
        let d = run(&mut s, &f4, true).unwrap();
        assert_eq!(value(&d, Field::Hop), Some(&Value::Uint(1)));
        assert_eq!(delta_ns(i64::MAX, i64::MIN), u64::MAX);
        assert_eq!(delta_ns(i64::MIN, i64::MAX), 0);
    }

    #[test]
    fn tree_order_is_identity_path_drop_links_timing() {
        let data = [0x45u8; 40];
        let mut s = CaptureState::new();
        let (l1, l2) = (line(4, 1, 1, 3), drop_line(4, 1, 2, 4));
        let f1 = frame(1, &l1, 10, &data);
        let mut f2 = frame(2, &l2, 20, &data);
        f2.offset = 64;
        run(&mut s, &f1, true);
        let d = run(&mut s, &f2, true).unwrap();
        let order: Vec<Field> = d.fields.iter().map(|(f, _)| *f).collect();
        let pos = |f: Field| order.iter().position(|x| *x == f).unwrap();
        assert!(pos(Field::GroupId) < pos(Field::ComponentId));
        assert!(pos(Field::LoggedSize) < pos(Field::Hop));
        assert!(pos(Field::Hop) < pos(Field::AppearanceCount));
        assert!(pos(Field::AppearanceCount) < pos(Field::Drop));
        assert!(pos(Field::DroppedInFrame) < pos(Field::FirstFrame));
        assert!(pos(Field::LastFrame) < pos(Field::DeltaFromPrev));
        assert!(pos(Field::DeltaFromPrev) < pos(Field::DeltaFromFirst));
        assert!(d.summary.ends_with("DROPPED at hop 2 of 2"), "{}", d.summary);
    }
}
