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

/// The quarantine rows of one file as a batch in the warehouse's quarantine schema.
pub fn quarantine_batch(
    source: &str,
    file: &str,
    load_id: &str,
    rows: &[QuarantineRow],
) -> Result<arrow::record_batch::RecordBatch, arrow::error::ArrowError> {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    let n = rows.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![source; n])),
        Arc::new(StringArray::from(vec![file; n])),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.line as i64),
        )),
        Arc::new(StringArray::from(vec![load_id; n])),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.column.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.reason.as_str()),
        )),
        Arc::new(StringArray::from(
            rows.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| r.person_key.clone())
                .collect::<Vec<_>>(),
        )),
    ];
    arrow::record_batch::RecordBatch::try_new(vigie_model::quarantine_schema(), columns)
}

/// Quarantine rows beyond a bound go to a staging Parquet file, like accepted rows: a
/// file of millions of bad records is quarantined in bounded memory.
pub(crate) struct QuarantineSpill {
    pub path: std::path::PathBuf,
    pub writer: parquet::arrow::ArrowWriter<std::fs::File>,
}

impl QuarantineSpill {
    pub fn create(dir: &std::path::Path, name: &str) -> Result<Self, String> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path)
            .map_err(|e| format!("staging quarantine rows in {}: {e}", path.display()))?;
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::LZ4_RAW)
            .build();
        let writer = parquet::arrow::ArrowWriter::try_new(
            file,
            vigie_model::quarantine_schema(),
            Some(props),
        )
        .map_err(|e| format!("staging quarantine rows: {e}"))?;
        Ok(QuarantineSpill { path, writer })
    }
}
