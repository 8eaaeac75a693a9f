//! Fuzzing of the decode–map–validate path: arbitrary small source specs against arbitrary
//! and CSV-like bytes (and mutated Parquet files), through `ingest_file`.
//!
//! Properties: nothing panics; a file read has rows accepted + rows rejected = rows read,
//! every quarantine line inside the file and as many records as the lenient count finds; a
//! file rejected whole names a line inside the file, counts no more records than it can
//! hold, and its message quotes no identifier.
//!
//! CI runs a few dozen cases per property; a campaign sets `PROPTEST_CASES`, e.g.
//! `PROPTEST_CASES=200000 nice cargo test -p vigie-ingest fuzz_tests -- --test-threads=1
//! --nocapture` (progress every 10,000 cases on stderr).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use proptest::prelude::*;
use proptest::sample::Index;
use vigie_model::config::{
    CheckDigit, Columns, CsvDialect, Encoding, FieldSpec, FileFormat, LoadMode, Output, SourceSpec,
    SplitSpec, UnpivotSpec,
};
use vigie_model::{Entity, FieldType, KeySource, PseudonymKey};

use crate::hostile::MAX_RECORD_BYTES;
use crate::read::count_records;
use crate::{FileContext, FileFailure, FileOutcome, FileRejection, QuarantineRow, ingest_file};

/// Cases per property when `PROPTEST_CASES` is not set: a few seconds in CI.
const CI_CASES: u32 = 48;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CI_CASES);
    ProptestConfig {
        cases,
        // Shrinking a failure found deep in a campaign may take long; a bound keeps the
        // report coming.
        max_shrink_iters: 4096,
        // Generating a case costs as much as ingesting it; XorShift is far cheaper than the
        // default ChaCha, and a fuzz seed needs no cryptographic strength.
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

static KEY: LazyLock<PseudonymKey> =
    LazyLock::new(|| PseudonymKey::load(&KeySource::Demo).expect("the demo key loads"));

// ---------------------------------------------------------------------------------------------
// Pools the generators draw from
// ---------------------------------------------------------------------------------------------

/// Column names of generated files (a file without header row names them 1..=10). Ten: the
/// widest entity has eight fields, a date-time may take two columns, a split one more.
const POOL: [&str; 10] = [
    "ID", "WHEN", "TIME", "NUM", "CODE", "NOTE", "A", "B", "C", "D",
];

/// Luhn-valid identifiers planted in cells: no whole-file message may quote them.
const SECRETS: [&str; 3] = ["1234567897", "9876543217", "4532015112"];

/// Cell values that exercise conversions: identifiers, dates and times in several layouts
/// (valid, impossible, out of chrono's range), numbers (overflowing, non-finite, decimal
/// comma), code values, null markers.
const VALUES: &[&str] = &[
    "1234567897",
    "9876543217",
    "4532015112",
    "1234-567-897",
    "1234567890",
    "2024-03-01",
    "2024-02-30",
    "01/03/2024",
    "31/11/2025",
    "20240301",
    "0000-01-01",
    "9999-12-31",
    "+262143-12-31",
    "-262144-01-01",
    "2024-03-01 09:30",
    "2024-03-01T09:30:00",
    "2024-03-01T24:00:00",
    "0930",
    "2359",
    "2400",
    "09:30",
    "0",
    "-1",
    "3",
    "10",
    "1890",
    "2147483647",
    "2147483648",
    "-2147483649",
    "1e308",
    "1e309",
    "NaN",
    "inf",
    "-0",
    "3,5",
    "1.5",
    " 7 ",
    "URG",
    "HOSP",
    "F",
    "M",
    "X",
    "fr",
    "en",
    "home",
    "urgent",
    "01",
    "06",
    "N/A",
    "S.O.",
    "NULL",
    "",
    " ",
    "é",
    "Québec",
];

/// Formats a valid spec gives a date, a date-time in one column, and a time column.
const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d.%m.%y", "%e %b %Y"];
const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H%M",
    "%Y%m%d%H%M%S",
];
const TIME_FORMATS: &[&str] = &["%H%M", "%H:%M", "%H:%M:%S", "%I:%M %p"];

/// Formats of specs the loader refuses, or that never match: any layout for any field,
/// broken ones (`%` alone, unknown specifiers).
const FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%H%M",
    "%H:%M",
    "%s",
    "%",
    "%Q",
    "",
    "%Y-%m-%d%",
];

