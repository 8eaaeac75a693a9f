//! Configuration errors that point at the user's file, line and key.

use std::fmt;
use std::path::PathBuf;

/// One problem in one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line, when it could be located.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `fields.triage.range`.
    pub key: String,
    /// What is wrong and what would fix it.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a configuration, collected in one pass.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read at all.
    // The I/O error is part of the message, not a source too: shown through an error's
    // chain, it came out twice ("No such file or directory (os error 2): No such file...").
    #[error("{}: cannot read configuration file: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The configuration was read but is wrong; each problem names its file, line and key.
    #[error("{} configuration problem(s):\n{}", .0.len(), render(.0))]
    Invalid(Vec<ConfigProblem>),
}

fn render(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// The problems, if the configuration was readable.
    pub fn problems(&self) -> &[ConfigProblem] {
        match self {
            ConfigError::Invalid(p) => p,
            ConfigError::Read { .. } => &[],
        }
    }
}

impl ConfigError {
    /// Always the user's to fix: a configuration file is wrong, or the path given for it.
    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::User
    }
}
