//! Why a whole file was rejected.

/// A file rejected whole: the line at fault and what would fix it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct FileRejection {
    /// The file (landing-zone key).
    pub file: String,
    /// 1-based line of the problem.
    pub line: u64,
    /// What is wrong and what would fix it.
    pub message: String,
}

/// Why a file could not be ingested.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FileFailure {
    /// The file's content is at fault: it is rejected whole. The count is the records it
    /// holds, all rejected.
    #[error("{0}")]
    Rejected(FileRejection, u64),
    /// The environment failed (staging disk full, permissions): the file is not at fault
    /// and stays pending for the next run.
    #[error("{0}")]
    Environment(String),
}
