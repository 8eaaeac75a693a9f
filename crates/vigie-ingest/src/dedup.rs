//! Exact duplicate records: a partner re-sending the same record, in the same file or in a
//! later one. A record's fingerprint is a 128-bit keyed hash of every canonical value of
//! every row it produced (an unpivoted survey response produces several rows), combined
//! so that the order of its rows does not matter: the fingerprint of a record already in
//! the warehouse, rebuilt from its stored rows grouped by file and line, is the same as
//! the fingerprint it had when it was parsed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int32Type, Int64Type};
use siphasher::sip128::{Hasher128, SipHasher13};
use vigie_model::{Entity, FieldType};

use crate::value::Value;

/// A record's fingerprint.
pub type Fingerprint = u128;

/// Fingerprints are already uniformly distributed: hash maps keyed by them need no hashing.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = (n as u64) ^ ((n >> 64) as u64);
    }
}

/// A map keyed by fingerprints.
pub type FingerprintMap<V> = HashMap<Fingerprint, V, BuildHasherDefault<PassThrough>>;

/// Where the first copy of a record already in the warehouse came from.
#[derive(Debug, Clone)]
pub struct FirstCopy {
    /// Its landing file.
    pub file: Arc<str>,
    /// Its line there.
    pub line: u64,
}

/// Fingerprints of the records of one source already in the warehouse.
pub type LoadedRecords = FingerprintMap<FirstCopy>;

/// The fingerprint of one row, from its canonical values.
pub fn row_fingerprint(entity: Entity, values: &[Value]) -> Fingerprint {
    let mut h = SipHasher13::new_with_keys(0x7669_6769_6520_6475, 0x706c_6963_6174_6573);
    h.write(entity.table_name().as_bytes());
    for v in values {
        match v {
            Value::Null => h.write_u8(0),
            Value::Str(s) => {
                h.write_u8(1);
                h.write_usize(s.len());
                h.write(s.as_bytes());
            }
            Value::Int(n) => {
                h.write_u8(2);
                h.write_i32(*n);
            }
            Value::Float(x) => {
                h.write_u8(3);
                h.write_u64(x.to_bits());
            }
            Value::Date(d) => {
                h.write_u8(4);
                h.write_i32(*d);
            }
            Value::DateTime(t) => {
                h.write_u8(5);
                h.write_i64(*t);
            }
        }
    }
    h.finish128().as_u128()
}

/// Combines the rows of one record, whatever their order.
pub fn combine(record: Fingerprint, row: Fingerprint) -> Fingerprint {
    record.wrapping_add(row)
}

/// Adds the fingerprints of the records in `batch` (rows of `entity` as stored in the
/// warehouse, with `_file` and `_line`) to `records`, keyed by (file, line).
pub fn add_stored_rows(
    entity: Entity,
    batch: &RecordBatch,
    records: &mut HashMap<(Arc<str>, u64), Fingerprint>,
    files: &mut HashMap<String, Arc<str>>,
) -> Result<(), String> {
    let schema = entity.schema();
    let mut columns = Vec::with_capacity(entity.fields().len());
    for def in entity.fields() {
        let array = batch
            .column_by_name(def.name)
            .ok_or_else(|| format!("{} lacks column {}", entity.table_name(), def.name))?;
        let target = schema
            .field_with_name(def.name)
            .map_err(|e| e.to_string())?
            .data_type()
            .clone();
        columns.push((def.ty, cast(array, &target)?));
    }
    let file = cast(
        batch
            .column_by_name("_file")
            .ok_or_else(|| format!("{} lacks _file", entity.table_name()))?,
        &DataType::Utf8,
    )?;
    let line = cast(
        batch
            .column_by_name("_line")
            .ok_or_else(|| format!("{} lacks _line", entity.table_name()))?,
        &DataType::Int64,
    )?;
    let file = file.as_string::<i32>();
    let line = line.as_primitive::<Int64Type>();
    let mut values = Vec::with_capacity(columns.len());
    for i in 0..batch.num_rows() {
        values.clear();
        for (ty, col) in &columns {
            values.push(value_at(*ty, col.as_ref(), i));
        }
        let name = file.value(i);
        let shared = match files.get(name) {
            Some(s) => s.clone(),
            None => {
                let s: Arc<str> = Arc::from(name);
                files.insert(name.to_string(), s.clone());
                s
            }
        };
        let slot = records
            .entry((shared, line.value(i).max(0) as u64))
            .or_insert(0);
        *slot = combine(*slot, row_fingerprint(entity, &values));
    }
    Ok(())
}

