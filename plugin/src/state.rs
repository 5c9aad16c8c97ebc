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

/// Where a frame sits on its packet's path: all the plugin keeps per frame
/// (its other fields are read again from the frame when it is revisited), so
/// a capture of millions of frames costs tens of megabytes, not gigabytes.
#[derive(Debug, Clone, Copy)]
struct FramePath {
    /// Index into `CaptureState::packets`; [`NO_PACKET`] for a frame without metadata.
    packet: u32,
    /// 0-based position on the path.
    hop: u32,
    /// Neighbouring frames on the path (0: none).
    prev: u32,
    next: u32,
    time: FileTime,
}

const NO_PACKET: u32 = u32::MAX;

/// A packet's path as a list threaded through `FramePath::prev/next`.
#[derive(Debug, Clone, Copy)]
struct PacketPath {
    first: u32,
    last: u32,
    count: u32,
    /// The frame where it was dropped (0: not dropped).
    dropped_in: u32,
    first_time: FileTime,
}

/// Per-capture state; reset when a new file is opened.
#[derive(Debug, Default)]
pub struct CaptureState {
    catalog: Catalog,
    grouper: Grouper,
    /// Frame number − 1 → its place on its path, for every frame seen.
    frames: Vec<FramePath>,
    packets: Vec<PacketPath>,
    metadata_frames: u64,
    first_plain_frame: Option<u32>,
}

fn ticks_to_ns(t: FileTime) -> u64 {
    (t.max(0) as u64).saturating_mul(100)
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
    /// always wanted); other frames just take their place on their path.
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
        let (path, appearance) = match self.frames.get(index) {
            Some(path) => (*path, None),
            None => {
                let (path, appearance) = self.first_pass(f, index, wanted);
                (path, appearance)
            }
        };
        if path.packet == NO_PACKET {
            return self.plain(f);
        }
        let dropped_here = self.packets[path.packet as usize].dropped_in == f.number;
        if !wanted && !dropped_here {
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

    /// Reads a frame met for the first time and places it on its packet's
    /// path (frames come in order on the first pass; a gap is filled with
    /// frames without metadata).
    fn first_pass(&mut self, f: &FrameInput<'_>, index: usize, wanted: bool) -> (FramePath, Option<Appearance>) {
        let plain = FramePath {
            packet: NO_PACKET,
            hop: 0,
            prev: 0,
            next: 0,
            time: f.time,
        };
        while self.frames.len() < index {
            self.frames.push(plain);
        }
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
                    let path = self.place(f.number, f.time, &key);
                    return (path, None);
                }
            }
        }
        let (a, source) = metadata_from_frame(&Self::facts(f), &self.catalog);
        if source == MetadataSource::None {
            self.frames.push(plain);
            return (plain, None);
        }
        let path = self.place(f.number, a.time, &HopKey::with_payload(&a, f.data));
        (path, Some(a))
    }

    /// Puts a frame with metadata on its packet's path.
    fn place(&mut self, number: u32, time: FileTime, key: &HopKey) -> FramePath {
        let (p, _) = self.grouper.assign(key);
        let Some(packet) = u32::try_from(p).ok().filter(|&p| p != NO_PACKET) else {
            // More packets than frame numbers can name: the frame stays off any path.
            let plain = FramePath {
                packet: NO_PACKET,
                hop: 0,
                prev: 0,
                next: 0,
                time,
            };
            self.frames.push(plain);
            return plain;
        };
        self.metadata_frames += 1;
        if packet as usize == self.packets.len() {
            self.packets.push(PacketPath {
                first: number,
                last: 0,
                count: 0,
                dropped_in: 0,
                first_time: time,
            });
        }
        let pp = &mut self.packets[packet as usize];
        let path = FramePath {
            packet,
            hop: pp.count,
            prev: pp.last,
            next: 0,
            time,
        };
        if let Some(prev) = pp.last.checked_sub(1).and_then(|i| self.frames.get_mut(i as usize)) {
            prev.next = number;
        }
        pp.last = number;
        pp.count += 1;
        if key.is_drop {
            pp.dropped_in = number;
        }
        self.frames.push(path);
        path
    }

    fn fields_of(&self, f: &FrameInput<'_>, r: &Appearance, path: &FramePath) -> Dissection {
        let mut d = Dissection::default();
        let v = &mut d.fields;
        let text = |t: Option<&str>, code: Option<u16>| -> Option<String> {
            match (t, code) {
                (Some(t), _) => Some(t.trim().to_string()),
                (None, Some(c)) => Some(c.to_string()),
                _ => None,
            }
        };
        if let Some(g) = r.group_id {
            v.push((Field::GroupId, Value::Uint64(g)));
        }
        if let Some(n) = r.pkt_number {
            v.push((Field::PktNumber, Value::Uint(n.into())));
        }
        if let Some(n) = r.appearance {
            v.push((Field::Appearance, Value::Uint(n.into())));
        }
        let direction = text(r.direction.and_then(|c| self.catalog.direction(c)), r.direction);
        if let Some(s) = &direction {
            v.push((Field::Direction, Value::Str(s.clone())));
        }
        if let Some(s) = text(r.packet_type.and_then(|c| self.catalog.packet_type(c)), r.packet_type) {
            v.push((Field::PacketType, Value::Str(s)));
        }
        if let Some(c) = r.component_id {
            v.push((Field::ComponentId, Value::Uint(c.into())));
        }
        let component_name = f
            .interface_name
            .filter(|s| !s.is_empty() && !s.starts_with("component "))
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
        if let Some(e) = r.filter_id {
            v.push((Field::FilterId, Value::Uint(e.into())));
        }
        v.push((Field::OriginalSize, Value::Uint(r.original_size)));
        v.push((Field::LoggedSize, Value::Uint(r.logged_size)));
        // Present only when true, so that `pktmon.drop` selects the drops.
        if r.drop.is_some() {
            v.push((Field::Drop, Value::Bool(true)));
        }
        let component_label = match (&component_name, r.component_id) {
            (Some(n), _) => n.clone(),
            (None, Some(id)) => format!("component {id}"),
            (None, None) => "unknown component".to_string(),
        };
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
        // The packet's path.
        let pp = &self.packets[path.packet as usize];
        v.push((Field::FirstFrame, Value::Uint(pp.first)));
        if path.prev > 0 {
            v.push((Field::PrevFrame, Value::Uint(path.prev)));
            let prev_time = self.frames.get(path.prev as usize - 1).map_or(path.time, |x| x.time);
            v.push((
                Field::DeltaFromPrev,
                Value::DurationNs(ticks_to_ns(path.time - prev_time)),
            ));
        }
        if path.next > 0 {
            v.push((Field::NextFrame, Value::Uint(path.next)));
        }
        v.push((Field::LastFrame, Value::Uint(pp.last)));
        v.push((Field::AppearanceCount, Value::Uint(pp.count)));
        v.push((Field::Hop, Value::Uint(path.hop + 1)));
        v.push((
            Field::DeltaFromFirst,
            Value::DurationNs(ticks_to_ns(path.time - pp.first_time)),
        ));
        if pp.dropped_in > 0 {
            v.push((Field::DroppedInFrame, Value::Uint(pp.dropped_in)));
        }
        // Present only on later appearances, so that `!pktmon.duplicate` shows each packet once.
        if path.hop > 0 {
            v.push((Field::Duplicate, Value::Bool(true)));
        }
        d.summary = match (&direction, r.drop.is_some()) {
            (Some(dir), false) => format!(", {component_label}, {dir}, hop {} of {}", path.hop + 1, pp.count),
            (Some(dir), true) => format!(", {component_label}, {dir}, DROPPED"),
            (None, false) => format!(", {component_label}, hop {} of {}", path.hop + 1, pp.count),
            (None, true) => format!(", {component_label}, DROPPED"),
        };
        d
    }
}

