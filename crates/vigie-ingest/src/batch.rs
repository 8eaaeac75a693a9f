//! Accumulates accepted rows of one entity into Arrow record batches.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use vigie_model::{Entity, FieldType};

use crate::value::Value;

enum Column {
    Str(StringBuilder),
    Int(Int32Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
}

impl Column {
    fn new(ty: FieldType) -> Self {
        match ty {
            FieldType::PersonKey | FieldType::Text => Column::Str(StringBuilder::new()),
            FieldType::Int => Column::Int(Int32Builder::new()),
            FieldType::Float => Column::Float(Float64Builder::new()),
            FieldType::Date => Column::Date(Date32Builder::new()),
            FieldType::DateTime => Column::Ts(TimestampMicrosecondBuilder::new()),
        }
    }

    fn push(&mut self, v: &Value) {
        match (self, v) {
            (Column::Str(b), Value::Str(s)) => b.append_value(s),
            (Column::Str(b), Value::Shared(s)) => b.append_value(s),
            (Column::Int(b), Value::Int(n)) => b.append_value(*n),
            (Column::Float(b), Value::Float(x)) => b.append_value(*x),
            (Column::Date(b), Value::Date(d)) => b.append_value(*d),
            (Column::Ts(b), Value::DateTime(t)) => b.append_value(*t),
            (Column::Str(b), _) => b.append_null(),
            (Column::Int(b), _) => b.append_null(),
            (Column::Float(b), _) => b.append_null(),
            (Column::Date(b), _) => b.append_null(),
            (Column::Ts(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Str(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Float(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Ts(b) => Arc::new(b.finish()),
        }
    }
}

/// Where rows come from: the same for every row of one file's batches, so stored once and
/// repeated when a batch is cut rather than appended row by row.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The source (`_source`).
    pub source: String,
    /// The landed file (`_file`).
    pub file: String,
    /// The load (`_load_id`).
    pub load_id: String,
}

/// `value` `rows` times, as a text column.
fn repeated(value: &str, rows: usize) -> ArrayRef {
    let mut column = StringBuilder::with_capacity(rows, value.len() * rows);
    for _ in 0..rows {
        column.append_value(value);
    }
    Arc::new(column.finish())
}

/// Rows per row group of a staging file.
const STAGING_ROW_GROUP_ROWS: usize = 65_536;

/// The accepted rows of one entity from one file, as record batches in the warehouse schema.
pub struct EntityBatches {
    /// The entity.
    pub entity: Entity,
    /// Finished batches.
    pub batches: Vec<RecordBatch>,
    /// Event months present (`YYYY-MM`), for `replace` loads.
    pub months: BTreeSet<String>,
    /// Rows per event month, for the shrink guard of `replace` loads.
    pub month_rows: std::collections::BTreeMap<String, u64>,
    /// Rows accepted.
    pub rows: u64,
    schema: SchemaRef,
    columns: Vec<Column>,
    /// The person's number, for entities that name a person.
    person_number: Option<Int32Builder>,
    provenance: Provenance,
    line: Int64Builder,
    month: StringBuilder,
    pending: usize,
    batch_rows: usize,
    staging: Option<Staging>,
    /// Staging files of other parts of the file (parsed in parallel), absorbed whole.
    absorbed: Vec<PathBuf>,
}

/// Where rows go once a file holds more than fit comfortably in memory.
struct Staging {
    dir: PathBuf,
    limit_rows: usize,
    writer: Option<(PathBuf, ArrowWriter<File>)>,
}

/// The accepted rows of an entity, ready for the warehouse.
pub enum EntityData {
    /// Few enough to stay in memory.
    Batches(Vec<RecordBatch>),
    /// Spilled to staging Parquet files (streamed into the warehouse, then deleted).
    Staged(Vec<PathBuf>),
}

fn external(e: impl std::error::Error + Send + Sync + 'static) -> ArrowError {
    ArrowError::ExternalError(Box::new(e))
}

impl EntityBatches {
    /// Spills rows to a Parquet file in `dir` once more than `limit_rows` are held, so a
    /// file of any size is ingested in bounded memory.
    pub fn staged(mut self, dir: Option<&Path>, limit_rows: usize) -> Self {
        self.staging = dir.map(|d| Staging {
            dir: d.to_path_buf(),
            limit_rows: limit_rows.max(1),
            writer: None,
        });
        self
    }

    fn spill(&mut self) -> Result<(), ArrowError> {
        let Some(staging) = self.staging.as_mut() else {
            return Ok(());
        };
        let held: usize = self.batches.iter().map(RecordBatch::num_rows).sum();
        if staging.writer.is_none() && held < staging.limit_rows {
            return Ok(());
        }
        if staging.writer.is_none() {
            let path = staging.dir.join(format!(
                "{}-{}.parquet",
                self.entity.table_name(),
                uuid_like()
            ));
            let file = File::create(&path).map_err(external)?;
            // Small row groups: a writer holds its open row group in memory, and a file
            // read in parts has a writer per part and entity.
            let props = staging_properties()
                .set_max_row_group_row_count(Some(STAGING_ROW_GROUP_ROWS))
                .build();
            let writer =
                ArrowWriter::try_new(file, self.schema.clone(), Some(props)).map_err(external)?;
            staging.writer = Some((path, writer));
        }
        if let Some((_, writer)) = staging.writer.as_mut() {
            for b in self.batches.drain(..) {
                writer.write(&b).map_err(external)?;
            }
        }
        Ok(())
    }

    /// Whether rows have spilled to a staging file (they no longer weigh on memory).
    pub fn is_staged(&self) -> bool {
        !self.absorbed.is_empty() || self.staging.as_ref().is_some_and(|s| s.writer.is_some())
    }

    /// Finishes the rows: in memory, or the closed staging files.
    pub fn finish(mut self) -> Result<EntityData, ArrowError> {
        self.flush()?;
        if !self.absorbed.is_empty() && !self.batches.is_empty() {
            // Rows of other parts are on disk already: these join them there.
            self.force_spill()?;
        }
        let mut files = std::mem::take(&mut self.absorbed);
        match self.staging.as_mut().and_then(|s| s.writer.take()) {
            None if files.is_empty() => Ok(EntityData::Batches(self.batches)),
            None => Ok(EntityData::Staged(files)),
            Some((path, mut writer)) => {
                for b in self.batches.drain(..) {
                    writer.write(&b).map_err(external)?;
                }
                writer.close().map_err(external)?;
                files.insert(0, path);
                Ok(EntityData::Staged(files))
            }
        }
    }

    /// Spills whatever is held, however little.
    fn force_spill(&mut self) -> Result<(), ArrowError> {
        if let Some(staging) = self.staging.as_mut() {
            staging.limit_rows = 0;
        }
        self.spill()
    }

    /// Adds the rows of a later part of the same file (parsed in parallel), leaving out
    /// the records at `drop_lines` (duplicates of records of earlier parts). Returns the
    /// rows left out.
    pub(crate) fn absorb(
        &mut self,
        part: EntityBatches,
        drop_lines: &HashSet<u64>,
    ) -> Result<Vec<DroppedRow>, ArrowError> {
        let (rows, month_rows) = (part.rows, part.month_rows.clone());
        let mut dropped = Vec::new();
        match part.finish()? {
            EntityData::Batches(batches) => {
                for b in batches {
                    self.batches.push(keep_lines(&b, drop_lines, &mut dropped)?);
                }
                self.spill()?;
            }
            EntityData::Staged(files) if drop_lines.is_empty() => self.absorbed.extend(files),
            EntityData::Staged(files) => {
                for path in files {
                    self.absorbed
                        .push(rewrite_without(&path, drop_lines, &mut dropped)?);
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        self.rows += rows - dropped.len() as u64;
        for (month, n) in month_rows {
            *self.month_rows.entry(month).or_default() += n;
        }
        for d in &dropped {
            if let Some(month) = &d.month
                && let Some(n) = self.month_rows.get_mut(month)
            {
                *n = n.saturating_sub(1);
            }
        }
        self.month_rows.retain(|_, n| *n > 0);
        self.months = self.month_rows.keys().cloned().collect();
        Ok(dropped)
    }

    /// Empty batches for an entity's rows from one file; a batch is cut every `batch_rows`
    /// rows.
    pub fn new(entity: Entity, batch_rows: usize, provenance: Provenance) -> Self {
        EntityBatches {
            entity,
            batches: Vec::new(),
            months: BTreeSet::new(),
            month_rows: std::collections::BTreeMap::new(),
            rows: 0,
            schema: entity.schema(),
            columns: entity.fields().iter().map(|f| Column::new(f.ty)).collect(),
            person_number: entity.person_key_field().map(|_| Int32Builder::new()),
            provenance,
            line: Int64Builder::new(),
            month: StringBuilder::new(),
            pending: 0,
            batch_rows: batch_rows.max(1),
            staging: None,
            absorbed: Vec::new(),
        }
    }

    /// Appends the row of the file's `line` (values in canonical field order;
    /// `person_number` the number of its person key, for entities that name a person).
    pub fn push(
        &mut self,
        values: &[Value],
        person_number: Option<u32>,
        month: Option<&str>,
        line: u64,
    ) -> Result<(), ArrowError> {
        for (col, v) in self.columns.iter_mut().zip(values) {
            col.push(v);
        }
        if let Some(numbers) = self.person_number.as_mut() {
            // Numbers never exceed i32::MAX (`PersonNumbers` refuses to give more).
            numbers.append_option(person_number.and_then(|n| i32::try_from(n).ok()));
        }
        self.line.append_value(line as i64);
        if let Some(m) = month {
            self.month.append_value(m);
            match self.month_rows.get_mut(m) {
                Some(n) => *n += 1,
                None => {
                    self.months.insert(m.to_string());
                    self.month_rows.insert(m.to_string(), 1);
                }
            }
        }
        self.rows += 1;
        self.pending += 1;
        if self.pending >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Cuts the pending rows into a batch.
    pub fn flush(&mut self) -> Result<(), ArrowError> {
        if self.pending == 0 {
            return Ok(());
        }
        let mut arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        if let Some(numbers) = self.person_number.as_mut() {
            arrays.push(Arc::new(numbers.finish()));
        }
        let rows = self.pending;
        arrays.push(repeated(&self.provenance.source, rows));
        arrays.push(repeated(&self.provenance.file, rows));
        arrays.push(Arc::new(self.line.finish()));
        arrays.push(repeated(&self.provenance.load_id, rows));
        if self.entity.event_date_field().is_some() {
            arrays.push(Arc::new(self.month.finish()));
        }
        self.batches
            .push(RecordBatch::try_new(self.schema.clone(), arrays)?);
        self.pending = 0;
        self.spill()
    }
}

/// A row left out of the table after the fact (a duplicate found across parts of a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DroppedRow {
    /// Its line.
    pub line: u64,
    /// Its event month, for entities with events.
    pub month: Option<String>,
    /// Its person's pseudonymous key, when it names one.
    pub person_key: Option<String>,
}

/// `batch` without the rows at `drop_lines`, recording what was left out.
fn keep_lines(
    batch: &RecordBatch,
    drop_lines: &HashSet<u64>,
    dropped: &mut Vec<DroppedRow>,
) -> Result<RecordBatch, ArrowError> {
    use arrow::array::{Array, AsArray, BooleanArray};
    use arrow::datatypes::Int64Type;
    if drop_lines.is_empty() {
        return Ok(batch.clone());
    }
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8))
            .transpose()
    };
    let lines = batch
        .column_by_name("_line")
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| ArrowError::SchemaError("a staged batch lacks _line".into()))?;
    let months = column(vigie_model::EVENT_MONTH)?;
    let keys = column("person_key")?;
    let text = |c: &Option<ArrayRef>, i: usize| {
        c.as_ref()
            .map(|c| c.as_string::<i32>())
            .filter(|c| c.is_valid(i))
            .map(|c| c.value(i).to_string())
    };
    let keep: BooleanArray = (0..batch.num_rows())
        .map(|i| {
            let line = u64::try_from(lines.value(i)).unwrap_or_default();
            let drop = drop_lines.contains(&line);
            if drop {
                dropped.push(DroppedRow {
                    line,
                    month: text(&months, i),
                    person_key: text(&keys, i),
                });
            }
            Some(!drop)
        })
        .collect();
    arrow::compute::filter_record_batch(batch, &keep)
}

/// A copy of the staging file at `path` without the rows at `drop_lines`.
fn rewrite_without(
    path: &Path,
    drop_lines: &HashSet<u64>,
    dropped: &mut Vec<DroppedRow>,
) -> Result<PathBuf, ArrowError> {
    let input = File::open(path).map_err(external)?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(input)
        .map_err(external)?;
    let schema = reader.schema().clone();
    let reader = reader.build().map_err(external)?;
    let out_path = path.with_extension(format!("{}.parquet", uuid_like()));
    let out = File::create(&out_path).map_err(external)?;
    let props = staging_properties().build();
    let mut writer = ArrowWriter::try_new(out, schema, Some(props)).map_err(external)?;
    for batch in reader {
        writer
            .write(&keep_lines(&batch?, drop_lines, dropped)?)
            .map_err(external)?;
    }
    writer.close().map_err(external)?;
    Ok(out_path)
}

/// Settings of a staging file. No dictionaries and no statistics: the file is read back
/// once, whole, by the same load — nothing prunes on it — and dictionary building (staging
/// and warehouse files together) was 7% of a hospital load's CPU samples, string minimums
/// and maximums half of a survey load's `memcmp`.
fn staging_properties() -> parquet::file::properties::WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
}

/// A name unique within the process and time (staging files live in a per-load directory).
pub(crate) fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
