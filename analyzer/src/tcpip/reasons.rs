//! The discard reasons Microsoft-Windows-TCPIP prints, and what each means in
//! the project's cause vocabulary — the one place that decides it.
//!
//! The numbers are the WFP enums, not PktMon's drop codes: network-layer
//! drops (event 1215) carry an `IP_DISCARD_REASON`, transport drops (1214) an
//! `INET_DISCARD_REASON` (`docs/pktmon-capture-formats-and-drop-reasons.md`
//! §5.3). PktMon renumbers both after their first entries, so the two tables
//! stand on their own and are never derived from PktMon's catalog. Their
//! categories agree with [`crate::pktmon::catalog::drop_category`] for the
//! PktMon code of the same meaning, so a drop seen in both sources lands on
//! the same cause.

use crate::diagnose::Locality;
use crate::pktmon::catalog::DropCategory;

/// Which table a reason number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropLayer {
    /// Network layer (IP), `IP_DISCARD_REASON`.
    Network,
    /// Transport layer (INET: TCP/UDP), `INET_DISCARD_REASON`.
    Transport,
}

impl DropLayer {
    pub fn as_str(self) -> &'static str {
        match self {
            DropLayer::Network => "network",
            DropLayer::Transport => "transport",
        }
    }
}

/// One discard reason: its enum name, the text tcpip.sys prints, and its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    pub code: u32,
    pub name: &'static str,
    pub text: &'static str,
    pub category: DropCategory,
}

const fn r(code: u32, name: &'static str, text: &'static str, category: DropCategory) -> Reason {
    Reason {
        code,
        name,
        text,
        category,
    }
}

use DropCategory::*;

