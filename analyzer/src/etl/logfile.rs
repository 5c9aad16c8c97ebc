//! TRACE_LOGFILE_HEADER: the payload of the first record of an ETL file.

use super::bytes::*;

/// The logfile header fields this reader uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogfileHeader {
    /// Raw clock value of the header record itself: the origin of QPC time.
    pub header_timestamp: i64,
    pub buffer_size: u32,
    pub version: u32,
    /// OS build number.
    pub provider_version: u32,
    pub processors: u32,
    pub end_time: i64,
    pub timer_resolution: u32,
    pub maximum_file_size: u32,
    pub log_file_mode: u32,
    pub buffers_written: u32,
    pub start_buffers: u32,
    pub pointer_size: u32,
    pub events_lost: u32,
    pub cpu_speed_mhz: u32,
    /// TIME_ZONE_INFORMATION.Bias, minutes (local = UTC − bias).
    pub timezone_bias: i32,
    pub boot_time: i64,
    pub perf_freq: i64,
    /// FILETIME (UTC) of the start of the session.
    pub start_time: i64,
    /// ReservedFlags: 1 QPC, 2 system time, 3 CPU cycles.
    pub clock_type: u32,
    pub buffers_lost: u32,
    pub logger_name: String,
    pub log_file_name: String,
}

impl LogfileHeader {
    /// Parses the payload of the logfile-header record. `pointer_size_hint`
    /// comes from the record header (4 for SYSTEM32); the PointerSize field of
    /// the payload wins when it is 4 or 8.
    pub fn parse(p: &[u8], header_timestamp: i64, pointer_size_hint: u32) -> Option<LogfileHeader> {
        let pointer_size = match u32_at(p, 0x2C)? {
            4 => 4,
            8 => 8,
            _ => pointer_size_hint,
        };
        // Everything from TimeZone on moves back by 8 bytes when pointers are 4 bytes.
        let shift: usize = if pointer_size == 4 { 8 } else { 0 };
        let tz = 0x48 - shift;
        let mut h = LogfileHeader {
            header_timestamp,
            buffer_size: u32_at(p, 0x00)?,
            version: u32_at(p, 0x04)?,
            provider_version: u32_at(p, 0x08)?,
            processors: u32_at(p, 0x0C)?,
            end_time: i64_at(p, 0x10)?,
            timer_resolution: u32_at(p, 0x18)?,
            maximum_file_size: u32_at(p, 0x1C)?,
            log_file_mode: u32_at(p, 0x20)?,
            buffers_written: u32_at(p, 0x24)?,
            start_buffers: u32_at(p, 0x28)?,
            pointer_size,
            events_lost: u32_at(p, 0x30)?,
            cpu_speed_mhz: u32_at(p, 0x34)?,
            timezone_bias: i32_at(p, tz)?,
            boot_time: i64_at(p, 0xF8 - shift)?,
            perf_freq: i64_at(p, 0x100 - shift)?,
            start_time: i64_at(p, 0x108 - shift)?,
            clock_type: u32_at(p, 0x110 - shift)?,
            buffers_lost: u32_at(p, 0x114 - shift)?,
            ..Default::default()
        };
        if let Some((logger, next)) = utf16z_at(p, 0x118 - shift) {
            h.logger_name = logger;
            if let Some((file, _)) = utf16z_at(p, next) {
                h.log_file_name = file;
            }
        }
        Some(h)
    }

    /// Converts a raw event timestamp to FILETIME (100 ns since 1601, UTC).
    pub fn to_filetime(&self, raw: i64) -> i64 {
        match self.clock_type {
            2 => raw,
            _ => {
                let freq = if self.perf_freq > 0 {
                    self.perf_freq as i128
                } else if self.cpu_speed_mhz > 0 {
                    self.cpu_speed_mhz as i128 * 1_000_000
                } else {
                    10_000_000
                };
                // Every record is converted: 64-bit arithmetic while it cannot
                // overflow (QPC runs at 10 MHz on current Windows), 128-bit otherwise.
                let exact = raw
                    .checked_sub(self.header_timestamp)
                    .and_then(|d| {
                        if freq == 10_000_000 {
                            Some(d)
                        } else {
                            d.checked_mul(10_000_000)
                        }
                    })
                    .map(|d| if freq == 10_000_000 { d } else { d / freq as i64 });
                let delta = match exact {
                    Some(d) => d as i128,
                    None => (raw as i128 - self.header_timestamp as i128) * 10_000_000 / freq,
                };
                (self.start_time as i128 + delta).clamp(i64::MIN as i128, i64::MAX as i128) as i64
            }
        }
    }
}
