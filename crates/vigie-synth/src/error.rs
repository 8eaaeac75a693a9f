//! Errors of the synthetic-region generator.

use std::path::PathBuf;

/// Everything that can go wrong while generating a region.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The configuration is unusable (the message says which field and why).
    #[error("invalid synth configuration: {0}")]
    InvalidConfig(String),
    /// Creating a directory or creating/writing/flushing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The directory or file at fault.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl SynthError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SynthError::Io {
            path: path.into(),
            source,
        }
    }
}