const RANGE_BOUNDS: &[f64] = &[
    -1e300,
    -1.0,
    0.0,
    1.0,
    4.0,
    10.0,
    2100.0,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

// ---------------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------------

/// Where a generated field reads from: a pool column, `$name`/`$value`, or a column no file
/// has.
#[derive(Debug, Clone, Copy)]
enum Col {
    Pool(usize),
    Name,
    Value,
    Missing,
}

fn col() -> impl Strategy<Value = Col> {
    prop_oneof![
        40 => (0..POOL.len()).prop_map(Col::Pool),
        2 => Just(Col::Name),
        2 => Just(Col::Value),
        1 => Just(Col::Missing),
    ]
}

/// The raw knobs of one field, made valid or not by [`field_spec`].
#[derive(Debug, Clone)]
struct Knobs {
    from: Option<Vec<Col>>,
    many: bool,
    value: Option<&'static str>,
    format: Option<Index>,
    time_format: Option<Index>,
    decimal: Option<&'static str>,
    map: Option<BTreeMap<&'static str, &'static str>>,
    required: Option<bool>,
    range: Option<(f64, f64)>,
    allowed: Option<Vec<&'static str>>,
    luhn: Option<bool>,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    // Spec values (constants, code lists, maps) are the steward's, shown in reasons: never
    // the planted identifiers.
    let value =
        || prop::sample::select(VALUES).prop_map(|v| if SECRETS.contains(&v) { "SPEC" } else { v });
    (
        (
            prop::option::weighted(0.85, prop::collection::vec(col(), 0..4)),
            prop::bool::weighted(0.2),
            prop::option::weighted(0.08, value()),
            prop::option::weighted(0.5, any::<Index>()),
            prop::option::weighted(0.3, any::<Index>()),
            prop::option::weighted(0.2, prop::sample::select(&[",", ".", ";"][..])),
        ),
        (
            prop::option::weighted(0.25, prop::collection::btree_map(value(), value(), 0..4)),
            prop::option::of(any::<bool>()),
            prop::option::weighted(
                0.25,
                (
                    prop::sample::select(RANGE_BOUNDS),
                    prop::sample::select(RANGE_BOUNDS),
                ),
            ),
            prop::option::weighted(0.15, prop::collection::vec(value(), 0..4)),
            prop::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (from, many, value, format, time_format, decimal),
                (map, required, range, allowed, luhn),
            )| {
                Knobs {
                    from,
                    many,
                    value,
                    format,
                    time_format,
                    decimal,
                    map,
                    required,
                    range,
                    allowed,
                    luhn,
                }
            },
        )
}

/// How generated specs name columns: by header name, or by position without a header row;
/// and, when `shift` is set, each field from its own column (field `i` from column
/// `i + shift`, a date-time's time column and a split column from the two left over), so
/// that plausible rows pass; otherwise fields share columns at random.
#[derive(Debug, Clone, Copy)]
struct Naming {
    header: bool,
    unpivot: bool,
    shift: Option<usize>,
}

impl Naming {
    fn name(self, c: Col) -> String {
        match c {
            Col::Pool(i) if self.header => POOL[i].to_string(),
            Col::Pool(i) => (i + 1).to_string(),
            Col::Name => "$name".into(),
            Col::Value => "$value".into(),
            Col::Missing => "NOT_IN_FILE".into(),
        }
    }
}

/// A field spec from its knobs. With `valid`, only what the spec loader accepts (the specs
/// production runs with); without, anything the types allow.
fn field_spec(
    def: &vigie_model::FieldDef,
    slot: usize,
    k: &Knobs,
    naming: Naming,
    valid: bool,
) -> Option<FieldSpec> {
    let cols = field_columns(def, slot, k, naming, valid);
    let from = from_columns(&cols, k, naming, valid);
    let value = k.value.map(str::to_string);
    let (from, value) = match (from, value) {
        (Some(f), Some(_)) if valid => (Some(f), None),
        (None, None) if valid && def.required => (
            Some(Columns::One(naming.name(Col::Pool(slot % POOL.len())))),
            None,
        ),
        (None, None) if valid => return None,
        pair => pair,
    };
    let mut f = FieldSpec {
        from,
        value,
        format: None,
        time_format: None,
        decimal: k.decimal.map(str::to_string),
        map: k.map.as_ref().map(|m| {
            m.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        }),
        required: k.required,
        range: k.range.map(|(a, b)| [a, b]),
        allowed: k
            .allowed
            .as_ref()
            .map(|v| v.iter().map(|s| s.to_string()).collect()),
        check: k.luhn.map(|l| {
            if l {
                CheckDigit::Luhn
            } else {
                CheckDigit::None
            }
        }),
        // Half the identifiers declare the Ontario format (length, digits, Luhn), the other
        // half keep the older check alone.
        scheme: (def.ty == vigie_model::FieldType::PersonKey
            && slot.is_multiple_of(2)
            && k.luhn.is_none())
        .then_some(vigie_model::IdScheme::OntarioHcn),
    };
    if valid {
        make_valid(def, k, &mut f);
    } else {
        f.format = pick(FORMATS, k.format);
        f.time_format = pick(FORMATS, k.time_format);
    }
    Some(f)
}

/// The columns a field reads: its knobs', moved to its own columns when the naming shifts;
/// in a valid spec, no virtual column without `unpivot`, as many columns as the type takes,
/// and a required field always mapped.
fn field_columns(
    def: &vigie_model::FieldDef,
    slot: usize,
    k: &Knobs,
    naming: Naming,
    valid: bool,
) -> Vec<Col> {
    let mut cols: Vec<Col> = k.from.clone().unwrap_or_default();
    if let Some(shift) = naming.shift {
        let own = [(slot + shift) % POOL.len(), (8 + shift) % POOL.len()];
        for (c, own) in cols.iter_mut().zip(own) {
            if let Col::Pool(i) = c {
                *i = own;
            }
        }
    }
    if valid {
        if !naming.unpivot {
            cols.retain(|c| matches!(c, Col::Pool(_) | Col::Missing));
        }
        let want = if def.ty == FieldType::DateTime && k.many {
            2
        } else {
            1
        };
        cols.truncate(want);
        if cols.len() < want && (k.from.is_some() || def.required) {
            // A required field is always mapped in a valid spec.
            let own = match naming.shift {
                Some(shift) => [(slot + shift) % POOL.len(), (8 + shift) % POOL.len()],
                None => [slot % POOL.len(), 8],
            };
            cols.extend(own[cols.len()..want].iter().map(|&i| Col::Pool(i)));
        }
    }
    cols
}

/// The `from` of a field reading `cols` (none when the knobs give no column, or in a valid
/// spec when no column is left).
fn from_columns(cols: &[Col], k: &Knobs, naming: Naming, valid: bool) -> Option<Columns> {
    match (cols.len(), k.many) {
        (0, _) if k.from.is_none() || valid => None,
        (1, false) => Some(Columns::One(naming.name(cols[0]))),
        (1, true) if valid => Some(Columns::One(naming.name(cols[0]))),
        _ => Some(Columns::Many(
            cols.iter().map(|&c| naming.name(c)).collect(),
        )),
    }
}

/// The entry `i` picks in `list`, if any.
fn pick(list: &[&str], i: Option<Index>) -> Option<String> {
    i.map(|i| list[i.index(list.len())].to_string())
}

/// Keeps only the options the loader accepts for the field's type: formats that parse (a
/// time format for a date-time from two columns), a decimal separator for decimals, an
/// ordered range for numbers, check digits for identifiers, canonical values and maps to
/// allowed values.
fn make_valid(def: &vigie_model::FieldDef, k: &Knobs, f: &mut FieldSpec) {
    let two = matches!(f.from, Some(Columns::Many(_)));
    f.format = match def.ty {
        FieldType::Date => pick(DATE_FORMATS, k.format),
        FieldType::DateTime if two => pick(DATE_FORMATS, k.format),
        FieldType::DateTime => pick(DATETIME_FORMATS, k.format),
        _ => None,
    };
    f.time_format = pick(TIME_FORMATS, k.time_format);
    if two && f.time_format.is_none() {
        f.time_format = Some("%H%M".into());
    }
    if def.ty != FieldType::Float || !matches!(f.decimal.as_deref(), Some("," | ".")) {
        f.decimal = None;
    }
    if !matches!(def.ty, FieldType::Int | FieldType::Float)
        || f.range.is_some_and(|[lo, hi]| lo > hi)
    {
        f.range = None;
    }
    if def.ty != FieldType::PersonKey && f.check == Some(CheckDigit::Luhn) {
        f.check = None;
    }
    if !def.allowed.is_empty()
        && let Some(list) = &mut f.allowed
    {
        list.retain(|v| def.allowed.contains(&v.as_str()));
    }
    let allowed_here: Vec<String> = match &f.allowed {
        Some(list) => list.clone(),
        None => def.allowed.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(map) = &mut f.map
        && !allowed_here.is_empty()
    {
        map.retain(|_, to| allowed_here.contains(to));
    }
}

/// The fields of one entity (8 knobs, as many as the widest entity has fields).
fn output(entity: Entity, knobs: &[Knobs], naming: Naming, valid: bool) -> Output {
    let mut fields = BTreeMap::new();
    for (slot, (def, k)) in entity.fields().iter().zip(knobs).enumerate() {
        if let Some(f) = field_spec(def, slot, k, naming, valid) {
            fields.insert(def.name.to_string(), f);
        }
    }
    if !valid && knobs.len() > entity.fields().len() {
        // A field the entity does not have (the loader refuses it; the ingest ignores it).
        fields.insert("no_such_field".into(), FieldSpec::default());
    }
    Output { entity, fields }
}

#[derive(Debug, Clone)]
struct SpecCase {
    spec: SourceSpec,
    /// Whether the spec is one the loader accepts.
    valid: bool,
}

fn dialect(valid: bool) -> impl Strategy<Value = CsvDialect> {
    let delimiters: &'static [&'static str] = if valid {
        &[",", ";", "|", "\t", "\\t"]
    } else {
        &[",", ";", "|", "\t", "", "é", "ab", "\n", "\""]
    };
    let quotes: &'static [&'static str] = if valid {
        &["'", ",", ";", "\n", "\r", "|", "x", "\t", " "]
    } else {
        &["", "é", "'", ",", "\n", "ab"]
    };
    (
        prop::sample::select(delimiters),
        prop_oneof![
            9 => Just("\""),
            1 => prop::sample::select(quotes),
        ],
        prop::bool::weighted(0.85),
        prop::sample::select(&[Encoding::Utf8, Encoding::Windows1252, Encoding::Iso8859_1][..]),
        any::<bool>(),
    )
        .prop_map(
            |(delimiter, quote, header, encoding, multiline)| CsvDialect {
                delimiter: delimiter.to_string(),
                quote: quote.to_string(),
                header,
                encoding,
                multiline,
            },
        )
}

