//! Hostile input, hand-written: each whole-file rejection of `crate::hostile` through
//! `ingest_file`, with its line, its message, its row count and no cell content in it.

use bytes::Bytes;
use vigie_model::config::{FileFormat, SourceSpec};
use vigie_model::{KeySource, PseudonymKey};

use crate::hostile::{MAX_COLUMNS, MAX_RECORD_BYTES};
use crate::read::count_records;
use crate::{FileContext, FileOutcome, FileRejection, ingest_file};

/// Luhn-valid health card numbers: they must never appear in a message.
const HCN_A: &str = "1234567897";
const HCN_B: &str = "9876543217";

const ED: &str = r#"
source: hostile_ed
partner: Test
files: "ed_*.csv"
format: { type: csv, delimiter: ",", encoding: utf-8 }
entity: ed_visit
fields:
  person_key: { from: HCN, check: luhn }
  arrival: { from: [DATE, TIME], format: "%Y-%m-%d", time_format: "%H%M" }
  facility: { from: FACILITY }
  diagnosis: { from: DX }
"#;

const HEADER: &str = "HCN,DATE,TIME,FACILITY,DX";

fn spec(yaml: &str) -> SourceSpec {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("test spec does not parse: {e}"))
}

fn ed() -> SourceSpec {
    spec(ED)
}

fn ed_with(format: &str) -> SourceSpec {
    spec(&ED.replace(
        r#"format: { type: csv, delimiter: ",", encoding: utf-8 }"#,
        format,
    ))
}

fn run(spec: &SourceSpec, data: &[u8]) -> Result<FileOutcome, (FileRejection, u64)> {
    let key = PseudonymKey::load(&KeySource::Demo).expect("the demo key loads");
    let ctx = FileContext {
        file: "ed_1.csv",
        load_id: "load",
        key: &key,
        numbers: &vigie_model::PersonNumbers::new(),
        batch_rows: 100,
        staging: None,
        spill_rows: usize::MAX,
        part_bytes: 0,
        period: None,
        dates: crate::plausible::testing::dates(),
        loaded: None,
        identifiers: crate::plausible::testing::ontario(),
    };
    match ingest_file(spec, &ctx, Bytes::copy_from_slice(data)) {
        Ok(o) => Ok(o),
        Err(crate::FileFailure::Rejected(e, n)) => Err((e, n)),
        Err(crate::FileFailure::Environment(e)) => panic!("environmental failure: {e}"),
    }
}

/// The whole-file rejection of `data`: its line, message and rows counted; checks that the
/// message quotes no identifier.
fn rejected(spec: &SourceSpec, data: &[u8]) -> (u64, String, u64) {
    match run(spec, data) {
        Ok(o) => panic!(
            "file accepted (read {}, accepted {}, rejected {}) where a whole-file rejection was expected",
            o.rows_read, o.rows_accepted, o.rows_rejected
        ),
        Err((e, read)) => {
            for id in [HCN_A, HCN_B] {
                assert!(!e.message.contains(id), "identifier in message: {e}");
            }
            (e.line, e.message, read)
        }
    }
}

fn row(hcn: &str, dx: &str) -> String {
    format!("{hcn},2024-03-01,0930,SITE,{dx}")
}

fn good_file() -> String {
    format!("{HEADER}\n{}\n{}\n", row(HCN_A, "R10"), row(HCN_B, "J18"))
}

#[test]
fn a_clean_file_passes_every_check() {
    let o = run(&ed(), good_file().as_bytes()).expect("accepted");
    assert_eq!((o.rows_read, o.rows_accepted, o.rows_rejected), (2, 2, 0));
}

#[test]
fn gzip_is_rejected_as_compressed() {
    // The first bytes of `gzip` output: magic, deflate, flags, mtime...
    let data = b"\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\x03\x4B\x4C\x4A\x06\x00\xC2\x41\x24\x35\x03\x00\x00\x00";
    let (line, message, read) = rejected(&ed(), data);
    assert_eq!((line, read), (1, 0));
    assert!(
        message.starts_with("the file is compressed (gzip): decompress it"),
        "{message}"
    );
    // Declared as Parquet, the same bytes get the same diagnosis, not a Parquet error.
    let (line, message, _) = rejected(&ed_with("format: { type: parquet }"), data);
    assert_eq!(line, 1);
    assert!(
        message.starts_with("the file is compressed (gzip)"),
        "{message}"
    );
}