/// `IP_DISCARD_REASON`. Texts are tcpip.sys 22000's display strings; the
/// entries it has no string for (13–15, 127, 131, 255, 291, 293) get their
/// enum name spelled out.
pub const IP_DISCARD_REASONS: &[Reason] = &[
    r(1, "BadSourceAddress", "Bad source address", InvalidPacket),
    r(2, "NotLocallyDestined", "Not locally destined", NoRoute),
    r(3, "ProtocolUnreachable", "Protocol unreachable", Unreachable),
    r(4, "PortUnreachable", "Port unreachable", Unreachable),
    r(5, "BadLength", "Bad length", InvalidPacket),
    r(6, "MalformedHeader", "Malformed Header", InvalidPacket),
    r(7, "NoRoute", "No route available", NoRoute),
    r(8, "BeyondScope", "Beyond scope", NoRoute),
    r(9, "InspectionDrop", "Inspection drop", Policy),
    r(10, "TooManyDecapsulations", "Too many decapsulations", InvalidPacket),
    r(11, "AdministrativelyProhibited", "Administratively prohibited", Policy),
    r(12, "BadChecksum", "Bad checksum", InvalidPacket),
    r(
        13,
        "FirstFragmentIncomplete",
        "First fragment incomplete",
        InvalidPacket,
    ),
    r(14, "HeaderNotContiguous", "Header not contiguous", InvalidPacket),
    r(15, "HeaderNotAligned", "Header not aligned", InvalidPacket),
    r(127, "ReceivePathMax", "Receive path max", Other),
    r(128, "HopLimitExceeded", "Hop limit exceeded", NoRoute),
    r(129, "AddressUnreachable", "Address unreachable", Unreachable),
    r(130, "RscPacket", "RSC packet", Other),
    r(131, "SourceViolation", "Source violation", Policy),
    r(255, "ForwardPathMax", "Forward path max", Other),
    r(256, "ArbitrationUnhandled", "Arbitration unhandled", Other),
    r(257, "InspectionAbsorb", "Inspection absorb", Policy),
    r(258, "DontFragmentMtuExceeded", "Fragment MTU exceeded", Mtu),
    r(259, "BufferLengthExceeded", "Buffer Length Exceeded", InvalidPacket),
    r(
        260,
        "AddressResolutionTimeout",
        "Address Resolution Timeout",
        AddressResolution,
    ),
    r(
        261,
        "AddressResolutionFailure",
        "Address Resolution Failure",
        AddressResolution,
    ),
    r(262, "IpsecFailure", "IPsec failure", Policy),
    r(
        263,
        "ExtensionHeadersFailure",
        "Extension Headers Failure",
        InvalidPacket,
    ),
    r(264, "AllocationFailure", "Allocation Failure", Resources),
    r(265, "IpsnpiClientDrop", "IPSNPI Client Drop", Other),
    r(266, "UnsupportedOffload", "Unsupported Offload", InvalidPacket),
    r(267, "RoutingFailure", "Routing Failure", NoRoute),
    r(268, "AncillaryDataFailure", "Ancillary Data Failure", InvalidPacket),
    r(269, "RawDataFailure", "Raw Data Failure", InvalidPacket),
    r(270, "SessionStateFailure", "Session State Failure", SessionLoss),
    r(271, "IpsnpiAllocationFailure", "IPSNPI Allocation Failure", Resources),
    r(
        272,
        "IpsnpiModifiedButNotForwarded",
        "IPSNPI Modified But Not Forwarded",
        Other,
    ),
    r(273, "IpsnpiNoNextHop", "IPSNPI No Next Hop Specified", NoRoute),
    r(274, "IpsnpiNoCompartment", "IPSNPI Compartment Not Found", NoRoute),
    r(275, "IpsnpiNoInterface", "IPSNPI Interface Not Found", NoRoute),
    r(276, "IpsnpiNoSubInterface", "IPSNPI Subinterface Not Found", NoRoute),
    r(277, "IpsnpiInterfaceDisabled", "IPSNPI Interface Disabled", Resources),
    r(
        278,
        "IpsnpiSegmentationFailed",
        "IPSNPI Segmentation Failed",
        InvalidPacket,
    ),
    r(
        279,
        "IpsnpiNoEthernetHeader",
        "IPSNPI No Ethernet Header",
        InvalidPacket,
    ),
    r(
        280,
        "IpsnpiUnexpectedFragment",
        "IPSNPI Unexpected Fragment",
        InvalidPacket,
    ),
    r(
        281,
        "IpsnpiUnsupportedInterfaceType",
        "IPSNPI Unsupported Interface Type",
        InvalidPacket,
    ),
    r(282, "IpsnpiInvalidLsoInfo", "Invalid LSO info", InvalidPacket),
    r(283, "IpsnpiInvalidUsoInfo", "Invalid USO info", InvalidPacket),
    r(284, "InternalError", "Unexpected internal error", Other),
    r(
        285,
        "AdministrativelyConfigured",
        "Administratively configured setting",
        Policy,
    ),
    r(286, "BadOption", "Bad option", InvalidPacket),
    r(
        287,
        "LoopbackDisallowed",
        "This type of packet is not accepted over loopback",
        Policy,
    ),
    r(288, "SmallerScope", "Scope of address is too limited", NoRoute),
    r(289, "QueueFull", "Full queue", Resources),
    r(290, "InterfaceDisabled", "Disabled interface", Resources),
    r(291, "NlClientDiscard", "NL client discard", Other),
    r(
        292,
        "IpsnpiUroSegmentSizeExceedsMtu",
        "URO segment size exceeds forward interface MTU",
        Mtu,
    ),
    r(293, "SwUsoFailure", "Software USO failure", Resources),
];