/// A split's knobs: its column and its cases (value, entity, knobs).
type SplitKnobs = (Col, Vec<(&'static str, Entity, Vec<Knobs>)>);

fn split_knobs() -> impl Strategy<Value = SplitKnobs> {
    (
        col(),
        prop::collection::vec(
            (
                prop::sample::select(&["URG", "HOSP", "F", "", "01"][..]),
                prop::sample::select(Entity::ALL.to_vec()),
                prop::collection::vec(knobs(), 8),
            ),
            0..4,
        ),
    )
}

fn spec_case(parquet: bool) -> impl Strategy<Value = SpecCase> {
    prop::bool::weighted(0.8).prop_flat_map(move |valid| {
        let format = if parquet {
            Just(FileFormat::Parquet {}).boxed()
        } else {
            dialect(valid).prop_map(FileFormat::Csv).boxed()
        };
        (
            format,
            prop::collection::vec(
                prop::sample::select(&["N/A", "S.O.", "NULL", "", " -"][..]),
                0..3,
            ),
            prop::option::weighted(0.2, (prop::collection::vec(col(), 0..4), any::<bool>())),
            prop::sample::select(Entity::ALL.to_vec()),
            prop::collection::vec(knobs(), 8),
            // A split with up to three cases.
            prop::option::weighted(0.25, split_knobs()),
            prop::bool::weighted(0.97),
            prop::option::weighted(0.7, 0..POOL.len()),
        )
            .prop_map(
                move |(format, nulls, unpivot, entity, fields, split, mapped, shift)| {
                    let header = match &format {
                        FileFormat::Csv(d) => d.header,
                        FileFormat::Parquet {} => true,
                    };
                    let naming = Naming {
                        header,
                        unpivot: unpivot.is_some(),
                        shift,
                    };
                    let unpivot = unpivot.map(|(cols, keep_empty)| UnpivotSpec {
                        columns: cols
                            .iter()
                            .filter(|c| !valid || matches!(c, Col::Pool(_)))
                            .map(|&c| naming.name(c))
                            .collect(),
                        keep_empty,
                    });
                    let (entity, fields, split) =
                        mapping(entity, &fields, split, naming, valid, mapped);
                    SpecCase {
                        spec: SourceSpec {
                            source: "fuzz".into(),
                            partner: "Fuzz".into(),
                            files: "*.csv".into(),
                            format,
                            load: LoadMode::default(),
                            null_values: nulls.iter().map(|s| s.to_string()).collect(),
                            expected_every_days: None,
                            unpivot,
                            entity,
                            fields,
                            split,
                            guards: Default::default(),
                            settle_seconds: 0,
                            ready_marker: None,
                            future_tolerance_days: 1,
                            survey: None,
                        },
                        valid,
                    }
                },
            )
    })
}

/// What a spec maps: one entity and its fields, or a split into cases. `mapped` false
/// leaves a single entity without fields (which the loader refuses) in an invalid spec.
fn mapping(
    entity: Entity,
    knobs: &[Knobs],
    split: Option<SplitKnobs>,
    naming: Naming,
    valid: bool,
    mapped: bool,
) -> (
    Option<Entity>,
    Option<BTreeMap<String, FieldSpec>>,
    Option<SplitSpec>,
) {
    match split {
        Some((_, cases)) if valid && cases.is_empty() => {
            let o = output(entity, knobs, naming, valid);
            (Some(o.entity), Some(o.fields), None)
        }
        Some((by, cases)) => {
            let cases = cases
                .iter()
                .map(|(value, e, k)| (value.to_string(), output(*e, k, naming, valid)))
                .collect();
            let by = match (naming.shift, by) {
                (Some(shift), Col::Pool(_)) => naming.name(Col::Pool((9 + shift) % POOL.len())),
                (_, Col::Pool(_)) => naming.name(by),
                _ if valid => naming.name(Col::Pool(9)),
                _ => naming.name(by),
            };
            (None, None, Some(SplitSpec { by, cases }))
        }
        None => {
            let o = output(entity, knobs, naming, valid);
            // Rarely, an entity without fields (the loader refuses it).
            let fields = (valid || mapped).then_some(o.fields);
            (Some(o.entity), fields, None)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// Bytes that break CSV structure or decoding: quotes, delimiters, line ends, bytes invalid
/// in UTF-8. (NUL and byte-order marks are rarer: each rejects the whole file.)
const SPECIAL: &[u8] = &[
    b'"', b'\'', b',', b';', b'|', b'\t', b'\r', b'\n', 0xFF, 0xFE, 0xE9, 0xC3, 0x80, b' ',
];

const EOLS: &[&[u8]] = &[b"\n", b"\r\n", b"\r"];

fn cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => prop::sample::select(VALUES).prop_map(|s| s.as_bytes().to_vec()),
        4 => "[ -~]{0,12}".prop_map(String::into_bytes),
        2 => "\\PC{0,6}".prop_map(String::into_bytes),
        3 => prop::collection::vec(prop::sample::select(SPECIAL), 0..4),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ]
}

/// How cells are quoted when a file is assembled.
#[derive(Debug, Clone, Copy)]
enum Quoting {
    /// Raw: a delimiter, quote or line end in a cell breaks the structure.
    Never,
    /// Every cell quoted, quotes doubled: well-formed.
    Always,
    /// Quoted where needed, quotes doubled: well-formed, as spreadsheets write.
    Needed,
    /// Per cell at random, quotes sometimes not doubled: stray quotes.
    Careless,
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Insert(u8),
    Delete,
    Replace(u8),
    Truncate,
    Bom,
}

/// One line of a generated file.
#[derive(Debug, Clone)]
enum Row {
    /// Cells the spec accepts (see [`plausible`]) for one of its outputs, maybe one spoiled.
    Plausible {
        output: Index,
        pick: Index,
        spoil: Option<(Index, Vec<u8>)>,
    },
    /// Twelve random cells, cut to the header's width unless ragged.
    Random {
        cells: Vec<Vec<u8>>,
        ragged: Option<usize>,
    },
    Blank,
}

fn row() -> impl Strategy<Value = Row> {
    prop_oneof![
        5 => (
            any::<Index>(),
            any::<Index>(),
            prop::option::weighted(0.4, (any::<Index>(), cell())),
        )
            .prop_map(|(output, pick, spoil)| Row::Plausible { output, pick, spoil }),
        3 => (
            prop::collection::vec(cell(), 12),
            prop::option::weighted(0.05, 0..12usize),
        )
            .prop_map(|(cells, ragged)| Row::Random { cells, ragged }),
        1 => Just(Row::Blank),
    ]
}

#[derive(Debug, Clone)]
struct Layout {
    bom: bool,
    header: Option<Vec<Vec<u8>>>,
    rows: Vec<Row>,
    delimiter: u8,
    quote: u8,
    eol: &'static [u8],
    trailing_eol: bool,
    quoting: Quoting,
    coin: Vec<bool>,
    /// A huge cell: (row, column, length, byte).
    huge: Option<(Index, Index, usize, u8)>,
    mutations: Vec<(Index, Mutation)>,
}

fn header_names(named: bool) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let names = move |idx: Vec<usize>| -> Vec<Vec<u8>> {
        idx.iter()
            .map(|&i| {
                if named {
                    POOL[i].as_bytes().to_vec()
                } else {
                    (i + 1).to_string().into_bytes()
                }
            })
            .collect()
    };
    prop_oneof![
        // Every column, in any order.
        12 => Just((0..POOL.len()).collect::<Vec<_>>()).prop_shuffle().prop_map(names),
        // Some of them, repeated, or foreign names and identifiers.
        2 => prop::collection::vec(0..POOL.len(), 0..12).prop_map(names),
        1 => prop::collection::vec(cell(), 0..12),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        9 => any::<u8>().prop_map(Mutation::Insert),
        6 => Just(Mutation::Delete),
        9 => prop::sample::select(SPECIAL).prop_map(Mutation::Replace),
        3 => Just(Mutation::Truncate),
        // Rare: a byte-order mark anywhere but the start rejects the file whole.
        1 => Just(Mutation::Bom),
    ]
}

fn layout(delimiter: u8, quote: u8, header: bool) -> impl Strategy<Value = Layout> {
    (
        (
            prop::bool::weighted(0.3),
            prop::option::weighted(if header { 0.95 } else { 0.05 }, header_names(header)),
            prop::collection::vec(row(), 0..12),
            prop_oneof![
                12 => Just(delimiter),
                1 => prop::sample::select(&[b',', b';', b'\t', b'|'][..]),
            ],
            prop_oneof![12 => Just(quote), 1 => Just(b'\'')],
        ),
        (
            prop::sample::select(EOLS),
            prop::bool::weighted(0.8),
            prop::sample::select(
                &[
                    Quoting::Never,
                    Quoting::Always,
                    Quoting::Needed,
                    Quoting::Careless,
                ][..],
            ),
            prop::collection::vec(any::<bool>(), 16),
            prop::option::weighted(
                0.02,
                (
                    any::<Index>(),
                    any::<Index>(),
                    prop::sample::select(vec![
                        MAX_RECORD_BYTES - 200,
                        MAX_RECORD_BYTES + 3,
                        70_000,
                    ]),
                    prop::sample::select(&[b'x', b'\n', b'"', b',', 0xE9][..]),
                ),
            ),
            prop_oneof![
                3 => Just(Vec::new()),
                1 => prop::collection::vec((any::<Index>(), mutation()), 1..3),
            ],
        ),
    )
        .prop_map(
            |(
                (bom, header, rows, delimiter, quote),
                (eol, trailing_eol, quoting, coin, huge, mutations),
            )| Layout {
                bom,
                header,
                rows,
                delimiter,
                quote,
                eol,
                trailing_eol,
                quoting,
                coin,
                huge,
                mutations,
            },
        )
}

impl Layout {
    /// The file's lines as cells: the header (if any), then the rows.
    fn lines(&self, spec: &SourceSpec) -> Vec<Vec<Vec<u8>>> {
        // The columns as the spec sees them: the header's names, or positions.
        let names: Vec<String> = match &self.header {
            Some(h) => h
                .iter()
                .map(|c| String::from_utf8_lossy(c).trim().to_string())
                .collect(),
            None => (1..=POOL.len()).map(|i| i.to_string()).collect(),
        };
        let outputs = spec.outputs();
        let mut lines: Vec<Vec<Vec<u8>>> = Vec::new();
        if let Some(h) = &self.header {
            lines.push(h.clone());
        }
        for row in &self.rows {
            lines.push(match row {
                Row::Blank => Vec::new(),
                Row::Random { cells, ragged } => {
                    cells[..ragged.unwrap_or(names.len()).min(cells.len())].to_vec()
                }
                Row::Plausible {
                    output,
                    pick,
                    spoil,
                } => {
                    let chosen =
                        (!outputs.is_empty()).then(|| &outputs[output.index(outputs.len())]);
                    let mut cells: Vec<Vec<u8>> = names
                        .iter()
                        .map(|name| {
                            chosen
                                .and_then(|o| plausible(spec, o, name, pick.index(1 << 16)))
                                .unwrap_or_default()
                                .into_bytes()
                        })
                        .collect();
                    if let Some((at, bad)) = spoil
                        && !cells.is_empty()
                    {
                        let i = at.index(cells.len());
                        cells[i] = bad.clone();
                    }
                    cells
                }
            });
        }
        if let Some((r, c, len, byte)) = self.huge
            && !lines.is_empty()
        {
            let row = r.index(lines.len());
            if !lines[row].is_empty() {
                let at = c.index(lines[row].len());
                lines[row][at] = vec![byte; len];
            }
        }
        lines
    }

    fn bytes(&self, spec: &SourceSpec) -> Vec<u8> {
        let lines = self.lines(spec);
        let mut out = Vec::new();
        if self.bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        let mut n = 0usize;
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(self.eol);
            }
            for (j, cell) in line.iter().enumerate() {
                if j > 0 {
                    out.push(self.delimiter);
                }
                n += 1;
                self.cell(cell, n, &mut out);
            }
        }
        if self.trailing_eol && !lines.is_empty() {
            out.extend_from_slice(self.eol);
        }
        for (at, m) in &self.mutations {
            let i = at.index(out.len() + 1);
            match m {
                Mutation::Insert(b) => out.insert(i, *b),
                Mutation::Delete if i < out.len() => {
                    out.remove(i);
                }
                Mutation::Replace(b) if i < out.len() => out[i] = *b,
                Mutation::Truncate => out.truncate(i),
                Mutation::Bom => {
                    out.splice(i..i, b"\xEF\xBB\xBF".iter().copied());
                }
                Mutation::Delete | Mutation::Replace(_) => {}
            }
        }
        out
    }

    fn cell(&self, cell: &[u8], n: usize, out: &mut Vec<u8>) {
        let coin = |k: usize| self.coin[(n * 3 + k) % self.coin.len()];
        let needs = cell
            .iter()
            .any(|&b| b == self.delimiter || b == self.quote || b == b'\r' || b == b'\n');
        let (quoted, doubled) = match self.quoting {
            Quoting::Never => (false, false),
            Quoting::Always => (true, true),
            Quoting::Needed => (needs, true),
            Quoting::Careless => (coin(0), coin(1) || coin(2)),
        };
        if quoted {
            out.push(self.quote);
        }
        for &b in cell {
            out.push(b);
            if doubled && quoted && b == self.quote {
                out.push(b);
            }
        }
        if quoted {
            out.push(self.quote);
        }
    }
}