#[test]
fn zip_and_workbooks_are_rejected_as_not_csv() {
    let zip = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml";
    let (line, message, read) = rejected(&ed(), zip);
    assert_eq!((line, read), (1, 0));
    assert!(
        message.starts_with("the file is a zip archive"),
        "{message}"
    );
    assert!(message.contains(".xlsx"), "{message}");

    let xls = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00\x00\x00";
    let (_, message, _) = rejected(&ed(), xls);
    assert!(message.contains("Excel .xls"), "{message}");

    let parquet = b"PAR1\x15\x04\x15\x10\x15\x14PAR1";
    let (_, message, _) = rejected(&ed(), parquet);
    assert!(message.contains("type: parquet"), "{message}");
}

#[test]
fn utf16_is_rejected_with_export_as_utf8() {
    let text = good_file();
    let le: Vec<u8> = b"\xFF\xFE"
        .iter()
        .copied()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let (line, message, read) = rejected(&ed(), &le);
    assert_eq!((line, read), (1, 0));
    assert!(message.contains("UTF-16"), "{message}");
    assert!(message.contains("export as UTF-8"), "{message}");

    // Big-endian without a byte-order mark: NUL every other byte.
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let (line, message, _) = rejected(&ed(), &be);
    assert_eq!(line, 1);
    assert!(
        message.contains("UTF-16 text (big-endian; every other byte is NUL)"),
        "{message}"
    );
}

#[test]
fn a_nul_byte_is_rejected_at_its_line() {
    let mut data = good_file().into_bytes();
    data.extend_from_slice(row(HCN_A, "R1\0").as_bytes());
    data.push(b'\n');
    let (line, message, read) = rejected(&ed(), &data);
    assert_eq!(line, 4);
    assert!(message.contains("NUL byte"), "{message}");
    // Every record of a file rejected whole is counted.
    assert_eq!(read, 3);

    // A transfer padded with zeros after the last record.
    let mut padded = good_file().into_bytes();
    padded.extend_from_slice(&[0; 4096]);
    let (line, _, _) = rejected(&ed(), &padded);
    assert_eq!(line, 4);

    // In a Windows-1252 file too (every byte decodes there, NUL included).
    let (line, _, _) = rejected(
        &ed_with("format: { type: csv, encoding: windows-1252 }"),
        &data,
    );
    assert_eq!(line, 4);
}

#[test]
fn a_second_byte_order_mark_is_rejected_at_its_line() {
    // Two exports concatenated, each with its mark and header.
    let one = format!("\u{FEFF}{}", good_file());
    let data = format!("{one}{one}");
    let (line, message, read) = rejected(&ed(), data.as_bytes());
    assert_eq!(line, 4);
    assert!(
        message.contains("second UTF-8 byte-order mark"),
        "{message}"
    );
    assert!(message.contains("concatenated"), "{message}");
    assert_eq!(read, 5);

    // A doubled mark at the very start is on line 1; a single one is fine.
    let doubled = format!("\u{FEFF}\u{FEFF}{}", good_file());
    assert_eq!(rejected(&ed(), doubled.as_bytes()).0, 1);
    assert!(run(&ed(), one.as_bytes()).is_ok());
}

#[test]
fn a_record_longer_than_the_limit_is_rejected_where_it_starts() {
    // A quote opened in line 3 and never closed: without a limit the rest of the file would
    // become one cell (one copy of the file) before anything is decided.
    let mut data = good_file();
    data.push_str(&row(HCN_A, "\"unclosed"));
    data.push_str(&"x".repeat(MAX_RECORD_BYTES + 10));
    data.push('\n');
    data.push_str(&row(HCN_B, "R10"));
    data.push('\n');
    let (line, message, read) = rejected(&ed(), data.as_bytes());
    assert_eq!(line, 4);
    assert!(message.contains("longer than 1 MiB"), "{message}");
    assert!(message.contains("quote left open"), "{message}");
    // Counting stops at the same record: the two before it.
    assert_eq!(read, 2);

    // The same with multi-line fields allowed: the open quote runs over many short lines.
    let multiline = ed_with("format: { type: csv, multiline: true }");
    let mut data = good_file();
    data.push_str(&row(HCN_A, "\"unclosed"));
    data.push('\n');
    for _ in 0..(MAX_RECORD_BYTES / 30) {
        data.push_str(&row(HCN_B, "R10"));
        data.push('\n');
    }
    let (line, message, _) = rejected(&multiline, data.as_bytes());
    assert_eq!(line, 4);
    assert!(message.contains("longer than 1 MiB"), "{message}");
}

#[test]
fn a_long_record_within_the_limit_is_read() {
    let long = "y".repeat(MAX_RECORD_BYTES - 100);
    let data = format!(
        "{HEADER}\r\n{}\r\n{}\r\n",
        row(HCN_A, &long),
        row(HCN_B, "R10")
    );
    let o = run(&ed(), data.as_bytes()).expect("accepted");
    assert_eq!((o.rows_read, o.rows_accepted), (2, 2));
}

