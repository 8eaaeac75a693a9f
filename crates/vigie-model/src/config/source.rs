//! A partner source spec: how one partner's extract maps onto canonical entities.
//!
//! To add a file format: add a variant to [`FileFormat`], then follow the compiler to the
//! one `match` in the ingest's reader that dispatches on it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::entity::{Entity, FieldType};
use crate::identifier::IdScheme;

/// One partner extract: file pattern, dialect, mapping and rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Stable identifier of the source, stored in every row's `_source`.
    pub source: String,
    /// The partner's name, for people.
    pub partner: String,
    /// Glob pattern of the files, relative to the landing zone (e.g. `hospital_a/ed_*.csv`).
    pub files: String,
    /// File format and dialect.
    pub format: FileFormat,
    /// Append, or replace earlier rows of this source for the periods a file covers.
    #[serde(default)]
    pub load: LoadMode,
    /// Cell values that mean "no value" (besides the empty cell).
    #[serde(default)]
    pub null_values: Vec<String>,
    /// Extract freshness expectation: days after which a missing new file is stale.
    #[serde(default)]
    pub expected_every_days: Option<u32>,
    /// Wide-to-long: several columns become one row each.
    #[serde(default)]
    pub unpivot: Option<UnpivotSpec>,
    /// Single target entity (with `fields`), or use `split`.
    #[serde(default)]
    pub entity: Option<Entity>,
    /// Canonical field -> how to fill it from the partner's columns.
    #[serde(default)]
    pub fields: Option<BTreeMap<String, FieldSpec>>,
    /// A combined extract split into several entities by the value of one column.
    #[serde(default)]
    pub split: Option<SplitSpec>,
    /// When a `replace` file is held for a person to look at instead of being applied.
    #[serde(default)]
    pub guards: GuardSpec,
    /// A file is loaded only once it has not changed for this many seconds (a partner's
    /// transfer may still be writing it).
    #[serde(default = "default_settle_seconds")]
    pub settle_seconds: u64,
    /// When set, a file is loaded only once a marker file named `<file><suffix>` (e.g.
    /// `.done`) exists beside it: for partners whose transfer writes one when it finishes.
    #[serde(default)]
    pub ready_marker: Option<String>,
    /// Event dates may be this many days after the time of the load (clock and time-zone
    /// differences); later dates are quarantined.
    #[serde(default = "default_future_tolerance_days")]
    pub future_tolerance_days: u32,
    /// A survey source's instrument and how the partner's answers map onto its scales
    /// (required for a source feeding `survey_response`).
    #[serde(default)]
    pub survey: Option<SurveySpec>,
}

/// A survey source's instrument file and the partner's answers, per scale of the instrument.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveySpec {
    /// The instrument file, relative to this source spec.
    pub instrument: std::path::PathBuf,
    /// Scale name -> the partner's answer (text in any language, or code) -> a value of the
    /// scale, `not_applicable` or `missing`.
    #[serde(default)]
    pub answers: BTreeMap<String, BTreeMap<Scalar, Scalar>>,
    /// The instrument read and the answers checked against it, set by
    /// [`load_source`](super::load_source); the ingest reads answers through it.
    #[serde(skip)]
    pub binding: Option<std::sync::Arc<super::SurveyBinding>>,
}

/// A YAML scalar read as text, whether written as a string or a number (`"4"` and `4`, a
/// partner's code `0` to `10` without quotes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a text or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

fn default_settle_seconds() -> u64 {
    60
}
fn default_future_tolerance_days() -> u32 {
    1
}

/// Thresholds above which a `replace` file is held (nothing applied) until a person
/// releases or discards it with `vigie held`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    /// Hold a file whose rejected records exceed this share of its records, in percent.
    #[serde(default = "default_max_rejected_pct")]
    pub max_rejected_pct: f64,
    /// Hold a file that would shrink the rows it replaces by more than this share, in
    /// percent: per month for `period: month`, for the whole source for `period: all`.
    #[serde(default = "default_max_shrink_pct")]
    pub max_shrink_pct: f64,
    /// Changes of fewer records never hold a file (1 bad record of 9 is 11% of a small
    /// file, not a broken extract): the rejected share and the shrink count only from this
    /// many records.
    #[serde(default = "default_min_rows")]
    pub min_rows: u64,
}

impl Default for GuardSpec {
    fn default() -> Self {
        GuardSpec {
            max_rejected_pct: default_max_rejected_pct(),
            max_shrink_pct: default_max_shrink_pct(),
            min_rows: default_min_rows(),
        }
    }
}

fn default_max_rejected_pct() -> f64 {
    10.0
}
fn default_max_shrink_pct() -> f64 {
    20.0
}
fn default_min_rows() -> u64 {
    10
}

/// File formats.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FileFormat {
    /// Delimited text.
    Csv(CsvDialect),
    /// Apache Parquet (columns are read by name and converted like text).
    Parquet {},
}

/// CSV dialect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvDialect {
    /// Field delimiter: `,`, `;`, `|` or `\t`.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Quote character.
    #[serde(default = "default_quote")]
    pub quote: String,
    /// Whether the first line is a header row (required when fields name columns).
    #[serde(default = "default_true")]
    pub header: bool,
    /// Text encoding; a UTF-8 byte-order mark is always accepted and removed.
    #[serde(default)]
    pub encoding: Encoding,
    /// Whether a quoted field may hold line breaks (default false). Without it, a line break
    /// inside quotes rejects the file at the line where its record starts: a stray quote
    /// otherwise swallows the following records, their health card numbers included, into
    /// one text cell. Declare it only for extracts with genuinely multi-line free text.
    #[serde(default)]
    pub multiline: bool,
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_quote() -> String {
    "\"".into()
}
fn default_true() -> bool {
    true
}

