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

/// Replaces, in the staged quarantine file at `path`, the reason of each row whose line
/// `reason_of` gives a new one for: the rows are streamed to a new file beside it, renamed
/// over it.
pub(crate) fn rename_reasons(
    path: &std::path::Path,
    reason_of: impl Fn(u64) -> Option<String>,
) -> Result<(), String> {
    use arrow::array::{Array, AsArray, StringArray};
    use arrow::datatypes::Int64Type;
    use std::sync::Arc;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    let schema = vigie_model::quarantine_schema();
    let line_at = schema.index_of("_line").map_err(|e| e.to_string())?;
    let reason_at = schema.index_of("reason").map_err(|e| e.to_string())?;
    let dir = path.parent().ok_or("a staged file is in a directory")?;
    let name = format!("quarantine-{}.parquet", crate::batch::uuid_like());
    let mut renamed = QuarantineSpill::create(dir, &name)?;
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let lines = batch
            .column(line_at)
            .as_primitive_opt::<Int64Type>()
            .ok_or("the line column is not an integer")?;
        let reasons = batch
            .column(reason_at)
            .as_string_opt::<i32>()
            .ok_or("the reason column is not text")?;
        let reasons: StringArray = (0..batch.num_rows())
            .map(|i| {
                u64::try_from(lines.value(i))
                    .ok()
                    .and_then(&reason_of)
                    .or_else(|| reasons.is_valid(i).then(|| reasons.value(i).to_string()))
            })
            .collect();
        let mut columns = batch.columns().to_vec();
        columns[reason_at] = Arc::new(reasons);
        let batch = arrow::record_batch::RecordBatch::try_new(batch.schema(), columns)
            .map_err(|e| e.to_string())?;
        renamed.writer.write(&batch).map_err(|e| e.to_string())?;
    }
    renamed.writer.close().map_err(|e| e.to_string())?;
    std::fs::rename(&renamed.path, path).map_err(|e| e.to_string())
}
