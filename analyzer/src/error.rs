//! Errors and warnings that name the file and the place in it.
//!
//! Readers never panic on bad input: a problem they can step over becomes a
//! [`Diagnostic`] with severity [`Severity::Warning`] or [`Severity::Error`] and
//! reading goes on; a problem that stops reading becomes an [`Error`]. Either
//! way the message says which file and which byte offset (or text line).

use std::fmt;
use std::path::Path;

/// Where in an input a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// Nowhere in particular (for example, the file could not be opened).
    File,
    /// A byte offset from the start of the file.
    Offset(u64),
    /// A 1-based line number of a text input.
    Line(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => Ok(()),
            Location::Offset(o) => write!(f, "offset {o} (0x{o:X})"),
            Location::Line(l) => write!(f, "line {l}"),
        }
    }
}

/// A fatal problem: reading this input stopped here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub file: String,
    pub location: Location,
    pub message: String,
}

impl Error {
    pub fn new(file: impl Into<String>, location: Location, message: impl Into<String>) -> Self {
        Error {
            file: file.into(),
            location,
            message: message.into(),
        }
    }

    pub fn at(file: &Path, offset: u64, message: impl Into<String>) -> Self {
        Self::new(file.display().to_string(), Location::Offset(offset), message)
    }

    pub fn io(file: &Path, err: &std::io::Error) -> Self {
        Self::new(file.display().to_string(), Location::File, err.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::File => write!(f, "{}: {}", self.file, self.message),
            loc => write!(f, "{}: at {}: {}", self.file, loc, self.message),
        }
    }
}

impl std::error::Error for Error {}

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Something the user should know (a truncated tail, lost events); results are complete for what is there.
    Warning,
    /// Data was damaged and skipped; results hold everything that could be salvaged.
    Error,
}

/// A problem that reading stepped over.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        match self.location {
            Location::File => write!(f, "{sev}: {}: {}", self.file, self.message),
            loc => write!(f, "{sev}: {}: at {}: {}", self.file, loc, self.message),
        }
    }
}

/// Collects diagnostics for one input, keeping the count bounded so a hostile
/// file cannot make us print millions of lines.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// How many were not kept because the limit was reached.
    pub suppressed: u64,
}

impl Diagnostics {
    const LIMIT: usize = 100;

    pub fn push(&mut self, severity: Severity, file: &str, location: Location, message: impl Into<String>) {
        if self.items.len() >= Self::LIMIT {
            self.suppressed += 1;
            return;
        }
        self.items.push(Diagnostic {
            severity,
            file: file.to_string(),
            location,
            message: message.into(),
        });
    }

    pub fn warn(&mut self, file: &str, location: Location, message: impl Into<String>) {
        self.push(Severity::Warning, file, location, message)
    }

    pub fn error(&mut self, file: &str, location: Location, message: impl Into<String>) {
        self.push(Severity::Error, file, location, message)
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for d in other.items {
            if self.items.len() >= Self::LIMIT {
                self.suppressed += 1;
            } else {
                self.items.push(d);
            }
        }
        self.suppressed += other.suppressed;
    }
}
