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
