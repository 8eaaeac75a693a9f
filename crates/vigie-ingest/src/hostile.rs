//! Cheap checks that turn hostile or mistaken input into a clear whole-file rejection.
//!
//! Partners send what their tools produce: a gzipped export, an Excel workbook, UTF-16 text
//! ("Unicode text" in Excel), a transfer padded with NUL bytes, two exports glued together,
//! or a stray quote that runs on for megabytes. Each is caught here, before or while the CSV
//! reader runs, in time linear in the file and memory bounded beyond the file's own bytes,
//! and reported with the line at fault and what to do. No message quotes a cell: cells may
//! hold identifiers.

use std::io;

use crate::read::ReadError;

/// Longest record accepted, in bytes (from its first byte to its terminator). A record is one
/// visit, stay or answer: a few hundred bytes. A longer one is a quote left open swallowing
/// the rest of the file, or not CSV at all; the reader holds at most this much (plus a few
/// bytes) for one record instead of a copy of the whole file.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Most columns a header (or the first record of a file without one) may have. The widest
/// agreed extract (a wide survey) has a few dozen; thousands means the file is not the
/// agreed extract, and binding a spec to it would cost memory for nothing.
pub const MAX_COLUMNS: usize = 2_000;

/// How much of the file's start is examined for UTF-16 without a byte-order mark.
const SNIFF_BYTES: usize = 1024;

/// A file format recognised by its first bytes (its magic number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Gzip,
    Zstd,
    Xz,
    Bzip2,
    Zip,
    SevenZip,
    /// An OLE2 compound document: a legacy Excel `.xls` workbook (or another Office file).
    Ole2,
    Parquet,
}

/// Recognises compressed files, archives, legacy Office documents and Parquet by their
/// magic number. None of these can start a text file (their first bytes are control
/// characters or, for Parquet, `PAR1` both at the start and at the very end).
pub fn container(data: &[u8]) -> Option<Container> {
    let starts = |magic: &[u8]| data.starts_with(magic);
    if starts(b"\x1F\x8B\x08") {
        Some(Container::Gzip)
    } else if starts(b"\x28\xB5\x2F\xFD") {
        Some(Container::Zstd)
    } else if starts(b"\xFD7zXZ\x00") {
        Some(Container::Xz)
    } else if data.len() >= 10
        && starts(b"BZh")
        && (b'1'..=b'9').contains(&data[3])
        && (data[4..10] == *b"\x31\x41\x59\x26\x53\x59"
            || data[4..10] == *b"\x17\x72\x45\x38\x50\x90")
    {
        Some(Container::Bzip2)
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        Some(Container::Zip)
    } else if starts(b"7z\xBC\xAF\x27\x1C") {
        Some(Container::SevenZip)
    } else if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        Some(Container::Ole2)
    } else if data.len() >= 8 && starts(b"PAR1") && data.ends_with(b"PAR1") {
        Some(Container::Parquet)
    } else {
        None
    }
}

/// The message for a file that is a `found` container where `expected` (`CSV`, `Parquet`)
/// was declared.
fn container_message(found: Container, expected: &str) -> String {
    let compressed = |name: &str, tool: &str| {
        format!(
            "the file is compressed ({name}): decompress it ({tool}) before it lands, or ask the partner to send the {expected} file uncompressed"
        )
    };
    match found {
        Container::Gzip => compressed("gzip", "gunzip"),
        Container::Zstd => compressed("zstd", "unzstd"),
        Container::Xz => compressed("xz", "unxz"),
        Container::Bzip2 => compressed("bzip2", "bunzip2"),
        Container::Zip => format!(
            "the file is a zip archive, not {expected} (an Excel .xlsx workbook is one too): extract the {expected} file from it before it lands, or ask the partner for a plain {expected} export"
        ),
        Container::SevenZip => format!(
            "the file is a 7-Zip archive, not {expected}: extract the {expected} file from it before it lands, or ask the partner for a plain {expected} export"
        ),
        Container::Ole2 => format!(
            "the file is an Office document (e.g. an Excel .xls workbook), not {expected}: ask the partner to export it as {expected}"
        ),
        Container::Parquet => format!(
            "the file is Parquet, not {expected}: if the partner now sends Parquet, set `format: {{ type: parquet }}` in the source spec"
        ),
    }
}

