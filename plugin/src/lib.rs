//! Wireshark plugin for Windows Packet Monitor captures: PktMon metadata as
//! filterable `pktmon.*` fields, drops as expert info, and every packet's
//! path through the stack linked frame to frame.
//!
//! `unsafe` lives only in [`ffi`] and the file reader's [`wiretap`] glue; the metadata parser, the drop-reason
//! catalog and the grouping of appearances into packets are the analyzer
//! library's, shared with `pktmon-analyzer`.

#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod ffi;
pub mod fields;
mod marker;
pub mod state;
#[allow(unsafe_code)]
mod wiretap;