#[test]
fn blank_lines_do_not_count_against_the_next_record() {
    let data = format!(
        "{HEADER}\n{}{}\n",
        "\n".repeat(MAX_RECORD_BYTES + 10),
        row(HCN_A, "R10")
    );
    let o = run(&ed(), data.as_bytes()).expect("accepted");
    assert_eq!(o.rows_read, 1);
    assert_eq!(o.quarantine.len(), 0);
}

#[test]
fn a_header_wider_than_the_limit_is_rejected() {
    let mut header: Vec<String> = HEADER.split(',').map(str::to_string).collect();
    header.extend((header.len()..=MAX_COLUMNS).map(|i| format!("C{i}")));
    let data = format!("{}\n{}\n", header.join(","), row(HCN_A, "R10"));
    let (line, message, _) = rejected(&ed(), data.as_bytes());
    assert_eq!(line, 1);
    assert!(
        message.starts_with(&format!(
            "the header has {} fields, more than the {MAX_COLUMNS}",
            MAX_COLUMNS + 1
        )),
        "{message}"
    );
    // Without a header row, the first record is judged the same way.
    let headerless = ed_with("format: { type: csv, header: false }");
    let data = format!("{}\n", ",".repeat(MAX_COLUMNS + 5));
    let (line, message, _) = rejected(&headerless, data.as_bytes());
    assert_eq!(line, 1);
    assert!(message.starts_with("the first record has"), "{message}");
}

#[test]
fn a_quoted_field_spanning_lines_is_rejected_where_its_record_starts() {
    // A stray quote in line 2 swallows line 3 (HCN_B's visit) into line 2's diagnosis, and
    // the field count happens to match: without the check, HCN_B would be stored as text.
    let data = format!(
        "{HEADER}\n\
         {HCN_A},2024-03-01,0930,SITE,\"chest pain\n\
         {HCN_B},2024-03-01,0930,SITE,x\"\n\
         {}\n",
        row(HCN_A, "J18"),
    );
    let (line, message, read) = rejected(&ed(), data.as_bytes());
    assert_eq!(line, 2);
    assert!(message.contains("field 5"), "{message}");
    assert!(message.contains("spans lines"), "{message}");
    assert!(message.contains("multiline: true"), "{message}");
    assert_eq!(read, 2);

    // A lone CR inside quotes too, on a later record, after CRLF line ends.
    let data = format!(
        "{HEADER}\r\n{}\r\n{}\r\n",
        row(HCN_A, "R10"),
        row(HCN_B, "\"two\rlines\"")
    );
    let (line, _, _) = rejected(&ed(), data.as_bytes());
    assert_eq!(line, 3);

    // In a header cell as well.
    let data = format!("\"HCN\nX\",DATE,TIME,FACILITY,DX\n{}\n", row(HCN_A, "R10"));
    assert_eq!(rejected(&ed(), data.as_bytes()).0, 1);
}