/// A cell of column `name` that the spec's output `(case, output)` accepts, when a field
/// reads that column: the split value, an identifier, an allowed code, a number in range, a
/// date or time in the field's format. `pick` varies the choice.
fn plausible(
    spec: &SourceSpec,
    (case, output): &(Option<&str>, Output),
    name: &str,
    pick: usize,
) -> Option<String> {
    if let Some(split) = &spec.split
        && split.by == name
    {
        return case.map(str::to_string);
    }
    let unpivoted = spec
        .unpivot
        .as_ref()
        .is_some_and(|u| u.columns.iter().any(|c| c == name));
    let reads = |c: &str| c == name || (unpivoted && c == "$value");
    for (field, f) in &output.fields {
        let Some(def) = output.entity.field(field) else {
            continue;
        };
        match &f.from {
            Some(Columns::One(c)) if reads(c) => return Some(value_for(def, f, pick)),
            Some(Columns::Many(v)) if v.len() == 2 && reads(&v[0]) => {
                let fmt = f.format.as_deref().unwrap_or("%Y-%m-%d");
                return Some(formatted(&date().format(fmt)).unwrap_or_default());
            }
            Some(Columns::Many(v)) if v.len() == 2 && reads(&v[1]) => {
                let fmt = f.time_format.as_deref().unwrap_or("%H:%M");
                return Some(
                    formatted(&date().and_hms_opt(9, 30, 0)?.format(fmt)).unwrap_or_default(),
                );
            }
            _ => {}
        }
    }
    None
}

fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default()
}

/// A chrono rendering, `None` where the format is broken (its `Display` then fails).
fn formatted(d: &impl std::fmt::Display) -> Option<String> {
    use std::fmt::Write;
    let mut s = String::new();
    write!(s, "{d}").ok().map(|()| s)
}

fn value_for(def: &vigie_model::FieldDef, f: &FieldSpec, pick: usize) -> String {
    // Sometimes a code the spec maps (to an allowed value, in a valid spec).
    if let Some(map) = &f.map
        && !map.is_empty()
        && pick.is_multiple_of(3)
        && let Some(k) = map.keys().nth(pick / 3 % map.len())
    {
        return k.clone();
    }
    let range = match (f.range, def.range) {
        (Some([lo, hi]), Some((clo, chi))) => Some((lo.max(clo), hi.min(chi))),
        (Some([lo, hi]), None) => Some((lo, hi)),
        (None, r) => r,
    };
    let number = |whole: bool| {
        let x = match range {
            Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => {
                if whole {
                    lo.ceil()
                } else {
                    (lo + hi) / 2.0
                }
            }
            Some((lo, _)) if lo.is_finite() => lo.ceil() + 1.0,
            _ => 3.0,
        };
        if whole {
            format!(
                "{}",
                x.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i64
            )
        } else if f.decimal.as_deref() == Some(",") {
            format!("{x}").replace('.', ",")
        } else {
            format!("{x}")
        }
    };
    match def.ty {
        FieldType::PersonKey => SECRETS[pick % SECRETS.len()].to_string(),
        FieldType::Text => {
            let allowed: Vec<&str> = match &f.allowed {
                Some(list) => list.iter().map(String::as_str).collect(),
                None => def.allowed.to_vec(),
            };
            if allowed.is_empty() {
                ["SITE A", "R10", "T1", "Québec"][pick % 4].to_string()
            } else {
                allowed[pick % allowed.len()].to_string()
            }
        }
        FieldType::Int => number(true),
        FieldType::Float => number(false),
        FieldType::Date => {
            formatted(&date().format(f.format.as_deref().unwrap_or("%Y-%m-%d"))).unwrap_or_default()
        }
        FieldType::DateTime => {
            let fmt = f.format.as_deref().unwrap_or("%Y-%m-%d %H:%M");
            date()
                .and_hms_opt(9, 30, 0)
                .and_then(|t| formatted(&t.format(fmt)))
                .unwrap_or_default()
        }
    }
}