/// Text encodings partners use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Encoding {
    /// UTF-8, with or without BOM.
    #[default]
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    /// Windows-1252 (Western European, what French Excel exports).
    #[serde(rename = "windows-1252", alias = "cp1252")]
    Windows1252,
    /// ISO-8859-1 (Latin-1).
    #[serde(rename = "iso-8859-1", alias = "latin1", alias = "latin-1")]
    Iso8859_1,
}

/// How a load treats earlier rows of the same source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum LoadMode {
    /// Each file adds its rows; re-loading the same file name replaces that file's rows.
    #[default]
    Append,
    /// A file replaces every earlier row of this source for the periods it covers.
    Replace {
        /// The period a file covers: each event month present in it, or the whole source.
        period: ReplacePeriod,
    },
}

/// The period a `replace` file covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplacePeriod {
    /// Every event month present in the file.
    Month,
    /// The whole source (a full snapshot, e.g. a registry).
    All,
}

/// Wide-to-long unpivot: each listed column becomes one output row, with the column name in
/// the virtual column `$name` and the cell in `$value`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnpivotSpec {
    /// The columns to unpivot, in order.
    pub columns: Vec<String>,
    /// Whether a row whose unpivoted cell is empty/null is kept (with a null value).
    #[serde(default = "default_true")]
    pub keep_empty: bool,
}

/// A combined extract routed to entities by the value of one column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// The column whose value picks the case.
    pub by: String,
    /// Value -> target.
    pub cases: BTreeMap<String, Output>,
}

/// One target of a source: an entity and how to fill its fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// The canonical entity.
    pub entity: Entity,
    /// Canonical field -> how to fill it.
    pub fields: BTreeMap<String, FieldSpec>,
}

/// One or several source columns.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Columns {
    /// One column.
    One(String),
    /// Several (a date and a time column).
    Many(Vec<String>),
}

impl Columns {
    /// The column names.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Columns::One(c) => vec![c.as_str()],
            Columns::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// How to fill one canonical field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Source column(s); `[date, time]` for a date-time split over two columns.
    #[serde(default)]
    pub from: Option<Columns>,
    /// A constant value instead of a column.
    #[serde(default)]
    pub value: Option<String>,
    /// chrono format of a date or date-time (`%Y-%m-%d`, `%d/%m/%Y`); ISO by default.
    #[serde(default)]
    pub format: Option<String>,
    /// chrono format of the time column when a date-time comes from two columns (`%H%M`).
    #[serde(default)]
    pub time_format: Option<String>,
    /// Decimal separator of numbers (`.` or `,`).
    #[serde(default)]
    pub decimal: Option<String>,
    /// Code list: partner value -> canonical value, applied before type conversion.
    #[serde(default)]
    pub map: Option<BTreeMap<String, String>>,
    /// Overrides whether the field is required.
    #[serde(default)]
    pub required: Option<bool>,
    /// Inclusive numeric range, narrowing the canonical one.
    #[serde(default)]
    pub range: Option<[f64; 2]>,
    /// Allowed canonical values, narrowing the canonical list.
    #[serde(default)]
    pub allowed: Option<Vec<String>>,
    /// Identifier check digit alone, any length (the older form; prefer `scheme`).
    #[serde(default)]
    pub check: Option<CheckDigit>,
    /// The declared identifier format of a person key (`ontario_hcn`, `quebec_ramq`,
    /// `france_nir` or a custom `{ name, pattern, check }`): length, characters and check
    /// digit, and the shape the detector looks for in other text columns.
    #[serde(default)]
    pub scheme: Option<IdScheme>,
}

/// Identifier check-digit rules of the older `check` key, which checks a digit but no length:
/// `check: luhn` accepts a 9-digit SIN or an 11-digit number whose last digit happens to
/// match. Still accepted; `scheme` declares the whole format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDigit {
    /// Luhn mod 10 over all digits (the last digit checks the others), whatever their number.
    Luhn,
    /// No check.
    None,
}

impl SourceSpec {
    /// The targets of the source: one without a split, one per case with it.
    /// Each target comes with the split value that selects it (None: every row).
    pub fn outputs(&self) -> Vec<(Option<&str>, Output)> {
        match (&self.split, self.entity, &self.fields) {
            (Some(split), _, _) => split
                .cases
                .iter()
                .map(|(k, o)| (Some(k.as_str()), o.clone()))
                .collect(),
            (None, Some(entity), Some(fields)) => vec![(
                None,
                Output {
                    entity,
                    fields: fields.clone(),
                },
            )],
            _ => vec![],
        }
    }

    /// The identifier schemes declared on the source's person-key fields, each once, in the
    /// order of the outputs and fields: what the detector should look for in every other text
    /// column of this source.
    pub fn identifier_schemes(&self) -> Vec<IdScheme> {
        let mut schemes: Vec<IdScheme> = Vec::new();
        for (_, output) in self.outputs() {
            for (name, field) in &output.fields {
                let is_person_key = output
                    .entity
                    .field(name)
                    .is_some_and(|def| def.ty == FieldType::PersonKey);
                if let Some(scheme) = &field.scheme
                    && is_person_key
                    && !schemes.contains(scheme)
                {
                    schemes.push(scheme.clone());
                }
            }
        }
        schemes
    }
}
