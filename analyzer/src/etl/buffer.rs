//! WMI_BUFFER_HEADER: the 0x48-byte header that starts every ETL buffer.

use super::bytes::*;

pub const BUFFER_HEADER_SIZE: usize = 0x48;

pub const FLAG_FLUSH_MARKER: u16 = 0x01;
pub const FLAG_EVENTS_LOST: u16 = 0x02;
pub const FLAG_BUFFER_LOST: u16 = 0x04;
pub const FLAG_COMPRESSED: u16 = 0x40;

pub const TYPE_HEADER: u16 = 4;

/// The fields of a buffer header this reader uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferHeader {
    /// Where the buffer starts in the file.
    pub file_offset: u64,
    /// Bytes the buffer occupies in the file (compressed size + 0x48 for compressed buffers).
    pub size_on_disk: u32,
    /// End of valid data in the (uncompressed) buffer, header included.
    pub saved_offset: u32,
    pub timestamp: i64,
    pub sequence: i64,
    pub processor: u16,
    pub logger_id: u16,
    pub state: u32,
    pub flags: u16,
    pub buffer_type: u16,
}

impl BufferHeader {
    pub fn parse(b: &[u8], file_offset: u64) -> Option<BufferHeader> {
        if b.len() < BUFFER_HEADER_SIZE {
            return None;
        }
        Some(BufferHeader {
            file_offset,
            size_on_disk: u32_at(b, 0x00)?,
            saved_offset: u32_at(b, 0x04)?,
            timestamp: i64_at(b, 0x10)?,
            sequence: i64_at(b, 0x18)?,
            processor: u16_at(b, 0x28)? & 0xFF,
            logger_id: u16_at(b, 0x2A)?,
            state: u32_at(b, 0x2C)?,
            flags: u16_at(b, 0x34)?,
            buffer_type: u16_at(b, 0x36)?,
        })
    }

    pub fn is_compressed(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0
    }

    /// Length of the record area once the buffer is uncompressed.
    pub fn payload_len(&self) -> usize {
        (self.saved_offset as usize).saturating_sub(BUFFER_HEADER_SIZE)
    }
}