/// What a file looks like as a whole.
#[derive(Debug, Clone)]
enum Wrapping {
    Plain,
    Utf16 { big_endian: bool, bom: bool },
    Gzip,
    Zip,
    Bytes(Vec<u8>),
}

fn wrapping() -> impl Strategy<Value = Wrapping> {
    prop_oneof![
        40 => Just(Wrapping::Plain),
        2 => (any::<bool>(), any::<bool>())
            .prop_map(|(big_endian, bom)| Wrapping::Utf16 { big_endian, bom }),
        1 => Just(Wrapping::Gzip),
        1 => Just(Wrapping::Zip),
        6 => prop::collection::vec(any::<u8>(), 0..600).prop_map(Wrapping::Bytes),
    ]
}

impl Wrapping {
    fn apply(&self, csv: Vec<u8>) -> Vec<u8> {
        match self {
            Wrapping::Plain => csv,
            Wrapping::Utf16 { big_endian, bom } => {
                let text = String::from_utf8_lossy(&csv);
                let mut out = Vec::new();
                let units = (*bom)
                    .then_some(0xFEFF)
                    .into_iter()
                    .chain(text.encode_utf16());
                for u in units {
                    out.extend(if *big_endian {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    });
                }
                out
            }
            Wrapping::Gzip => {
                [b"\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\x03".as_slice(), &csv].concat()
            }
            Wrapping::Zip => [b"PK\x03\x04\x14\x00\x00\x00".as_slice(), &csv].concat(),
            Wrapping::Bytes(b) => b.clone(),
        }
    }
}

