//! FILETIME arithmetic and formatting without a date crate: the few civil
//! calendar conversions we need are exact and short.

use crate::model::{FileTime, UNIX_EPOCH_FILETIME};

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Broken-down time of a FILETIME: (year, month, day, hour, minute, second, 100-ns ticks).
pub fn civil(ft: FileTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let ticks = ft as i128 - UNIX_EPOCH_FILETIME as i128;
    let secs = ticks.div_euclid(10_000_000) as i64;
    let frac = ticks.rem_euclid(10_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        y,
        m,
        d,
        (sod / 3600) as u32,
        ((sod % 3600) / 60) as u32,
        (sod % 60) as u32,
        frac,
    )
}

/// `YYYY-MM-DD HH:MM:SS.fffffff00`, the way `pktmon etl2txt` prints local time
/// (seven real digits, padded with two zeros). `bias_minutes` is the
/// file's TIME_ZONE_INFORMATION.Bias (local = UTC − bias).
pub fn format_etl2txt(ft: FileTime, bias_minutes: i32) -> String {
    let local = ft.saturating_sub(bias_minutes as i64 * 60 * 10_000_000);
    let (y, mo, d, h, mi, s, f) = civil(local);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{f:07}00")
}

/// ISO 8601 UTC with 100-ns precision: `2021-06-03T13:49:55.6187930Z`.
pub fn format_utc(ft: FileTime) -> String {
    let (y, mo, d, h, mi, s, f) = civil(ft);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:07}Z")
}

/// 100-ns ticks since 1970 (pcapng with if_tsresol = 7).
pub fn unix_ticks_100ns(ft: FileTime) -> i64 {
    ft.saturating_sub(UNIX_EPOCH_FILETIME)
}

/// FILETIME from Unix seconds and a fraction in nanoseconds.
pub fn filetime_from_unix_nanos(nanos: i128) -> FileTime {
    (nanos.div_euclid(100) + UNIX_EPOCH_FILETIME as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Days since 1970 of a civil date (inverse of `civil_from_days`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etl2txt_format_applies_bias_and_pads() {
        // 2021-06-03 13:49:55.6187930 UTC in IST (bias −330 minutes) is 19:19:55.
        let days = days_from_civil(2021, 6, 3);
        let secs = days * 86_400 + 13 * 3600 + 49 * 60 + 55;
        let ft = UNIX_EPOCH_FILETIME + secs * 10_000_000 + 6_187_930;
        assert_eq!(format_etl2txt(ft, -330), "2021-06-03 19:19:55.618793000");
        assert_eq!(format_utc(ft), "2021-06-03T13:49:55.6187930Z");
    }

    #[test]
    fn civil_round_trips_over_centuries() {
        for days in [-200_000i64, -1, 0, 1, 11_016, 19_000, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
    }
}
