//! Accumulates accepted rows of one entity into Arrow record batches.

use std::collections::BTreeSet;
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
    source: StringBuilder,
    file: StringBuilder,
    line: Int64Builder,
    load_id: StringBuilder,
    month: StringBuilder,
    pending: usize,
    batch_rows: usize,
    staging: Option<Staging>,
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
    /// Spilled to a staging Parquet file (streamed into the warehouse, then deleted).
    Staged(PathBuf),
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
            let props = WriterProperties::builder()
                .set_compression(Compression::LZ4_RAW)
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
        self.staging.as_ref().is_some_and(|s| s.writer.is_some())
    }

    /// Finishes the rows: in memory, or the closed staging file.
    pub fn finish(mut self) -> Result<EntityData, ArrowError> {
        self.flush()?;
        match self.staging.as_mut().and_then(|s| s.writer.take()) {
            None => Ok(EntityData::Batches(self.batches)),
            Some((path, mut writer)) => {
                for b in self.batches.drain(..) {
                    writer.write(&b).map_err(external)?;
                }
                writer.close().map_err(external)?;
                Ok(EntityData::Staged(path))
            }
        }
    }

    /// Empty batches for an entity; a batch is cut every `batch_rows` rows.
    pub fn new(entity: Entity, batch_rows: usize) -> Self {
        EntityBatches {
            entity,
            batches: Vec::new(),
            months: BTreeSet::new(),
            month_rows: std::collections::BTreeMap::new(),
            rows: 0,
            schema: entity.schema(),
            columns: entity.fields().iter().map(|f| Column::new(f.ty)).collect(),
            person_number: entity.person_key_field().map(|_| Int32Builder::new()),
            source: StringBuilder::new(),
            file: StringBuilder::new(),
            line: Int64Builder::new(),
            load_id: StringBuilder::new(),
            month: StringBuilder::new(),
            pending: 0,
            batch_rows: batch_rows.max(1),
            staging: None,
        }
    }

    /// Appends one row (values in canonical field order; `person_number` the number of its
    /// person key, for entities that name a person).
    pub fn push(
        &mut self,
        values: &[Value],
        person_number: Option<u32>,
        month: Option<&str>,
        provenance: (&str, &str, u64, &str),
    ) -> Result<(), ArrowError> {
        for (col, v) in self.columns.iter_mut().zip(values) {
            col.push(v);
        }
        if let Some(numbers) = self.person_number.as_mut() {
            // Numbers never exceed i32::MAX (`PersonNumbers` refuses to give more).
            numbers.append_option(person_number.and_then(|n| i32::try_from(n).ok()));
        }
        let (source, file, line, load_id) = provenance;
        self.source.append_value(source);
        self.file.append_value(file);
        self.line.append_value(line as i64);
        self.load_id.append_value(load_id);
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
        arrays.push(Arc::new(self.source.finish()));
        arrays.push(Arc::new(self.file.finish()));
        arrays.push(Arc::new(self.line.finish()));
        arrays.push(Arc::new(self.load_id.finish()));
        if self.entity.event_date_field().is_some() {
            arrays.push(Arc::new(self.month.finish()));
        }
        self.batches
            .push(RecordBatch::try_new(self.schema.clone(), arrays)?);
        self.pending = 0;
        self.spill()
    }
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