/// `INET_DISCARD_REASON` (0-based), with tcpip.sys's display strings.
pub const INET_DISCARD_REASONS: &[Reason] = &[
    r(0, "SourceUnspecified", "Source Unspecified", InvalidPacket),
    r(1, "DestinationMulticast", "Destination is multicast", InvalidPacket),
    r(2, "HeaderInvalid", "Header is invalid (location 0)", InvalidPacket),
    r(3, "ChecksumInvalid", "Checksum is invalid", InvalidPacket),
    r(4, "EndpointNotFound", "Transport endpoint was not found", Unreachable),
    r(5, "ConnectedPath", "Connected path error", Other),
    r(6, "SessionState", "Session state error", SessionLoss),
    r(7, "ReceiveInspection", "Receive Inspection", Policy),
    r(
        8,
        "AckInvalid",
        "ACK Invalid (subreason 0) (invalid ACK in SYN_SENT state)",
        SessionLoss,
    ),
    r(9, "ExpectedSyn", "Expected SYN", SessionLoss),
    r(10, "Rst", "Received RST (subreason 0)", SessionLoss),
    r(11, "SynRcvdSyn", "Received SYN while in SYN_RCVD state", SessionLoss),
    r(12, "SimultaneousConnect", "Simultaneous Connect", SessionLoss),
    r(13, "PawsFailed", "PAWS Failed", SessionLoss),
    r(14, "LandAttack", "Land Attack (subreason 0)", Policy),
    r(15, "MissedReset", "Missed RST", SessionLoss),
    r(16, "OutsideWindow", "Outside Receive Window (subreason 0)", SessionLoss),
    r(17, "DuplicateSegment", "Duplicate Segment", SessionLoss),
    r(18, "ClosedWindow", "Closed Window", SessionLoss),
    r(19, "TcbRemoved", "TCB Removed", SessionLoss),
    r(20, "FinWait2", "FIN-WAIT2", SessionLoss),
    r(21, "ReassemblyConflict", "Reassembly Conflict", InvalidPacket),
    r(22, "FinReceived", "FIN Received", SessionLoss),
    r(
        23,
        "ListenerInvalidFlags",
        "Listener received segment with invalid flags",
        SessionLoss,
    ),
    r(
        24,
        "UrgentDeliveryAllocationFailure",
        "URG flag set but could not allocate urgent data state",
        Resources,
    ),
    r(25, "TcbNotInTcbTable", "TCB was not inserted in TCB table", SessionLoss),
    r(
        26,
        "TimeWaitTcbReceivedRstOutsideWindow",
        "TIME-WAIT TCB received RST outside receive window",
        SessionLoss,
    ),
    r(
        27,
        "TimeWaitTcbSynAndOtherFlags",
        "TIME-WAIT TCB received segment with SYN and other flags set",
        SessionLoss,
    ),
    r(
        28,
        "TimeWaitTcb",
        "Packet dropped by TIME-WAIT TCB (subreason 0)",
        SessionLoss,
    ),
    r(
        29,
        "SynAckWithFastopenCookieRequest",
        "SYN+ACK with Fastopen cookie request",
        SessionLoss,
    ),
    r(
        30,
        "PauseAccept",
        "Listener dropped SYN because SO_PAUSE_ACCEPT was set",
        Resources,
    ),
    r(
        31,
        "SynAttack",
        "Listener dropped SYN to reduce memory pressure",
        Resources,
    ),
    r(32, "AcceptInspection", "Accept inspection", Policy),
    r(33, "AcceptRedirection", "Accept redirection", Policy),
];

/// The table of a layer.
pub fn table(layer: DropLayer) -> &'static [Reason] {
    match layer {
        DropLayer::Network => IP_DISCARD_REASONS,
        DropLayer::Transport => INET_DISCARD_REASONS,
    }
}

/// The reason of a code, if the table has it.
pub fn reason(layer: DropLayer, code: u32) -> Option<&'static Reason> {
    table(layer).iter().find(|r| r.code == code)
}

/// The category of a TCP/IP drop. A code outside the table is `Other`: the
/// code is kept in the finding, but no meaning is guessed for it.
pub fn category(layer: DropLayer, code: u32) -> DropCategory {
    reason(layer, code).map(|r| r.category).unwrap_or(Other)
}

/// Where the cause of a TCP/IP drop lies. tcpip.sys drops on this host, so
/// local — except a received RST (INET 10), which is TCP discarding what the
/// peer or a middlebox sent: a remote session loss, as PktMon's 1210 is.
pub fn locality(layer: DropLayer, code: u32) -> Locality {
    match (layer, code) {
        (DropLayer::Transport, 10) => Locality::Remote,
        _ => Locality::Local,
    }
}

