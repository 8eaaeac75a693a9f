//! A converted cell, ready for its Arrow column.

use std::sync::Arc;

/// A canonical value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// Text (also pseudonymous keys).
    Str(String),
    /// Text shared between rows rather than copied for each: a survey record's value
    /// repeated on each of its items, the instrument's id, an answer's status.
    Shared(Arc<str>),
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

    /// The text, whether owned or shared; None for any other value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Shared(s) => Some(s),
            _ => None,
        }
    }

    /// The same value, its text (if any) made shareable: cloning it then copies no text.
    pub fn into_shared(self) -> Value {
        match self {
            Value::Str(s) => Value::Shared(s.into()),
            other => other,
        }
    }
}