#[test]
fn multiline_fields_are_read_where_the_source_declares_them() {
    let multiline = ed_with("format: { type: csv, multiline: true }");
    let data = format!(
        "{HEADER}\n{}\n{}\n",
        row(HCN_A, "\"chest pain\nsince Monday\""),
        row(HCN_B, "R10")
    );
    let o = run(&multiline, data.as_bytes()).expect("accepted");
    assert_eq!((o.rows_read, o.rows_accepted), (2, 2));
    let lines: Vec<i64> = o
        .entities
        .values()
        .flat_map(|b| &b.batches)
        .flat_map(|b| {
            use arrow::array::AsArray;
            b.column_by_name("_line")
                .map(|c| {
                    c.as_primitive::<arrow::datatypes::Int64Type>()
                        .values()
                        .to_vec()
                })
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(lines, vec![2, 4]);
}

#[test]
fn counting_a_rejected_file_is_bounded_and_never_panics() {
    let csv = FileFormat::Csv(match ed().format {
        FileFormat::Csv(d) => d,
        FileFormat::Parquet {} => unreachable!("the test spec is CSV"),
    });
    let count = |data: &[u8]| count_records(&Bytes::copy_from_slice(data), &csv);
    assert_eq!(count(good_file().as_bytes()), 2);
    assert_eq!(count(b""), 0);
    assert_eq!(count(b"\x1F\x8B\x08\x00\x00\x00"), 0);
    let utf16: Vec<u8> = good_file()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(count(&utf16), 0);
    let mut open = good_file();
    open.push('"');
    open.push_str(&"z\n".repeat(MAX_RECORD_BYTES));
    assert_eq!(count(open.as_bytes()), 2);
    assert_eq!(
        count_records(&Bytes::from_static(b"PAR1garbage"), &FileFormat::Parquet {}),
        0
    );
}

/// Found by fuzzing: a spec with an entity and no `fields` (the loader refuses it, but the
/// ingest may be called without it) indexed an output that does not exist on the first
/// record. It rejects the file instead.
#[test]
fn a_spec_without_fields_rejects_the_file_instead_of_panicking() {
    let mut sp = ed();
    sp.fields = None;
    let (line, message, read) = rejected(&sp, good_file().as_bytes());
    assert_eq!((line, read), (1, 2));
    assert!(message.contains("maps no fields"), "{message}");
}

/// Found by fuzzing: a damaged Parquet file made the parquet crate panic (an RLE bit width
/// over 32 in a dictionary page), which would have failed the parser thread and the whole
/// load. Whatever the damage, the file is rejected (or read), never a panic.
#[test]
fn a_damaged_parquet_file_is_rejected_not_a_panic() {
    use std::sync::Arc;

    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;

    let schema = Arc::new(Schema::new(
        ["HCN", "DATE", "TIME", "FACILITY", "DX"]
            .map(|n| Field::new(n, DataType::Utf8, true))
            .to_vec(),
    ));
    let column = |v: &str| Arc::new(StringArray::from(vec![v; 20])) as _;
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            column(HCN_A),
            column("2024-03-01"),
            column("0930"),
            column("SITE"),
            column("R10"),
        ],
    )
    .expect("batch");
    let mut file = Vec::new();
    let mut w = ArrowWriter::try_new(&mut file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let parquet = ed_with("format: { type: parquet }");
    assert!(run(&parquet, &file).is_ok());
    // Every byte of the data pages (before the footer) set to a value that breaks the
    // encodings somewhere: bit widths, lengths, dictionary indices.
    let footer = file.len()
        - 8
        - usize::try_from(u32::from_le_bytes(
            file[file.len() - 8..file.len() - 4]
                .try_into()
                .expect("4 bytes"),
        ))
        .expect("footer length");
    for at in 4..footer {
        for byte in [0x00, 0x21, 0x7F, 0xFF] {
            let mut damaged = file.clone();
            damaged[at] = byte;
            if let Err((e, _)) = run(&parquet, &damaged) {
                assert!(!e.message.contains(HCN_A), "{e}");
            }
        }
    }
}

/// A source declared in Windows-1252 receiving what that encoding cannot hold: a UTF-8
/// export (its `è` stored as `Ã¨` before) and a byte Windows-1252 leaves undefined (stored
/// as a control character before). Genuine Windows-1252 text still loads.
#[test]
fn a_single_byte_source_refuses_utf8_and_undefined_bytes() {
    let cp1252 = ed_with(r#"format: { type: csv, delimiter: ",", encoding: windows-1252 }"#);
    let latin1 = ed_with(r#"format: { type: csv, delimiter: ",", encoding: iso-8859-1 }"#);
    let file = |dx: &[u8]| {
        let mut data = format!("{HEADER}\n{}\n", row(HCN_A, "R10")).into_bytes();
        data.extend_from_slice(format!("{HCN_B},2024-03-01,0930,SITE,").as_bytes());
        data.extend_from_slice(dx);
        data.push(b'\n');
        data
    };
    for spec in [&cp1252, &latin1] {
        let o = run(spec, &file(b"Fi\xe8vre")).expect("Windows-1252 text loads");
        assert_eq!((o.rows_read, o.rows_accepted), (2, 2));
        let (line, message, _) = rejected(spec, &file("Fièvre".as_bytes()));
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("`format.encoding: utf-8`"), "{message}");
        let (line, message, _) = rejected(spec, &file(b"I\x8148.9"));
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("not valid"), "{message}");
        // One UTF-8 accent in a file otherwise in Windows-1252: a mixed export.
        let mut mixed = file("Fièvre".as_bytes());
        mixed.extend_from_slice(format!("{HCN_A},2024-03-02,0930,SITE,").as_bytes());
        mixed.extend_from_slice(b"Fi\xe8vre\n");
        let (line, message, _) = rejected(spec, &mixed);
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("mixes encodings"), "{message}");
    }
    // Declared UTF-8, the same UTF-8 file loads.
    let o = run(&ed(), &file("Fièvre".as_bytes())).expect("UTF-8 loads");
    assert_eq!(o.rows_accepted, 2);
}
