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

use crate::hostile::{
    Container, MAX_COLUMNS, RecordWindow, check_csv_bytes, check_parquet_container, container,
    library_detail, not_csv_text, record_too_long, spans_lines, too_many_columns,
};

/// Why reading stopped; the caller adds the file name.
#[derive(Debug)]
pub struct ReadError {
    pub line: u64,
    pub message: String,
}

/// A text record: its line and its cells. The readers hand out one record buffer, refilled
/// for each record (its cells keep their allocations), so reading allocates nothing per
/// record once the longest cells have been seen.
pub struct Record {
    pub line: u64,
    pub cells: Vec<String>,
}

/// Calls `each` for the header (once, first) and then for every data record of a CSV file.
///
/// Before reading, the bytes are checked for what is not CSV text at all (see
/// [`crate::hostile`]); while reading, a record may not outgrow
/// [`crate::hostile::MAX_RECORD_BYTES`], the header [`MAX_COLUMNS`] fields, and a quoted
/// field may hold a line break only where the dialect declares `multiline`.
pub fn read_csv(
    data: &[u8],
    dialect: &CsvDialect,
    each: impl FnMut(&Record) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    check_csv_bytes(data)?;
    let data = data
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(data);
    read_csv_records(data, dialect, &CsvPart::WHOLE, each)
}

/// Where a part of a CSV file starts, for files read in parts in parallel (see `chunked`).
#[derive(Debug, Clone, Copy)]
pub struct CsvPart {
    /// The line of the part's first byte.
    pub first_line: u64,
    /// The fields every record has (the header's count); None for the part with the header.
    pub fields: Option<usize>,
}

impl CsvPart {
    /// The whole file, header first.
    pub const WHOLE: CsvPart = CsvPart {
        first_line: 1,
        fields: None,
    };
}

/// Reads the records of a CSV file, or of a part of it starting at a record boundary (the
/// bytes already checked by [`check_csv_bytes`], the byte-order mark stripped): as
/// [`read_csv`] for the part holding the header; a later part only has data records.
pub fn read_csv_records(
    data: &[u8],
    dialect: &CsvDialect,
    part: &CsvPart,
    mut each: impl FnMut(&Record) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    if let Some(line) = utf8_declared_single_byte(data, dialect.encoding) {
        return Err(ReadError {
            line: part.first_line + line,
            message: format!(
                "the file is UTF-8 (every accented character is two bytes of a valid UTF-8 sequence), not {}: set `format.encoding: utf-8` in the source spec / le fichier est en UTF-8 : indiquez `format.encoding: utf-8`",
                encoding_name(dialect.encoding)
            ),
        });
    }
    let mut reader = csv_reader(data, dialect);
    let mut record = csv::ByteRecord::new();
    let mut out = Record {
        line: 0,
        cells: Vec::new(),
    };
    let mut expected_fields: Option<usize> = part.fields;
    let mut first = part.fields.is_none();
    let mut lines = Lines {
        data,
        offset: 0,
        line: part.first_line,
        break_byte: line_break_of(data),
    };
    loop {
        let start = reader.position().clone();
        reader.get_mut().record_starts(start.byte());
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = lines.at(Some(&start));
                return Err(if reader.get_ref().exceeded() {
                    record_too_long(line)
                } else {
                    csv_error(&e, line)
                });
            }
        };
        if !more {
            break;
        }
        let line = lines.at(record.position());
        if first && record.len() > MAX_COLUMNS {
            return Err(too_many_columns(record.len(), dialect.header));
        }
        // Checked before the field count: a stray quote that swallowed the next lines
        // usually changes the count too, and the quote is the cause to report.
        if !dialect.multiline
            && let Some(field) = record
                .iter()
                .position(|f| f.contains(&b'\n') || f.contains(&b'\r'))
        {
            return Err(spans_lines(line, field + 1));
        }
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
        out.cells.resize_with(record.len(), String::new);
        for (i, (raw, cell)) in record.iter().zip(out.cells.iter_mut()).enumerate() {
            if dialect.encoding != Encoding::Utf8 && holds_utf8_accent(raw) {
                return Err(ReadError {
                    line,
                    message: format!(
                        "field {} holds an accented letter written in UTF-8 (two bytes, read as {} they would be stored as `Ã©` for `é`): the export mixes encodings; ask the partner for a new extract in one encoding / le champ {} contient une lettre accentuée en UTF-8 dans un fichier {} : demandez un nouvel extrait dans un seul encodage",
                        i + 1,
                        encoding_name(dialect.encoding),
                        i + 1,
                        encoding_name(dialect.encoding)
                    ),
                });
            }
            let text = decode(raw, dialect.encoding).ok_or_else(|| ReadError {
                line,
                message: format!(
                    "field {} holds bytes that are not valid {}: check the partner's export encoding (e.g. set `format.encoding: windows-1252`)",
                    i + 1,
                    encoding_name(dialect.encoding)
                ),
            })?;
            cell.clear();
            cell.push_str(&text);
        }
        if first && !dialect.header {
            // No header row: columns are named by position, 1-based.
            let names = (1..=out.cells.len()).map(|i| i.to_string()).collect();
            each(&Record {
                line: 0,
                cells: names,
            })?;
        }
        first = false;
        out.line = line;
        each(&out)?;
    }
    Ok(())
}

