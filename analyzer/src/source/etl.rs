//! ETL → records: the trace records of [`crate::etl`] given PktMon meaning.

use std::path::Path;

use super::ReadOutcome;
use crate::error::{Diagnostics, Error, Location};
use crate::etl::bytes::utf16z_at;
use crate::etl::record::RecordKind;
use crate::etl::schema::*;
use crate::etl::{EtlFile, MergedRecord};
use crate::model::*;
use crate::pktmon::catalog::Catalog;
use crate::pktmon::events::{self, EventOrigin};
use crate::pktmon::PROVIDER_GUID;

/// Reads a PktMon ETL, pushing every PktMon record into `sink` in time order.
/// Damage is reported in the outcome's diagnostics; only a file that is not
/// an ETL at all is an `Err`.
pub fn read(path: &Path, sink: &mut dyn RecordSink) -> Result<ReadOutcome, Error> {
    read_located(path, sink, &mut |_| {})
}

/// [`read`], also telling `located` where each packet record lies (called
/// just before the sink receives it): what an index for random access needs.
pub fn read_located(
    path: &Path,
    sink: &mut dyn RecordSink,
    located: &mut dyn FnMut(&MergedRecord<'_>),
) -> Result<ReadOutcome, Error> {
    let mut etl = EtlFile::open(path)?;
    let h = etl.header.clone();
    let mut out = ReadOutcome {
        catalog: Catalog::builtin(Some(h.provider_version)),
        ..Default::default()
    };
    let info = &mut out.info;
    info.file = path.display().to_string();
    info.kind = Some(InputKind::Etl);
    info.os_build = Some(h.provider_version);
    info.start_time = Some(h.start_time);
    info.end_time = (h.end_time > 0).then_some(h.end_time);
    info.timezone_bias_minutes = Some(h.timezone_bias);
    info.clock_type = Some(h.clock_type);
    info.perf_freq = Some(h.perf_freq);
    info.processors = Some(h.processors);
    info.pointer_size = Some(h.pointer_size);
    info.logger_name = Some(h.logger_name.clone()).filter(|s| !s.is_empty());
    info.log_file_name = Some(h.log_file_name.clone()).filter(|s| !s.is_empty());
    info.events_lost = h.events_lost as u64;
    info.buffers_lost = h.buffers_lost as u64;
    info.buffers = etl.buffers.len() as u64;
    info.compressed_buffers = etl.buffers.iter().filter(|b| b.is_compressed()).count() as u64;
    info.buffers_flagged_events_lost = etl
        .buffers
        .iter()
        .filter(|b| b.flags & crate::etl::buffer::FLAG_EVENTS_LOST != 0)
        .count() as u64;
    info.buffers_flagged_lost = etl
        .buffers
        .iter()
        .filter(|b| b.flags & crate::etl::buffer::FLAG_BUFFER_LOST != 0)
        .count() as u64;

    let name = etl.name().to_string();
    let mut diags = Diagnostics::default();
    let mut index = 0u64;
    let keep_payloads = sink.wants_payloads();
    etl.read_records(|m: &MergedRecord<'_>| {
        let r = &m.record;
        match r.kind {
            RecordKind::Event if r.guid == PROVIDER_GUID => {
                let origin = EventOrigin {
                    time: h.to_filetime(r.timestamp),
                    cpu: m.cpu,
                    process_id: r.process_id,
                    thread_id: r.thread_id,
                };
                match events::decode(r.id, r.payload, origin, index, keep_payloads) {
                    Ok(Some(mut record)) => {
                        if let Record::Packet(a) = &mut record {
                            located(m);
                            index += 1;
                            if let Some(d) = &mut a.drop {
                                d.reason_text = d.reason.and_then(|c| out.catalog.drop_reason(c)).map(str::to_string);
                            }
                        }
                        let ctx = Context {
                            info: &out.info,
                            catalog: &out.catalog,
                            schemas: &out.schemas,
                        };
                        sink.record(&ctx, record);
                    }
                    Ok(None) => {}
                    Err(e) => diags.error(
                        &name,
                        Location::Offset(m.buffer_offset),
                        format!(
                            "PktMon event {} at offset {} of this buffer: {}; event skipped",
                            r.id, m.offset_in_buffer, e.0
                        ),
                    ),
                }
            }
            RecordKind::Full if r.guid == EVENT_METADATA_GUID => match r.opcode {
                METADATA_TRACE_EVENT_INFO => {
                    if let Some(s) = EventSchema::parse(r.payload) {
                        if s.provider == PROVIDER_GUID {
                            out.schemas.insert(s.id, s);
                        }
                    }
                }
                METADATA_EVENT_MAP_INFO => {
                    if let Some(map) = ValueMap::parse(r.payload) {
                        if map.provider == PROVIDER_GUID {
                            out.catalog.set_map(&map.name, map.entries);
                        }
                    }
                }
                _ => {}
            },
            RecordKind::Full if r.guid == SYSTEM_CONFIG_EX_GUID && r.opcode == 32 => {
                if let Some(desc) = build_info(r.payload) {
                    out.info.os_description = Some(desc);
                }
            }
            RecordKind::Event | RecordKind::Full | RecordKind::Instance => {
                let key = (crate::etl::bytes::guid_string(&r.guid), r.id);
                *out.other_events.entry(key).or_default() += 1;
            }
            _ => {}
        }
    });
    out.diagnostics = std::mem::take(&mut etl.diagnostics);
    out.diagnostics.extend(diags);
    if out.info.events_lost > 0 || out.info.buffers_lost > 0 || out.info.buffers_flagged_events_lost > 0 {
        out.diagnostics.warn(
            &name,
            Location::File,
            format!(
                "the capture lost data while recording: {} events lost, {} buffers lost, {} buffers flagged EVENTS_LOST",
                out.info.events_lost, out.info.buffers_lost, out.info.buffers_flagged_events_lost
            ),
        );
    }
    Ok(out)
}

/// SystemConfigEx BuildInfo: InstallDate (FILETIME), then BuildLab and
/// ProductName as NUL-terminated UTF-16. Returns "ProductName (BuildLab)".
fn build_info(p: &[u8]) -> Option<String> {
    let (lab, next) = utf16z_at(p, 8)?;
    let (product, _) = utf16z_at(p, next).unwrap_or_default();
    let lab = lab.trim().to_string();
    let product = product.trim().to_string();
    match (product.is_empty(), lab.is_empty()) {
        (false, false) => Some(product),
        (false, true) => Some(product),
        (true, false) => Some(lab),
        (true, true) => None,
    }
}