fn separators(spec: &SourceSpec) -> (u8, u8, bool) {
    match &spec.format {
        FileFormat::Csv(d) => (
            match d.delimiter.as_str() {
                "\\t" => b'\t',
                s => s.as_bytes().first().copied().unwrap_or(b','),
            },
            d.quote.as_bytes().first().copied().unwrap_or(b'"'),
            d.header,
        ),
        FileFormat::Parquet {} => (b',', b'"', true),
    }
}

fn csv_case() -> impl Strategy<Value = (SpecCase, Vec<u8>)> {
    spec_case(false).prop_flat_map(|case| {
        let (delimiter, quote, header) = separators(&case.spec);
        (Just(case), layout(delimiter, quote, header), wrapping()).prop_map(
            |(case, layout, wrapping)| {
                let data = wrapping.apply(layout.bytes(&case.spec));
                (case, data)
            },
        )
    })
}

/// A small Parquet file of text columns, its rows laid out as for CSV (plausible or random,
/// missing cells null), then maybe damaged.
fn parquet_case() -> impl Strategy<Value = (SpecCase, Vec<u8>)> {
    (
        spec_case(true),
        layout(b',', b'"', true),
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec((any::<Index>(), any::<u8>()), 1..4),
        ],
        prop::option::weighted(0.1, any::<Index>()),
    )
        .prop_map(|(case, layout, flips, cut)| {
            let mut lines = layout.lines(&case.spec);
            let names = match layout.header {
                Some(_) if !lines.is_empty() => lines.remove(0),
                _ => POOL.iter().map(|n| n.as_bytes().to_vec()).collect(),
            };
            let mut data = parquet_file(&names, &lines);
            if !data.is_empty() {
                for (at, b) in &flips {
                    let i = at.index(data.len());
                    data[i] = *b;
                }
            }
            if let Some(at) = cut {
                data.truncate(at.index(data.len() + 1));
            }
            (case, data)
        })
}

fn parquet_file(names: &[Vec<u8>], rows: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut seen = std::collections::HashSet::new();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let name = String::from_utf8_lossy(name).into_owned();
        // Arrow allows duplicate names; keep the file simple to build.
        if !seen.insert(name.clone()) {
            continue;
        }
        fields.push(Field::new(name, DataType::Utf8, true));
        let values: StringArray = rows
            .iter()
            .map(|r| r.get(i).map(|c| String::from_utf8_lossy(c).into_owned()))
            .collect();
        columns.push(Arc::new(values));
    }
    let schema = Arc::new(Schema::new(fields));
    let mut out = Vec::new();
    let written = (|| -> Result<(), Box<dyn std::error::Error>> {
        let batch = if columns.is_empty() {
            RecordBatch::new_empty(schema.clone())
        } else {
            RecordBatch::try_new(schema.clone(), columns)?
        };
        let mut w = ArrowWriter::try_new(&mut out, schema, None)?;
        w.write(&batch)?;
        w.close()?;
        Ok(())
    })();
    written.expect("a Parquet file of text columns is written");
    out
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

