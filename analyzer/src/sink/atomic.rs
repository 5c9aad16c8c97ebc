//! Output files written whole or not at all: data goes to a temporary file
//! beside the target and is renamed over it only when complete.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; becomes `target` on [`AtomicFile::commit`], and
/// disappears if dropped before that.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name"))?;
        if target.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "output path is a directory",
            ));
        }
        let temp = dir.join(format!(".{}.{}.partial", name.to_string_lossy(), std::process::id()));
        let file = File::create(&temp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("writer present until commit")
    }

    pub fn commit(mut self) -> io::Result<()> {
        let w = self.writer.take().expect("writer present until commit");
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.temp, &self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Refuses to write `output` over any of `inputs` (same file after resolving links).
pub fn ensure_not_an_input(output: &Path, inputs: &[PathBuf]) -> Result<(), String> {
    let Ok(out) = std::fs::canonicalize(output) else {
        return Ok(()); // does not exist yet
    };
    for i in inputs {
        if std::fs::canonicalize(i).map(|c| c == out).unwrap_or(false) {
            return Err(format!("refusing to overwrite the input file {}", i.display()));
        }
    }
    Ok(())
}
