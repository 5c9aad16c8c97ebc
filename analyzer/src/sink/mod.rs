//! Writers: converted pcapng, etl2txt text, drop summaries, diagnosis reports.
pub mod atomic;
pub mod background;
pub mod drops;
pub mod etl2pcapng;
pub mod html;
pub mod parquet;
pub mod pcapng;
pub mod pcapng_blocks;
pub mod report;
pub mod report_text;
pub mod txt;

/// `n` and a noun that takes an `s` in the plural: "1 packet", "0 packets", "2 packets".
pub fn counted(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counted_says_one_thing_and_many_things() {
        assert_eq!(super::counted(1u64, "flow"), "1 flow");
        assert_eq!(super::counted(0u64, "flow"), "0 flows");
        assert_eq!(super::counted(2u32, "drop event"), "2 drop events");
    }
}
