//! Reading an extract as text records: CSV dialects and encodings, or Parquet columns as text.
//!
//! Every record comes with its 1-based line (CSV) or row number (Parquet, header-less).

use std::borrow::Cow;

use arrow::array::{Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use vigie_model::config::{CsvDialect, Encoding};

/// Why reading stopped; the caller adds the file name.
#[derive(Debug)]
pub struct ReadError {
    pub line: u64,
    pub message: String,
}

/// A text record: its line and its cells.
pub struct Record {
    pub line: u64,
    pub cells: Vec<String>,
}

/// Calls `each` for the header (once, first) and then for every data record of a CSV file.
pub fn read_csv(
    data: &[u8],
    dialect: &CsvDialect,
    mut each: impl FnMut(Record) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let (delimiter, quote) = separators(dialect);
    let data = data
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(data);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .has_headers(false)
        .flexible(false)
        .from_reader(data);
    let mut record = csv::ByteRecord::new();
    let mut expected_fields: Option<usize> = None;
    let mut first = true;
    let mut lines = Lines {
        data,
        offset: 0,
        line: 1,
    };
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = lines.at(e.position());
            csv_error(&e, line)
        })?;
        if !more {
            break;
        }
        let line = lines.at(record.position());
        if let Some(n) = expected_fields
            && record.len() != n
        {
            return Err(ReadError {
                line,
                message: format!(
                    "record has {} fields where the header has {n}: the file is truncated or a delimiter/quote is wrong",
                    record.len()
                ),
            });
        }
        expected_fields = Some(record.len());
        let mut cells = Vec::with_capacity(record.len());
        for (i, raw) in record.iter().enumerate() {
            let text = decode(raw, dialect.encoding).ok_or_else(|| ReadError {
                line,
                message: format!(
                    "field {} holds bytes that are not valid {}: check the partner's export encoding (e.g. set `format.encoding: windows-1252`)",
                    i + 1,
                    encoding_name(dialect.encoding)
                ),
            })?;
            cells.push(text.into_owned());
        }
        if first && !dialect.header {
            // No header row: columns are named by position, 1-based.
            let names = (1..=cells.len()).map(|i| i.to_string()).collect();
            each(Record {
                line: 0,
                cells: names,
            })?;
        }
        first = false;
        each(Record { line, cells })?;
    }
    Ok(())
}

/// The 1-based line where a record starts. `csv::Position::line` (and `byte`) lag behind
/// after a CRLF terminator or blank lines: they point at the end of the previous record
/// (BurntSushi/rust-csv#395). A record never starts with `\r` or `\n`, so the record starts
/// at the first other byte from there; its line is 1 + the `\n` bytes before it, counted
/// incrementally since records come in order.
struct Lines<'a> {
    data: &'a [u8],
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    fn at(&mut self, pos: Option<&csv::Position>) -> u64 {
        let Some(pos) = pos else { return 0 };
        let mut start = usize::try_from(pos.byte())
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        while start < self.data.len() && matches!(self.data[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += self.data[self.offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = start;
        self.line
    }
}

fn csv_error(e: &csv::Error, line: u64) -> ReadError {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "record has {len} fields where the header has {expected_len}: the file is truncated or a delimiter/quote is wrong"
        ),
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => "malformed CSV record".to_string(),
    };
    ReadError { line, message }
}

fn encoding_name(e: Encoding) -> &'static str {
    match e {
        Encoding::Utf8 => "UTF-8",
        Encoding::Windows1252 => "Windows-1252",
        Encoding::Iso8859_1 => "ISO-8859-1",
    }
}

fn decode(raw: &[u8], encoding: Encoding) -> Option<Cow<'_, str>> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(raw).ok().map(Cow::Borrowed),
        // WHATWG maps ISO-8859-1 to Windows-1252, which decodes every byte.
        Encoding::Windows1252 | Encoding::Iso8859_1 => {
            encoding_rs::WINDOWS_1252.decode_without_bom_handling_and_without_replacement(raw)
        }
    }
}

/// Calls `each` for the header (the column names) and then for every row of a Parquet file,
/// every column converted to text.
pub fn read_parquet(
    data: Bytes,
    mut each: impl FnMut(Record) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(data).map_err(|e| ReadError {
        line: 0,
        message: format!("not a readable Parquet file: {e}"),
    })?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    each(Record {
        line: 0,
        cells: names,
    })?;
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| ReadError {
            line: 0,
            message: format!("not a readable Parquet file: {e}"),
        })?;
    let mut row: u64 = 0;
    for batch in reader {
        let batch = batch.map_err(|e| ReadError {
            line: row + 1,
            message: format!("cannot read Parquet data: {e}"),
        })?;
        let mut columns = Vec::with_capacity(batch.num_columns());
        for col in batch.columns() {
            let text = cast(col, &DataType::Utf8).map_err(|e| ReadError {
                line: row + 1,
                message: format!("a Parquet column cannot be read as text: {e}"),
            })?;
            let text = text
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| ReadError {
                    line: row + 1,
                    message: "a Parquet column cannot be read as text".into(),
                })?;
            columns.push(text);
        }
        for i in 0..batch.num_rows() {
            row += 1;
            let cells = columns
                .iter()
                .map(|c| {
                    if c.is_null(i) {
                        String::new()
                    } else {
                        c.value(i).to_string()
                    }
                })
                .collect();
            each(Record { line: row, cells })?;
        }
    }
    Ok(())
}

/// Counts the data records of a file leniently (any field count, bytes not decoded), for the
/// accounting of a file rejected whole; stops at the first unreadable record.
pub fn count_records(data: &Bytes, format: &vigie_model::config::FileFormat) -> u64 {
    match format {
        vigie_model::config::FileFormat::Csv(dialect) => {
            let (delimiter, quote) = separators(dialect);
            let body = data
                .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                .unwrap_or(data);
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .quote(quote)
                .has_headers(dialect.header)
                .flexible(true)
                .from_reader(body);
            let mut record = csv::ByteRecord::new();
            let mut n = 0;
            while let Ok(true) = reader.read_byte_record(&mut record) {
                n += 1;
            }
            n
        }
        vigie_model::config::FileFormat::Parquet {} => {
            ParquetRecordBatchReaderBuilder::try_new(data.clone())
                .map(|b| b.metadata().file_metadata().num_rows().max(0) as u64)
                .unwrap_or(0)
        }
    }
}

/// The dialect's delimiter and quote bytes (`\t` may be written escaped in YAML).
fn separators(dialect: &CsvDialect) -> (u8, u8) {
    let delimiter = match dialect.delimiter.as_str() {
        "\\t" | "\t" => b'\t',
        d => d.as_bytes().first().copied().unwrap_or(b','),
    };
    (
        delimiter,
        dialect.quote.as_bytes().first().copied().unwrap_or(b'"'),
    )
}