/// Drops per reason × component, as `tshark -z pktmon,drops` prints them.
#[derive(Debug, Default)]
pub struct DropStats {
    counts: std::collections::BTreeMap<DropKey, u64>,
}

impl DropStats {
    pub fn add(&mut self, key: DropKey) {
        *self.counts.entry(key).or_default() += 1;
    }

    pub fn reset(&mut self) {
        self.counts.clear();
    }

    pub fn render(&self) -> String {
        let total: u64 = self.counts.values().sum();
        let mut rows: Vec<(&DropKey, &u64)> = self.counts.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let rw = rows
            .iter()
            .map(|(k, _)| k.reason.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let cw = rows
            .iter()
            .map(|(k, _)| k.component.chars().count())
            .max()
            .unwrap_or(0)
            .max(9);
        let mut out = String::new();
        out.push_str("\n===================================================================\n");
        out.push_str("PktMon drops per reason and component\n");
        out.push_str(&format!("{:<rw$}  {:<cw$}  {:>7}\n", "Reason", "Component", "Count"));
        for (k, n) in rows {
            out.push_str(&format!("{:<rw$}  {:<cw$}  {:>7}\n", k.reason, k.component, n));
        }
        out.push_str(&format!("{:<rw$}  {:<cw$}  {:>7}\n", "Total", "", total));
        out.push_str("===================================================================\n");
        out
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

    #[test]
    fn stats_table_counts_per_reason_and_component() {
        let mut st = DropStats::default();
        for _ in 0..2 {
            st.add(DropKey {
                reason: "Arbitration unhandled".into(),
                component: "tcpip.sys".into(),
            });
        }
        let t = st.render();
        assert!(t.contains("Arbitration unhandled  tcpip.sys        2"), "{t}");
        assert!(t.contains("Total"));
    }
}
