//! PktMon `.etl` reader: no Windows API, any OS.
//!
//! Layers, bottom up: [`buffer`] (WMI_BUFFER_HEADER), [`xpress`] (compressed
//! buffers), [`record`] (trace headers walked by size), [`logfile`] (the
//! TRACE_LOGFILE_HEADER and clock), [`reader`] (buffer index and per-CPU
//! merge), [`schema`] (TRACE_EVENT_INFO / EVENT_MAP_INFO injected by the
//! relogger), [`decode`] (any event's user data by those schemas). PktMon meaning is added on top by [`crate::pktmon::events`].
//! [`writer`] does the reverse: it writes files in the shape pktmon does, for
//! tests and scenario generators.

pub mod buffer;
pub mod bytes;
pub mod decode;
pub mod logfile;
pub mod reader;
pub mod record;
pub mod schema;
pub mod writer;
pub mod xpress;

pub use reader::{looks_like_etl, EtlFile, MergedRecord, ReadStats};