/// A CSV reader over the file's bytes through a [`RecordWindow`], so that no record is
/// copied past [`crate::hostile::MAX_RECORD_BYTES`]. Every record comes back, the header
/// included: the window is moved before each one. Field counts are checked by the callers
/// (flexible here), so that a record is seen whole before its count is judged.
fn csv_reader<'a>(data: &'a [u8], dialect: &CsvDialect) -> csv::Reader<RecordWindow<'a>> {
    let (delimiter, quote) = separators(dialect);
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(RecordWindow::new(data))
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
    /// The byte that ends a line (see [`line_break_of`]).
    break_byte: u8,
}

/// The byte that ends a line of `data`: a carriage return in a file written with the old
/// Macintosh convention (no line feed at all, which the CSV reader splits on carriage
/// returns), otherwise a line feed (`\n` and `\r\n` files). Counted on line feeds alone,
/// every record of such a file was on line 1, in the quarantine and in the warehouse.
fn line_break_of(data: &[u8]) -> u8 {
    if !data.contains(&b'\n') && data.contains(&b'\r') {
        b'\r'
    } else {
        b'\n'
    }
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
            // Never happens (records come in order); recount from the part's start.
            let before = self.data[..self.offset]
                .iter()
                .filter(|&&b| b == self.break_byte)
                .count();
            self.line -= before as u64;
            self.offset = 0;
        }
        self.line += self.data[self.offset..start]
            .iter()
            .filter(|&&b| b == self.break_byte)
            .count() as u64;
        self.offset = start;
        self.line
    }
}

fn csv_error(e: &csv::Error, line: u64) -> ReadError {
    // The reader is flexible (field counts are checked by the caller) and reads bytes, not
    // text, so an I/O error is all it can report.
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => "malformed CSV record".to_string(),
    };
    ReadError { line, message }
}

/// For a file (or part) declared in a single-byte encoding: when its bytes are valid UTF-8
/// and not all ASCII, the lines (from 0) before its first non-ASCII byte. Such a file is a
/// UTF-8 export: read as Windows-1252 its `é` became `Ã©`, stored without a word. Text truly
/// in Windows-1252 is not valid UTF-8 as soon as it holds an accented letter followed by a
/// plain one.
fn utf8_declared_single_byte(data: &[u8], encoding: Encoding) -> Option<u64> {
    if encoding == Encoding::Utf8 || data.is_ascii() || std::str::from_utf8(data).is_err() {
        return None;
    }
    let first = data.iter().position(|b| !b.is_ascii())?;
    let break_byte = line_break_of(data);
    Some(data[..first].iter().filter(|&&b| b == break_byte).count() as u64)
}

/// Whether `raw` holds the UTF-8 form of a Latin-1 letter or sign (U+00A0 to U+00FF: `é` is
/// `C3 A9`). Read as Windows-1252 those two bytes are `Ã` or `Â` followed by a sign (`Ã©`),
/// a pair no French or English text holds: a single-byte file with them is a mixed export.
fn holds_utf8_accent(raw: &[u8]) -> bool {
    raw.windows(2)
        .any(|w| matches!(w, [0xC2 | 0xC3, 0x80..=0xBF]))
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
        // WHATWG maps ISO-8859-1 to Windows-1252, which decodes every byte; the five bytes
        // Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) come out as C1
        // control characters, which no text holds: the file is in another encoding.
        Encoding::Windows1252 | Encoding::Iso8859_1 => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling_and_without_replacement(raw)
            .filter(|text| !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c))),
    }
}

