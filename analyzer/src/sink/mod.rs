//! Writers: converted pcapng, etl2txt text, drop summaries, diagnosis reports.
pub mod atomic;
pub mod background;
pub mod drops;
pub mod etl2pcapng;
pub mod pcapng;
pub mod pcapng_blocks;
pub mod report;
pub mod report_text;
pub mod txt;