/// Rejects a compressed file, an archive or an Office document declared as Parquet (a
/// Parquet file itself passes, to be read by the Parquet reader).
pub fn check_parquet_container(data: &[u8]) -> Result<(), ReadError> {
    match container(data) {
        Some(found) if found != Container::Parquet => Err(ReadError {
            line: 1,
            message: container_message(found, "Parquet"),
        }),
        _ => Ok(()),
    }
}

/// UTF-16 text, recognised by its byte-order mark or by NUL every other byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16 {
    LittleEndian { bom: bool },
    BigEndian { bom: bool },
}

/// Recognises UTF-16 text: a byte-order mark, or, without one, NUL bytes in one of every two
/// positions at the start of the file (the high byte of Latin characters), which no 8-bit
/// text has.
pub fn utf16(data: &[u8]) -> Option<Utf16> {
    if data.starts_with(b"\xFF\xFE") {
        return Some(Utf16::LittleEndian { bom: true });
    }
    if data.starts_with(b"\xFE\xFF") {
        return Some(Utf16::BigEndian { bom: true });
    }
    let sample = &data[..data.len().min(SNIFF_BYTES)];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    // Three quarters of the characters in the Latin range (the rest accented or CJK) and
    // hardly a NUL on the other side.
    let looks = |nul: usize, other: usize| nul * 4 >= pairs * 3 && other * 8 <= nul;
    if looks(odd, even) {
        Some(Utf16::LittleEndian { bom: false })
    } else if looks(even, odd) {
        Some(Utf16::BigEndian { bom: false })
    } else {
        None
    }
}

fn utf16_message(found: Utf16) -> String {
    let (order, bom) = match found {
        Utf16::LittleEndian { bom } => ("little-endian", bom),
        Utf16::BigEndian { bom } => ("big-endian", bom),
    };
    let how = if bom {
        "its byte-order mark says so"
    } else {
        "every other byte is NUL"
    };
    format!(
        "the file is UTF-16 text ({order}; {how}), which the CSV reader cannot split: export as UTF-8 (Excel: \"CSV UTF-8\"), or convert it first (iconv -f UTF-16 -t UTF-8)"
    )
}

/// Whether the bytes are not CSV text at all (compressed, an archive, a workbook, Parquet,
/// UTF-16): their records cannot be counted without converting them first.
pub fn not_csv_text(data: &[u8]) -> bool {
    container(data).is_some() || utf16(data).is_some()
}

/// Checks a CSV file's bytes (with any leading UTF-8 byte-order mark) before they are read:
/// no container, no UTF-16, no NUL byte, no second UTF-8 byte-order mark. Linear in the file,
/// no allocation.
pub fn check_csv_bytes(data: &[u8]) -> Result<(), ReadError> {
    if let Some(found) = container(data) {
        return Err(ReadError {
            line: 1,
            message: container_message(found, "CSV"),
        });
    }
    if let Some(found) = utf16(data) {
        return Err(ReadError {
            line: 1,
            message: utf16_message(found),
        });
    }
    if let Some(at) = find_byte(data, 0, 0) {
        return Err(ReadError {
            line: line_of(data, at),
            message: "the file holds a NUL byte (a damaged or zero-padded transfer, or binary or UTF-16/UTF-32 data, not CSV text): ask the partner to send the file again as a plain CSV export".into(),
        });
    }
    // A byte-order mark is only at the very start; one further in is a second export
    // appended to the first (its header then reads as a data record, or fails the count).
    let body = data
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(data);
    let skipped = data.len() - body.len();
    let mut from = 0;
    while let Some(at) = find_byte(body, 0xEF, from) {
        if body[at..].starts_with(b"\xEF\xBB\xBF") {
            return Err(ReadError {
                line: line_of(data, skipped + at),
                message: "a second UTF-8 byte-order mark: two exports were probably concatenated; send each export as its own file (or remove the extra mark and header row)".into(),
            });
        }
        from = at + 1;
    }
    Ok(())
}

