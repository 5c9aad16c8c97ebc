//! Read Windows Packet Monitor (PktMon) captures on any OS and diagnose packet loss.
//!
//! The pipeline, one module per stage, data flowing one way:
//! source ([`etl`] | [`source::pcapng`] | [`source::text`]) → [`model::Record`]s →
//! [`packets`] (appearances grouped into packets with their paths) → sinks
//! ([`sink::pcapng`], [`sink::txt`], [`sink::drops`]).
//!
//! The PktMon model itself — the etl2txt metadata line ([`pktmon::text`]), the
//! drop-reason catalog ([`pktmon::catalog`]) and the event decoders
//! ([`pktmon::events`]) — exists once and serves the analyzer and the Wireshark
//! plugin alike.
//!
//! Beside the captures, [`tcpip`] reads the Microsoft-Windows-TCPIP events of
//! `netsh trace` text, which [`diagnose`] joins to a capture of the same host.

pub mod diagnose;
pub mod error;
pub mod etl;
pub mod flows;
pub mod generate;
pub mod model;
pub mod nic;
pub mod packets;
pub mod pktmon;
pub mod sink;
pub mod source;
pub mod tcpip;
pub mod time;

pub use error::{Diagnostic, Diagnostics, Error, Location, Severity};
pub use model::{Appearance, Capture, CaptureInfo, Component, Record, RecordSink};
