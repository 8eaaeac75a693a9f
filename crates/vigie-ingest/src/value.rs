//! A converted cell, ready for its Arrow column.

/// A canonical value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// Text (also pseudonymous keys).
    Str(String),
    /// Whole number.
    Int(i32),
    /// Number with decimals.
    Float(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00 (local time).
    DateTime(i64),
}

impl Value {
    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