/// The first `byte` in `data` at or after `from`. `<[u8]>::contains` is a memchr, so most of
/// the file is skipped a word at a time.
fn find_byte(data: &[u8], byte: u8, from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    let mut offset = from;
    for chunk in rest.chunks(1 << 12) {
        if chunk.contains(&byte) {
            return chunk.iter().position(|&b| b == byte).map(|i| offset + i);
        }
        offset += chunk.len();
    }
    None
}

/// The 1-based line of byte `at` (lines end at `\n`, as the reader's line numbers do).
pub fn line_of(data: &[u8], at: usize) -> u64 {
    let before = &data[..at.min(data.len())];
    1 + before.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Longest library error text quoted in a message.
const MAX_DETAIL_CHARS: usize = 300;

/// A library's error text, fit for a message: every word holding six digits or more
/// withheld, and cut short. The Parquet reader's errors quote column names and may quote
/// values (fuzzing found "expected field named 9876543217" from a damaged schema), and no
/// message may carry an identifier; the same rule keeps identifiers out of a header echoed
/// in a message.
pub fn library_detail(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    let mut out = String::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.chars().filter(char::is_ascii_digit).count() >= 6 {
            out.push_str("<withheld>");
        } else {
            out.push_str(word);
        }
        if out.chars().count() > MAX_DETAIL_CHARS {
            let cut: String = out.chars().take(MAX_DETAIL_CHARS).collect();
            return cut + "…";
        }
    }
    out
}

/// The rejection of a record that outgrew [`MAX_RECORD_BYTES`], at the line it starts.
pub fn record_too_long(line: u64) -> ReadError {
    ReadError {
        line,
        message: format!(
            "a record is longer than {} MiB: a quote left open runs on to a later quote, or the line ends or delimiter are not the declared ones, or this is not the agreed CSV extract; check the export",
            MAX_RECORD_BYTES >> 20
        ),
    }
}

/// The rejection of a header (or first record) wider than [`MAX_COLUMNS`].
pub fn too_many_columns(columns: usize, header: bool) -> ReadError {
    let what = if header {
        "the header"
    } else {
        "the first record"
    };
    ReadError {
        line: 1,
        message: format!(
            "{what} has {columns} fields, more than the {MAX_COLUMNS} a source may have: this is not the agreed extract, or its delimiter or quote is not the declared one; check the export and `format`"
        ),
    }
}

/// The rejection of a record whose quoted field holds a line break while the source does
/// not declare multi-line fields.
pub fn spans_lines(line: u64, field: usize) -> ReadError {
    ReadError {
        line,
        message: format!(
            "a quoted field (field {field}) spans lines: a stray quote may have swallowed the following records; fix the quoting in the export, or set `multiline: true` in the source's format if its fields may hold line breaks"
        ),
    }
}

/// The file's bytes as a reader that refuses to let one record grow past
/// [`MAX_RECORD_BYTES`]: the CSV reader otherwise copies a record of any length (a quote
/// left open makes the rest of the file one record).
///
/// The CSV reader asks for bytes only when it has used up every byte it was given, so at
/// each request the bytes served so far are exactly the bytes parsed. Bytes are served up to
/// the current record's start plus the limit; a request past that means the record has not
/// ended within the limit, and fails with an error the caller recognises by
/// [`RecordWindow::exceeded`].
pub struct RecordWindow<'a> {
    data: &'a [u8],
    /// Bytes served so far.
    pos: usize,
    /// Where the current record starts (blank lines before it skipped as they are served).
    start: usize,
    exceeded: bool,
}