fn check(case: &SpecCase, data: &[u8]) -> Result<(), TestCaseError> {
    // A campaign's progress, seen with `--nocapture`.
    static CASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let done = CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    if done.is_multiple_of(10_000) {
        eprintln!("fuzz: {done} cases");
    }
    let spec = &case.spec;
    let ctx = FileContext {
        file: "fuzz.csv",
        load_id: "fuzz",
        key: &KEY,
        numbers: &vigie_model::PersonNumbers::new(),
        batch_rows: 5,
        staging: None,
        spill_rows: usize::MAX,
        part_bytes: 0,
        period: None,
        dates: crate::plausible::testing::dates(),
        loaded: None,
        identifiers: crate::plausible::testing::ontario(),
    };
    let bytes = Bytes::copy_from_slice(data);
    let shape = Shape::of(spec, &bytes);
    match ingest_file(spec, &ctx, bytes.clone()) {
        Ok(o) => check_read(spec, &shape, &bytes, &o),
        Err(FileFailure::Rejected(e, read)) => check_rejected(case, &shape, &e, read),
        Err(FileFailure::Environment(e)) => Err(TestCaseError::fail(format!(
            "environmental failure without staging: {e}"
        ))),
    }
}

/// What the bytes of a case allow the outcome to say.
struct Shape {
    /// A CSV file (lines are checked), not a Parquet one.
    csv: bool,
    /// Lines in the file.
    lines: u64,
    /// Records end at a line end or at the end of the file: at most this many.
    most_records: u64,
}

impl Shape {
    fn of(spec: &SourceSpec, data: &[u8]) -> Shape {
        Shape {
            csv: matches!(spec.format, FileFormat::Csv(_)),
            // Lines end with a line feed, or with a carriage return alone in a file
            // without line feeds (see `read::line_break_of`).
            lines: 1 + data
                .iter()
                .filter(|&&b| b == b'\n' || (b == b'\r' && !data.contains(&b'\n')))
                .count() as u64,
            most_records: 1 + data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64,
        }
    }
}

/// A file read: rows add up, quarantine lines are inside the file and in order and show no
/// identifier, the batches hold the rows stored.
fn check_read(
    spec: &SourceSpec,
    shape: &Shape,
    bytes: &Bytes,
    o: &FileOutcome,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(o.rows_accepted + o.rows_rejected, o.rows_read);
    prop_assert_eq!(
        o.rejections_by_reason.values().sum::<u64>(),
        o.rows_rejected
    );
    prop_assert!(o.quarantine.len() as u64 >= o.rows_rejected);
    let last = if shape.csv { shape.lines } else { o.rows_read };
    check_quarantine(&o.quarantine, last)?;
    let stored: u64 = o.entities.values().map(|b| b.rows).sum();
    let in_batches: usize = o
        .entities
        .values()
        .flat_map(|b| &b.batches)
        .map(RecordBatch::num_rows)
        .sum();
    prop_assert_eq!(in_batches as u64, stored);
    if spec.unpivot.is_none() {
        prop_assert_eq!(stored, o.rows_accepted);
    }
    if shape.csv {
        prop_assert!(o.rows_read <= shape.most_records);
        // The lenient count of a rejected file agrees with a full read.
        prop_assert_eq!(count_records(bytes, &spec.format), o.rows_read);
    }
    Ok(())
}

/// Quarantine rows: lines in `1..=last`, in order, no identifier in a reason or a value.
fn check_quarantine(quarantine: &[QuarantineRow], last: u64) -> Result<(), TestCaseError> {
    let mut previous = 0;
    for q in quarantine {
        prop_assert!(
            (1..=last).contains(&q.line),
            "quarantine line {} outside 1..={}",
            q.line,
            last
        );
        prop_assert!(q.line >= previous, "quarantine lines out of order");
        previous = q.line;
        for id in SECRETS {
            prop_assert!(
                !q.reason.contains(id),
                "identifier in a reason: {}",
                q.reason
            );
            // Whatever the column, the quarantine shows no identifier.
            prop_assert!(
                !q.value.as_deref().unwrap_or("").contains(id),
                "identifier in a quarantined value: {:?}",
                q.value
            );
        }
    }
    Ok(())
}

/// A file rejected whole (`read` records counted): a message, a line inside the file, no
/// more records than it can hold, no identifier in the message.
fn check_rejected(
    case: &SpecCase,
    shape: &Shape,
    e: &FileRejection,
    read: u64,
) -> Result<(), TestCaseError> {
    prop_assert!(!e.message.is_empty());
    // Only a spec the loader refuses (two columns for a text field, say) may reach an
    // internal error; it has no line.
    let internal = e.message.starts_with("internal error");
    prop_assert!(
        !(internal && case.valid),
        "a valid spec hit an internal error: {}",
        e.message
    );
    if shape.csv && !internal {
        prop_assert!(
            (1..=shape.lines).contains(&e.line),
            "line {} outside 1..={}: {}",
            e.line,
            shape.lines,
            e.message
        );
        prop_assert!(
            read <= shape.most_records,
            "{} records counted, at most {}",
            read,
            shape.most_records
        );
    }
    for id in SECRETS {
        prop_assert!(
            !e.message.contains(id),
            "identifier in the message: {}",
            e.message
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// CSV-like files (and arbitrary bytes, UTF-16, compressed) against arbitrary specs.
    #[test]
    fn csv_files_against_arbitrary_specs((case, data) in csv_case()) {
        check(&case, &data)?;
    }

    /// Parquet files, intact or damaged, against arbitrary specs.
    #[test]
    fn parquet_files_against_arbitrary_specs((case, data) in parquet_case()) {
        check(&case, &data)?;
    }
}
