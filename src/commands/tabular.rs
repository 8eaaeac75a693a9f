//! Writing record batches as a terminal table, CSV, JSON or Parquet (`vigie query`,
//! `vigie export results`). Nulls are empty CSV fields and JSON nulls; numbers stay numbers.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// Batches as a pretty table (for people at a terminal).
pub fn write_table(out: &mut dyn Write, batches: &[RecordBatch]) -> anyhow::Result<()> {
    writeln!(
        out,
        "{}",
        arrow::util::pretty::pretty_format_batches(batches)?
    )?;
    Ok(())
}

/// Batches as CSV with a header line; a null is an empty field.
pub fn write_csv(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(schema.fields().iter().map(|f| f.name()))?;
    let options = FormatOptions::default().with_null("");
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            w.write_record(formatters.iter().map(|f| f.value(row).to_string()))?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Batches as a JSON array of objects, one per row.
pub fn write_json(out: &mut dyn Write, batches: &[RecordBatch]) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let options = FormatOptions::default();
    for batch in batches {
        let schema = batch.schema();
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let mut object = serde_json::Map::new();
            for (i, field) in schema.fields().iter().enumerate() {
                let value = json_value(batch.column(i).as_ref(), row, &formatters[i]);
                object.insert(field.name().clone(), value);
            }
            rows.push(serde_json::Value::Object(object));
        }
    }
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)?;
    Ok(())
}

/// One cell as JSON: numbers and booleans as themselves, everything else as its text.
fn json_value(array: &dyn Array, row: usize, formatter: &ArrayFormatter<'_>) -> serde_json::Value {
    use arrow::datatypes::{
        Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
        UInt32Type, UInt64Type,
    };
    use serde_json::Value;
    if array.is_null(row) {
        return Value::Null;
    }
    let float = |x: f64| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number);
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => Value::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Value::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::from(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => Value::from(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => Value::from(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        _ => Value::String(formatter.value(row).to_string()),
    }
}

/// Batches as one Parquet file (zstd-compressed).
pub fn write_parquet(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let file = std::fs::File::create(path).with_context(|| {
        format!(
            "cannot create {} / impossible de créer {}",
            path.display(),
            path.display()
        )
    })?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(())
}

/// A file to write, or standard output when none is given.
pub fn output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| {
                format!(
                    "cannot create {} / impossible de créer {}",
                    p.display(),
                    p.display()
                )
            })?,
        )),
        None => Box::new(std::io::stdout().lock()),
    })
}
