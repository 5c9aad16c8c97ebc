//! A marker in the plugin's bytes naming the Wireshark major.minor it was
//! built for, so `pktmon-analyzer install-plugin` can refuse a mismatch before
//! Wireshark silently skips the plugin (it only prints a warning and goes on).

/// `PKTMON_WIRESHARK_PLUGIN_FOR=MMM.mmm;` with zero-padded numbers
/// (exported as a symbol by the FFI layer, which keeps it in the binary).
pub const fn marker() -> [u8; 36] {
    let mut b = *b"PKTMON_WIRESHARK_PLUGIN_FOR=000.000;";
    let major = wireshark_sys::WIRESHARK_VERSION_MAJOR;
    let minor = wireshark_sys::WIRESHARK_VERSION_MINOR;
    b[28] = b'0' + (major / 100 % 10) as u8;
    b[29] = b'0' + (major / 10 % 10) as u8;
    b[30] = b'0' + (major % 10) as u8;
    b[32] = b'0' + (minor / 100 % 10) as u8;
    b[33] = b'0' + (minor / 10 % 10) as u8;
    b[34] = b'0' + (minor % 10) as u8;
    b
}

#[cfg(test)]
mod tests {
    #[test]
    fn marker_names_the_headers_version() {
        let bytes = super::marker();
        let m = std::str::from_utf8(&bytes).unwrap();
        let want = format!(
            "PKTMON_WIRESHARK_PLUGIN_FOR={:03}.{:03};",
            wireshark_sys::WIRESHARK_VERSION_MAJOR,
            wireshark_sys::WIRESHARK_VERSION_MINOR
        );
        assert_eq!(m, want);
    }
}
