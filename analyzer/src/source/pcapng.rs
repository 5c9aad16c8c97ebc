//! pcapng / pcap reader (being written).
use std::path::Path;

use super::ReadOutcome;
use crate::error::Error;
use crate::model::RecordSink;

pub fn read(path: &Path, _sink: &mut dyn RecordSink) -> Result<ReadOutcome, Error> {
    Err(Error::new(
        path.display().to_string(),
        crate::error::Location::File,
        "pcapng reader not written yet",
    ))
}
