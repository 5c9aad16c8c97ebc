//! The plugin's fields: one table, registered once, `pktmon.*` abbreviations
//! (Wireshark's README.dissector conventions). Safe data only; the FFI layer
//! turns it into `hf_register_info`.

/// Field types the plugin uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    U16,
    U32,
    U32Hex,
    U64,
    Bool,
    Str,
    FrameNum,
    RelativeTime,
}

/// One registered field.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub id: Field,
    pub name: &'static str,
    pub abbrev: &'static str,
    pub kind: FieldType,
    pub blurb: &'static str,
}

/// Names of the fields, indexing [`FIELDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    GroupId,
    PktNumber,
    Appearance,
    Direction,
    PacketType,
    ComponentId,
    ComponentName,
    ComponentDescription,
    EdgeId,
    FilterId,
    OriginalSize,
    LoggedSize,
    Drop,
    DropReason,
    DropReasonCode,
    DropLocation,
    DropLocationName,
    DropCategory,
    FirstFrame,
    PrevFrame,
    NextFrame,
    LastFrame,
    AppearanceCount,
    Hop,
    DeltaFromFirst,
    DeltaFromPrev,
    DroppedInFrame,
    Duplicate,
}

macro_rules! f {
    ($id:ident, $name:expr, $abbrev:expr, $kind:ident, $blurb:expr) => {
        FieldDef {
            id: Field::$id,
            name: $name,
            abbrev: concat!("pktmon.", $abbrev),
            kind: FieldType::$kind,
            blurb: $blurb,
        }
    };
}

/// Every field, in registration order.
pub const FIELDS: [FieldDef; 28] = [
    f!(
        GroupId,
        "PktGroupId",
        "group_id",
        U64,
        "PktMon's packet group id (top 16 bits: the CPU; low 48: a per-CPU counter)"
    ),
    f!(
        PktNumber,
        "PktNumber",
        "pkt_number",
        U16,
        "Index of the packet within its NET_BUFFER_LIST group"
    ),
    f!(
        Appearance,
        "Appearance number (as logged)",
        "appearance",
        U16,
        "PktMon's Appearance counter as logged (0 on Windows 11 24H2 and later; the position on the path is pktmon.hop)"
    ),
    f!(
        ComponentId,
        "Component id",
        "component_id",
        U16,
        "PktMon component (driver instance) that logged the packet"
    ),
    f!(
        ComponentName,
        "Component name",
        "component_name",
        Str,
        "Driver of the component, e.g. tcpip.sys"
    ),
    f!(
        ComponentDescription,
        "Component description",
        "component_description",
        Str,
        "Description of the component, e.g. TCP/IPv4 - L3/L4"
    ),
    f!(
        EdgeId,
        "Edge id",
        "edge_id",
        U16,
        "Edge of the component the packet crossed (per component: Upper/Lower)"
    ),
    f!(
        Direction,
        "Direction",
        "direction",
        Str,
        "Direction tag: Rx/Tx at a NIC, In/Out at a component edge, Ingress/Egress at a vSwitch"
    ),
    f!(
        PacketType,
        "Packet type",
        "packet_type",
        Str,
        "Packet type as PktMon logged it (Ethernet, WiFi, IP, HTTP)"
    ),
    f!(
        FilterId,
        "Filter id",
        "filter_id",
        U16,
        "PktMon filter that matched (0: none)"
    ),
    f!(
        OriginalSize,
        "Original size",
        "original_size",
        U32,
        "Size of the packet on the wire"
    ),
    f!(
        LoggedSize,
        "Logged size",
        "logged_size",
        U32,
        "Bytes PktMon logged (pktmon start --pkt-size)"
    ),
    f!(
        Hop,
        "Position on path",
        "hop",
        U32,
        "Position of this appearance on the packet's path (1 = first)"
    ),
    f!(
        AppearanceCount,
        "Appearances on path",
        "appearance_count",
        U32,
        concat!(
            "How many times this packet was logged along its path (records a read filter discarded included).",
            " Frames later in the file are known only with two passes (tshark -2, or the GUI)."
        )
    ),
    f!(
        Duplicate,
        "Not the first appearance",
        "duplicate",
        Bool,
        "Present on every appearance but the first, so !pktmon.duplicate shows each packet once"
    ),
    f!(
        Drop,
        "Dropped here",
        "drop",
        Bool,
        "PktMon reported this packet dropped here (present on drops only)"
    ),
    f!(
        DropReason,
        "Drop reason",
        "drop_reason",
        Str,
        "Why the component dropped the packet (text as the capture has it)"
    ),
    f!(
        DropReasonCode,
        "Drop reason code",
        "drop_reason_code",
        U32,
        "PKTMON_DROP_REASON number, where the file carries it"
    ),
    f!(
        DropLocation,
        "Drop location",
        "drop_location",
        U32Hex,
        "PKTMON_DROP_LOCATION: the place in the driver that dropped it"
    ),
    f!(
        DropLocationName,
        "Drop location name",
        "drop_location_name",
        Str,
        "Symbolic name of the drop location"
    ),
    f!(
        DropCategory,
        "Drop category",
        "drop_category",
        Str,
        "policy, resources, address_resolution, no_route, invalid_packet, unreachable, session_loss, mtu or other"
    ),
    f!(
        DroppedInFrame,
        "Path ends in a drop in frame",
        "dropped_in_frame",
        FrameNum,
        concat!(
            "The drop that ends this packet's path: the frame itself on a drop, else the packet's first drop.",
            " Frames later in the file are known only with two passes (tshark -2, or the GUI)."
        )
    ),
    f!(
        FirstFrame,
        "First appearance in frame",
        "first_frame",
        FrameNum,
        "Frame of this packet's first appearance"
    ),
    f!(
        PrevFrame,
        "Previous appearance in frame",
        "prev_frame",
        FrameNum,
        "Frame of this packet's previous appearance on its path"
    ),
    f!(
        NextFrame,
        "Next appearance in frame",
        "next_frame",
        FrameNum,
        concat!(
            "Frame of this packet's next appearance on its path.",
            " Frames later in the file are known only with two passes (tshark -2, or the GUI)."
        )
    ),
    f!(
        LastFrame,
        "Last appearance in frame",
        "last_frame",
        FrameNum,
        concat!(
            "Frame of this packet's last appearance.",
            " Frames later in the file are known only with two passes (tshark -2, or the GUI)."
        )
    ),
    f!(
        DeltaFromPrev,
        "Time since previous appearance",
        "delta_from_prev",
        RelativeTime,
        "Per-hop latency: time from the previous appearance"
    ),
    f!(
        DeltaFromFirst,
        "Time since first appearance",
        "delta_from_first",
        RelativeTime,
        "Latency from the packet's first appearance to this one"
    ),
];

/// The field definition of `id`.
pub fn def(id: Field) -> &'static FieldDef {
    FIELDS.iter().find(|f| f.id == id).expect("every Field has a FieldDef")
}

/// Index of `id` in [`FIELDS`] (also its slot in the FFI id table).
pub fn index(id: Field) -> usize {
    FIELDS
        .iter()
        .position(|f| f.id == id)
        .expect("every Field has a FieldDef")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_are_unique_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for f in FIELDS {
            assert!(f.abbrev.starts_with("pktmon."), "{}", f.abbrev);
            assert!(seen.insert(f.abbrev), "duplicate {}", f.abbrev);
            assert_eq!(def(f.id).abbrev, f.abbrev);
        }
    }
}