/// Calls `each` for the header (the column names) and then for every row of a Parquet file,
/// every column converted to text.
pub fn read_parquet(
    data: Bytes,
    mut each: impl FnMut(&Record) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    check_parquet_container(&data)?;
    let builder = decoder_step(|| ParquetRecordBatchReaderBuilder::try_new(data))
        .ok_or_else(|| damaged_parquet(0))?
        .map_err(|e| ReadError {
            line: 0,
            message: format!("not a readable Parquet file: {}", library_detail(&e)),
        })?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut out = Record {
        line: 0,
        cells: names,
    };
    each(&out)?;
    let mut reader = decoder_step(|| builder.with_batch_size(8192).build())
        .ok_or_else(|| damaged_parquet(0))?
        .map_err(|e| ReadError {
            line: 0,
            message: format!("not a readable Parquet file: {}", library_detail(&e)),
        })?;
    let mut row: u64 = 0;
    loop {
        let next = decoder_step(|| reader.next()).ok_or_else(|| damaged_parquet(row + 1))?;
        let Some(batch) = next else {
            break;
        };
        let batch = batch.map_err(|e| ReadError {
            line: row + 1,
            message: format!("cannot read Parquet data: {}", library_detail(&e)),
        })?;
        let mut columns = Vec::with_capacity(batch.num_columns());
        for col in batch.columns() {
            let text = decoder_step(|| cast(col, &DataType::Utf8))
                .ok_or_else(|| damaged_parquet(row + 1))?
                .map_err(|e| ReadError {
                    line: row + 1,
                    message: format!(
                        "a Parquet column cannot be read as text: {}",
                        library_detail(&e)
                    ),
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
        out.cells.resize_with(columns.len(), String::new);
        for i in 0..batch.num_rows() {
            row += 1;
            for (c, cell) in columns.iter().zip(out.cells.iter_mut()) {
                cell.clear();
                if !c.is_null(i) {
                    cell.push_str(c.value(i));
                }
            }
            out.line = row;
            each(&out)?;
        }
    }
    Ok(())
}

/// Runs one step of the Parquet decoder, a panic turned into `None`. The parquet and arrow
/// crates (59) still panic instead of returning an error on some damaged files: fuzzing and
/// hand-damaged files hit a dozen sites, among them an RLE bit width over 32, a negative
/// column chunk range, a division by zero and `unimplemented!` types in the embedded Arrow
/// schema (upstream tracks the class in apache/arrow-rs#7102). One damaged partner file must be rejected, not fail
/// the parser thread and with it the load of every other file. Unwind safety holds:
/// whatever the step touched (builder, reader) is dropped unused after a panic. Relies on
/// the default `panic = "unwind"`; the default hook still prints the panic to stderr.
fn decoder_step<T>(step: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).ok()
}

fn damaged_parquet(line: u64) -> ReadError {
    ReadError {
        line,
        message: "the Parquet file is damaged: its decoder failed on it; ask the partner to send it again (a file cut short in transfer or written by a faulty exporter)".into(),
    }
}

/// Counts the data records of a file leniently (any field count, bytes not decoded), for the
/// accounting of a file rejected whole; stops at the first unreadable record. Bounded like
/// [`read_csv`]: no record is copied past [`crate::hostile::MAX_RECORD_BYTES`] (counting
/// stops there). A file that is not CSV text (compressed, an archive, UTF-16) counts no
/// records: they cannot be told apart without converting it.
pub fn count_records(data: &Bytes, format: &vigie_model::config::FileFormat) -> u64 {
    match format {
        vigie_model::config::FileFormat::Csv(dialect) => {
            if not_csv_text(data) {
                return 0;
            }
            let body = data
                .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                .unwrap_or(data);
            let mut reader = csv_reader(body, dialect);
            let mut record = csv::ByteRecord::new();
            let mut n: u64 = 0;
            loop {
                let start = reader.position().byte();
                reader.get_mut().record_starts(start);
                match reader.read_byte_record(&mut record) {
                    Ok(true) => n += 1,
                    _ => break,
                }
            }
            // The header is a record, not a row.
            if dialect.header {
                n.saturating_sub(1)
            } else {
                n
            }
        }
        vigie_model::config::FileFormat::Parquet {} => {
            if container(data).is_some_and(|c| c != Container::Parquet) {
                return 0;
            }
            decoder_step(|| ParquetRecordBatchReaderBuilder::try_new(data.clone()))
                .and_then(Result::ok)
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