/// The TCP/IP discard reason behind a PktMon drop code of tcpip.sys, for
/// codes whose numbering PktMon shares (901–912 = 900 + IP reason 1–12,
/// 1200–1223 = 1200 + INET reason 0–23) and, beyond those, by PktMon's reason
/// text naming the same entry (922 "Address resolution timeout" = IP 260).
pub fn from_pktmon(code: u32, text: Option<&str>) -> Option<(DropLayer, u32)> {
    match code {
        901..=912 => Some((DropLayer::Network, code - 900)),
        1200..=1223 => Some((DropLayer::Transport, code - 1200)),
        900..=999 => {
            let text = text?.trim();
            IP_DISCARD_REASONS
                .iter()
                .find(|r| r.text.eq_ignore_ascii_case(text))
                .map(|r| (DropLayer::Network, r.code))
        }
        _ => None,
    }
}

/// TCP timer names by number (`0(RetransmitTimer)` anchors the order).
pub const TIMERS: &[&str] = &[
    "RetransmitTimer",
    "ConnectTimer",
    "DelAckTimer",
    "PushTimer",
    "KeepAliveTimer",
    "PacingTimer",
    "DisconnectTimer",
    "SwsTimer",
    "ReassemblyRateTimer",
    "SynOrRstValidationTimer",
];

/// TCP states by number (`4(EstablishedState)` anchors the order).
pub const TCP_STATES: &[&str] = &[
    "ClosedState",
    "ListenState",
    "SynSentState",
    "SynRcvdState",
    "EstablishedState",
    "FinWait1State",
    "FinWait2State",
    "CloseWaitState",
    "ClosingState",
    "LastAckState",
    "TimeWaitState",
];

/// Tail-loss-probe event names: only 2 (TimerFired) is attested; the others
/// are written as their number when generated.
pub const TLP_TIMER_FIRED: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_unique_and_anchored() {
        for layer in [DropLayer::Network, DropLayer::Transport] {
            let t = table(layer);
            assert!(t.windows(2).all(|w| w[0].code < w[1].code), "{layer:?} is not sorted");
        }
        assert_eq!(IP_DISCARD_REASONS.len(), 59);
        assert_eq!(INET_DISCARD_REASONS.len(), 34);
        assert_eq!(reason(DropLayer::Network, 9).unwrap().text, "Inspection drop");
        assert_eq!(category(DropLayer::Network, 9), Policy);
        assert_eq!(reason(DropLayer::Network, 290).unwrap().text, "Disabled interface");
        assert_eq!(category(DropLayer::Network, 260), AddressResolution);
        assert_eq!(reason(DropLayer::Transport, 4).unwrap().name, "EndpointNotFound");
        assert_eq!(reason(DropLayer::Transport, 33).unwrap().name, "AcceptRedirection");
        assert_eq!(locality(DropLayer::Transport, 10), Locality::Remote);
        assert_eq!(locality(DropLayer::Network, 10), Locality::Local);
        assert_eq!(category(DropLayer::Network, 9999), Other);
    }

    /// The same meaning gets the same category as PktMon's code for it, where
    /// PktMon numbers it 900 + IP reason (1–12) or 1200 + INET reason (0–23).
    #[test]
    fn categories_agree_with_pktmon_where_the_numbering_is_shared() {
        use crate::pktmon::catalog::drop_category;
        for r in IP_DISCARD_REASONS.iter().filter(|r| (1..=12).contains(&r.code)) {
            assert_eq!(r.category, drop_category(Some(900 + r.code), None), "IP {}", r.name);
        }
        for r in INET_DISCARD_REASONS.iter().filter(|r| r.code <= 23) {
            assert_eq!(r.category, drop_category(Some(1200 + r.code), None), "INET {}", r.name);
        }
    }
}
