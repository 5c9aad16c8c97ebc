//! The PktMon provider: its event layouts, value maps and text forms.

pub mod catalog;
pub mod events;
pub mod frame;
pub mod text;

/// Microsoft-Windows-PktMon provider GUID {4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}, as stored on disk.
pub const PROVIDER_GUID: [u8; 16] = [
    0xd9, 0x80, 0x4f, 0x4d, 0xbd, 0xc8, 0x73, 0x4d, 0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac,
];
