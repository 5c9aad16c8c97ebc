//! Readers of every input form, detected from content (never from the file name).

pub mod etl;
pub mod etl_index;
pub mod pcapng;
pub mod summary;
pub mod text;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Diagnostics, Error, Location};
use crate::etl::schema::EventSchema;
use crate::model::*;
use crate::pktmon::catalog::Catalog;

/// What reading an input produced besides the records it pushed.
#[derive(Debug, Clone, Default)]
pub struct ReadOutcome {
    pub info: CaptureInfo,
    pub catalog: Catalog,
    /// PktMon event schemas from an ETL, by event id (message templates, property names).
    pub schemas: BTreeMap<u16, EventSchema>,
    /// ETL records of other providers: (provider GUID, event id) → count.
    pub other_events: BTreeMap<(String, u16), u64>,
    pub diagnostics: Diagnostics,
}

/// The broad kind of an input, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    Etl,
    Pcapng,
    Pcap,
    Text,
    /// `netsh trace convert` text (TCP/IP events; read by [`crate::tcpip::reader`]).
    NetshText,
    /// Network adapter counters: `Get-NetAdapterStatistics | ConvertTo-Json` or
    /// typeperf CSV (read by [`crate::nic`]).
    NicCounters,
}

/// Decides what a file is from its content.
pub fn detect(path: &Path) -> Result<Detected, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if meta.is_dir() {
        return Err(Error::new(
            path.display().to_string(),
            Location::File,
            "is a directory, not a capture file",
        ));
    }
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| Error::io(path, &e))?;
    if head.is_empty() {
        return Err(Error::new(
            path.display().to_string(),
            Location::Offset(0),
            "file is empty",
        ));
    }
    if head.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]) {
        return Ok(Detected::Pcapng);
    }
    if head.len() >= 4 {
        let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if matches!(magic, 0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1) {
            return Ok(Detected::Pcap);
        }
    }
    if crate::etl::looks_like_etl(&head) {
        return Ok(Detected::Etl);
    }
    // netsh text has etl2txt's line prefix too; its `YYYY/MM/DD-` times tell them apart.
    if crate::tcpip::reader::looks_like_netsh(&head) {
        return Ok(Detected::NetshText);
    }
    if text::looks_like_text(&head) {
        return Ok(Detected::Text);
    }
    if crate::nic::looks_like_snapshot(&head) {
        return Ok(Detected::NicCounters);
    }
    Err(Error::new(
        path.display().to_string(),
        Location::Offset(0),
        NOT_A_CAPTURE,
    ))
}

/// The message of [`detect`]'s error for a file that is none of the inputs it
/// knows (as opposed to one it knows but cannot read, or an empty file).
pub const NOT_A_CAPTURE: &str =
    "not a PktMon capture: expected a PktMon .etl, a pcapng/pcap file, pktmon etl2txt text, netsh trace text or \
     adapter counters (Get-NetAdapterStatistics JSON, typeperf CSV)";

/// Reads any supported input, pushing its records into `sink` in time order.
pub fn read(path: &Path, sink: &mut dyn RecordSink) -> Result<ReadOutcome, Error> {
    match detect(path)? {
        Detected::Etl => etl::read(path, sink),
        Detected::Pcapng | Detected::Pcap => pcapng::read(path, sink),
        Detected::Text => text::read(path, sink),
        Detected::NetshText => Err(Error::new(
            path.display().to_string(),
            Location::File,
            "is netsh trace text (TCP/IP events), not a packet capture: only `diagnose` reads it",
        )),
        Detected::NicCounters => Err(Error::new(
            path.display().to_string(),
            Location::File,
            "is a network adapter counter snapshot (Get-NetAdapterStatistics or typeperf), not a packet capture: \
             `diagnose` and `info` join it to the captures of its folder",
        )),
    }
}

/// Reads any supported input into memory.
pub fn read_capture(path: &Path) -> Result<Capture, Error> {
    let mut builder = CaptureBuilder::default();
    let outcome = read(path, &mut builder)?;
    let mut capture = builder.capture;
    capture.info = outcome.info;
    capture.catalog = outcome.catalog;
    capture.diagnostics = outcome.diagnostics;
    Ok(capture)
}