impl<'a> RecordWindow<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        RecordWindow {
            data,
            pos: 0,
            start: 0,
            exceeded: false,
        }
    }

    /// A record starts at byte `at` (the CSV reader's position before reading it).
    pub fn record_starts(&mut self, at: u64) {
        let at = usize::try_from(at)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        self.start = self.start.max(at);
    }

    /// Whether reading stopped because a record outgrew the limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl io::Read for RecordWindow<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Line ends before the record are the previous record's terminator or blank lines,
        // not part of this record. Each byte is skipped once: `start` only moves forward.
        while self.start < self.pos && matches!(self.data[self.start], b'\r' | b'\n') {
            self.start += 1;
        }
        // +2: the record's own terminator (`\r\n`) may be needed to see that it ended.
        let limit = self
            .start
            .saturating_add(MAX_RECORD_BYTES + 2)
            .min(self.data.len());
        if self.pos >= limit {
            if self.pos < self.data.len() {
                self.exceeded = true;
                return Err(io::Error::other("record longer than the limit"));
            }
            return Ok(0);
        }
        let n = buf.len().min(limit - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(container(b"\x1F\x8B\x08\x00rest"), Some(Container::Gzip));
        assert_eq!(container(b"PK\x03\x04rest"), Some(Container::Zip));
        assert_eq!(
            container(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"),
            Some(Container::Ole2)
        );
        assert_eq!(container(b"PAR1....PAR1"), Some(Container::Parquet));
        // Text that merely starts like one is text.
        assert_eq!(container(b"PAR1,PAR2\n1,2\n"), None);
        assert_eq!(container(b"BZh,x\n"), None);
        assert_eq!(container(b"PK,NAME\n"), None);
        assert_eq!(container(b""), None);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let le: Vec<u8> = "HCN,DATE\r\n1,2\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "HCN,DATE\r\n1,2\r\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(utf16(&le), Some(Utf16::LittleEndian { bom: false }));
        assert_eq!(utf16(&be), Some(Utf16::BigEndian { bom: false }));
        assert_eq!(
            utf16(&[b"\xFF\xFE".as_slice(), &le].concat()),
            Some(Utf16::LittleEndian { bom: true })
        );
        assert_eq!(utf16(b"HCN,DATE\n1,2\n"), None);
        // A NUL or two in 8-bit text is not UTF-16 (the NUL check names its line instead).
        assert_eq!(utf16(b"HCN,DATE\n1,\x002\n"), None);
    }

    #[test]
    fn the_window_serves_a_short_file_whole() {
        let data = b"a,b\nc,d\n";
        let mut w = RecordWindow::new(data);
        let mut out = Vec::new();
        w.read_to_end(&mut out).expect("within the limit");
        assert_eq!(out, data);
        assert!(!w.exceeded());
    }

    #[test]
    fn the_window_stops_a_record_past_the_limit() {
        let mut data = vec![b'x'; MAX_RECORD_BYTES + 10];
        data.push(b'\n');
        let mut w = RecordWindow::new(&data);
        let mut out = Vec::new();
        assert!(w.read_to_end(&mut out).is_err());
        assert!(w.exceeded());
        assert!(out.len() <= MAX_RECORD_BYTES + 2);
    }

    #[test]
    fn library_details_withhold_identifiers_and_stay_short() {
        assert_eq!(
            library_detail(&"expected field named 9876543217 got 876543217"),
            "expected field named <withheld> got <withheld>"
        );
        assert_eq!(
            library_detail(&"field \"1234-567-897\" at 12"),
            "field <withheld> at 12"
        );
        let long = library_detail(&"word ".repeat(1000));
        assert!(long.chars().count() <= MAX_DETAIL_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn lines_count_newlines() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 2), 2);
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
        assert_eq!(line_of(b"a\nb\nc", 99), 3);
    }
}