fn cast(array: &arrow::array::ArrayRef, to: &DataType) -> Result<arrow::array::ArrayRef, String> {
    arrow::compute::cast(array, to).map_err(|e| e.to_string())
}

fn value_at(ty: FieldType, col: &dyn Array, i: usize) -> Value {
    if col.is_null(i) {
        return Value::Null;
    }
    match ty {
        FieldType::PersonKey | FieldType::Text => col
            .as_string_opt::<i32>()
            .map(|a| Value::Str(a.value(i).to_string()))
            .unwrap_or(Value::Null),
        FieldType::Int => col
            .as_primitive_opt::<Int32Type>()
            .map(|a| Value::Int(a.value(i)))
            .unwrap_or(Value::Null),
        FieldType::Float => col
            .as_primitive_opt::<Float64Type>()
            .map(|a| Value::Float(a.value(i)))
            .unwrap_or(Value::Null),
        FieldType::Date => col
            .as_primitive_opt::<Date32Type>()
            .map(|a| Value::Date(a.value(i)))
            .unwrap_or(Value::Null),
        FieldType::DateTime => col
            .as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()
            .map(|a| Value::DateTime(a.value(i)))
            .unwrap_or(Value::Null),
    }
}

/// Turns fingerprints keyed by (file, line) into first copies keyed by fingerprint (the
/// earliest file and line win, so messages are stable).
pub fn first_copies(records: HashMap<(Arc<str>, u64), Fingerprint>) -> LoadedRecords {
    let mut out = LoadedRecords::default();
    for ((file, line), fp) in records {
        let replace = match out.get(&fp) {
            None => true,
            Some(c) => (file.as_ref(), line) < (c.file.as_ref(), c.line),
        };
        if replace {
            out.insert(fp, FirstCopy { file, line });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_the_same_whatever_the_order_of_its_rows() {
        let a = row_fingerprint(
            Entity::SurveyResponse,
            &[Value::Str("Q1".into()), Value::Int(4)],
        );
        let b = row_fingerprint(
            Entity::SurveyResponse,
            &[Value::Str("Q2".into()), Value::Int(3)],
        );
        assert_eq!(combine(combine(0, a), b), combine(combine(0, b), a));
        assert_ne!(a, b);
    }

    #[test]
    fn null_empty_and_zero_differ() {
        let e = Entity::EdVisit;
        let fps = [
            row_fingerprint(e, &[Value::Null]),
            row_fingerprint(e, &[Value::Str(String::new())]),
            row_fingerprint(e, &[Value::Int(0)]),
            row_fingerprint(e, &[Value::Date(0)]),
            row_fingerprint(e, &[Value::Float(0.0)]),
            row_fingerprint(e, &[Value::Str("a".into()), Value::Str("b".into())]),
            row_fingerprint(e, &[Value::Str("ab".into()), Value::Str(String::new())]),
        ];
        for i in 0..fps.len() {
            for j in 0..i {
                assert_ne!(fps[i], fps[j], "{i} vs {j}");
            }
        }
        assert_ne!(
            row_fingerprint(Entity::EdVisit, &[Value::Int(1)]),
            row_fingerprint(Entity::Admission, &[Value::Int(1)])
        );
    }
}
