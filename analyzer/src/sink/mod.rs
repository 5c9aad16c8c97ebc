//! Writers: converted pcapng, etl2txt text, drop summaries.
pub mod atomic;
pub mod drops;
pub mod pcapng;
pub mod pcapng_blocks;
pub mod txt;
