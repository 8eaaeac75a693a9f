//! Accumulates accepted rows of one entity into Arrow record batches.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
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
    /// Rows accepted.
    pub rows: u64,
    schema: SchemaRef,
    columns: Vec<Column>,
    source: StringBuilder,
    file: StringBuilder,
    line: Int64Builder,
    load_id: StringBuilder,
    month: StringBuilder,
    pending: usize,
    batch_rows: usize,
}

impl EntityBatches {
    /// Empty batches for an entity; a batch is cut every `batch_rows` rows.
    pub fn new(entity: Entity, batch_rows: usize) -> Self {
        EntityBatches {
            entity,
            batches: Vec::new(),
            months: BTreeSet::new(),
            rows: 0,
            schema: entity.schema(),
            columns: entity.fields().iter().map(|f| Column::new(f.ty)).collect(),
            source: StringBuilder::new(),
            file: StringBuilder::new(),
            line: Int64Builder::new(),
            load_id: StringBuilder::new(),
            month: StringBuilder::new(),
            pending: 0,
            batch_rows: batch_rows.max(1),
        }
    }

    /// Appends one row (values in canonical field order).
    pub fn push(
        &mut self,
        values: &[Value],
        month: Option<&str>,
        provenance: (&str, &str, u64, &str),
    ) -> Result<(), ArrowError> {
        for (col, v) in self.columns.iter_mut().zip(values) {
            col.push(v);
        }
        let (source, file, line, load_id) = provenance;
        self.source.append_value(source);
        self.file.append_value(file);
        self.line.append_value(line as i64);
        self.load_id.append_value(load_id);
        if let Some(m) = month {
            self.month.append_value(m);
            if !self.months.contains(m) {
                self.months.insert(m.to_string());
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
        Ok(())
    }
}
