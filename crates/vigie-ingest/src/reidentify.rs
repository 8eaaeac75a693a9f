//! The raw identifiers of an extract, for re-identification by whoever holds the
//! pseudonymisation key (`vigie worklist export`). The ingest itself never hands raw values
//! out: this is the one door, and what goes through it is only passed to a callback, never
//! kept here.

use bytes::Bytes;
use vigie_model::FieldType;
use vigie_model::config::{FileFormat, SourceSpec};

use crate::compile::{CompiledSource, Origin, compile};
use crate::error::FileRejection;
use crate::read::{ReadError, read_csv, read_parquet};

/// Calls `each` with the raw person identifier of every record of `data` (an extract of
/// `spec`) that has one, as the partner wrote it. A file that cannot be read, or whose
/// source names no person, is an error naming the file and line.
pub fn person_identifiers(
    spec: &SourceSpec,
    file: &str,
    data: Bytes,
    mut each: impl FnMut(&str),
) -> Result<(), FileRejection> {
    let mut column: Option<usize> = None;
    let mut compiled: Option<CompiledSource> = None;
    let mut record = |r: &crate::read::Record| -> Result<(), ReadError> {
        match &compiled {
            None => {
                let bound = compile(spec, &r.cells).map_err(|message| ReadError {
                    line: r.line.max(1),
                    message,
                })?;
                column = bound.outputs.iter().flat_map(|o| &o.fields).find_map(|f| {
                    match (&f.def.ty, &f.origin) {
                        (FieldType::PersonKey, Origin::Column(i)) => Some(*i),
                        _ => None,
                    }
                });
                if column.is_none() {
                    return Err(ReadError {
                        line: r.line.max(1),
                        message: format!(
                            "the source {} maps no column to a person key",
                            spec.source
                        ),
                    });
                }
                compiled = Some(bound);
            }
            Some(_) => {
                if let Some(value) = column
                    .and_then(|i| r.cells.get(i))
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                {
                    each(value);
                }
            }
        }
        Ok(())
    };
    let result = match &spec.format {
        FileFormat::Csv(dialect) => read_csv(&data, dialect, &mut record),
        FileFormat::Parquet {} => read_parquet(data.clone(), &mut record),
    };
    result.map_err(|e| FileRejection {
        file: file.to_string(),
        line: e.line,
        message: e.message,
    })
}
