//! Quarantine rows: what was rejected, where, and why; identifiers never appear raw.

/// One rejected record (or a whole rejected file, with `column` empty).
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    /// 1-based line in the extract.
    pub line: u64,
    /// The partner's column at fault (empty for a whole-file or whole-record reason).
    pub column: String,
    /// Why, in words a data steward can act on.
    pub reason: String,
    /// The offending value, or a mask when the column holds an identifier.
    pub value: Option<String>,
    /// The pseudonymous key of the row's person, when it had an identifier.
    pub person_key: Option<String>,
}
