//! A pipeline: where extracts land, where the warehouse lives, which sources feed it,
//! how identifiers are keyed, and when it runs.

use std::path::PathBuf;

use serde::Deserialize;

use super::month::Month;
use super::report_period::ReportPeriod;
use super::schedule::ScheduleSpec;
use crate::Lang;

/// A pipeline file (`pipelines/*.yaml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Pipeline name, used in run records and metrics labels.
    pub name: String,
    /// Free text for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Demo pipelines run on synthetic data and may use the public demo key.
    #[serde(default)]
    pub demo: bool,
    /// Landing zone: a local path (relative to the working directory) or an
    /// `s3://`, `gs://`, `az://` or `file://` URL.
    pub landing: String,
    /// Warehouse root, same forms as `landing`.
    pub warehouse: String,
    /// Pseudonymisation key source.
    pub key: KeySpec,
    /// Source spec files, relative to this pipeline file.
    pub sources: Vec<PathBuf>,
    /// When `vigie serve` runs the pipeline.
    #[serde(default)]
    pub schedule: Option<ScheduleSpec>,
    /// Small-cell suppression.
    #[serde(default)]
    pub disclosure: vigie_disclosure::DisclosureConfig,
    /// The indicator catalogue and how to run it.
    #[serde(default)]
    pub indicators: IndicatorsSpec,
    /// What each run writes besides the warehouse.
    #[serde(default)]
    pub outputs: OutputsSpec,
    /// Event dates before this day are implausible for this pipeline and quarantined
    /// (birth and death dates have their own human range).
    #[serde(default = "default_earliest_date")]
    pub earliest_date: chrono::NaiveDate,
    /// How long a run waits for another vigie process writing the same warehouse before
    /// giving up.
    #[serde(default = "default_writer_wait_seconds")]
    pub writer_wait_seconds: u64,
    /// Upkeep of the warehouse's tables (`vigie maintain`).
    #[serde(default)]
    pub maintenance: MaintenanceSpec,
    /// The program evaluation's rules (who is a high user, the windows).
    #[serde(default)]
    pub evaluation: super::evaluation::EvaluationSpec,
    /// Governed equity strata this pipeline computes (off by default).
    #[serde(default)]
    pub equity: EquitySpec,
}

/// Which governed strata (`governed: true` in `strata.yaml`, e.g. self-identified Indigenous
/// identity) a pipeline computes: only those its data-sharing agreement allows, named here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquitySpec {
    /// Governed stratum ids to compute; empty: none.
    #[serde(default)]
    pub enabled: Vec<String>,
    /// Who governs that data and under which agreement, in both languages (the reports
    /// say it); required when `enabled` is not empty.
    #[serde(default)]
    pub governance: Option<GovernanceNote>,
}

/// A statement of data governance in both official languages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceNote {
    /// French.
    pub fr: String,
    /// English.
    pub en: String,
}

/// Upkeep of the warehouse's Delta tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSpec {
    /// How long, in days, `vigie maintain` keeps the files of replaced table versions: time
    /// travel (`vigie query --as-of`, other Delta readers) reaches back exactly that far.
    /// At least 1.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

impl Default for MaintenanceSpec {
    fn default() -> Self {
        MaintenanceSpec {
            retention_days: default_retention_days(),
        }
    }
}

fn default_retention_days() -> u32 {
    30
}

fn default_earliest_date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

fn default_writer_wait_seconds() -> u64 {
    600
}

/// Outputs of a run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsSpec {
    /// Reports rendered after each successful compute.
    #[serde(default)]
    pub reports: Vec<ReportOutputSpec>,
}

/// One scheduled report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportOutputSpec {
    /// `feedback` (one per team) or `accountability` (the region).
    pub kind: ReportKind,
    /// `latest_quarter` (default), `latest_year`, or a fixed quarter (`2025Q3`), month
    /// (`2025-09`) or year (`2025`).
    #[serde(default)]
    pub period: ReportPeriod,
    /// Languages, among `fr` and `en` (default: both).
    #[serde(default = "default_languages")]
    pub languages: Vec<Lang>,
    /// Teams for feedback reports (default: every team with results).
    #[serde(default)]
    pub teams: Vec<String>,
    /// Where to write: a local directory or an `s3://`, `gs://`, `az://` URL.
    pub to: String,
}

/// Report kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Clinician feedback, per team.
    Feedback,
    /// Funder accountability, for the region.
    Accountability,
}

fn default_languages() -> Vec<Lang> {
    Lang::ALL.to_vec()
}

/// Which indicators a pipeline computes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsSpec {
    /// A catalogue directory, relative to the pipeline file. Unset: the catalogue built into
    /// vigie. Set: its indicators extend the built-in catalogue, and one with the id of a
    /// built-in indicator replaces it (see `embedded` to use the directory alone).
    #[serde(default)]
    pub queries: Option<PathBuf>,
    /// Whether the built-in catalogue is the base the directory extends (default true);
    /// `false` computes the directory's indicators alone.
    #[serde(default = "default_true")]
    pub embedded: bool,
    /// Indicator ids to compute; empty or absent: all of them.
    #[serde(default)]
    pub include: Vec<String>,
    /// First month computed (`YYYY-MM`); default: the first month with data.
    #[serde(default)]
    pub from: Option<Month>,
    /// Bootstrap replicates of the program evaluation (at least 500).
    #[serde(default = "default_replicates")]
    pub bootstrap_replicates: usize,
    /// Bootstrap seed: the same seed reproduces the same intervals.
    #[serde(default = "default_seed")]
    pub bootstrap_seed: u64,
    /// Memory pool for indicator queries, in MiB (DataFusion spills beyond it where it can).
    #[serde(default = "default_memory_mib")]
    pub memory_limit_mib: usize,
    /// Fewest periods a series needs before SPC limits and signals are shown (default 12;
    /// NHS Making Data Count recommends 15 to 20 where the history allows).
    #[serde(default = "default_spc_min_points")]
    pub spc_min_points: usize,
}

fn default_spc_min_points() -> usize {
    12
}

impl Default for IndicatorsSpec {
    fn default() -> Self {
        IndicatorsSpec {
            queries: None,
            embedded: true,
            include: vec![],
            from: None,
            bootstrap_replicates: default_replicates(),
            bootstrap_seed: default_seed(),
            memory_limit_mib: default_memory_mib(),
            spc_min_points: default_spc_min_points(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_replicates() -> usize {
    1000
}
fn default_seed() -> u64 {
    20_251_123
}
fn default_memory_mib() -> usize {
    2048
}

/// Where the pseudonymisation key comes from: `demo`, `{ env: VARIABLE }` or `{ file: PATH }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "KeyRepr")]
pub enum KeySpec {
    /// An environment variable holding the key.
    Env(String),
    /// A file holding the key.
    File(PathBuf),
    /// The public demo key: allowed only with `demo: true`.
    Demo,
}

/// Whether `name` can name an environment variable in a shell: letters, digits and
/// underscores, not starting with a digit.
fn is_variable_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The YAML forms a key source may take.
#[derive(Deserialize)]
#[serde(untagged)]
enum KeyRepr {
    Word(String),
    Map(std::collections::BTreeMap<String, String>),
}

impl TryFrom<KeyRepr> for KeySpec {
    type Error = String;
    fn try_from(repr: KeyRepr) -> Result<Self, Self::Error> {
        const EXPECTED: &str = "expected `demo`, `{ env: VARIABLE }` or `{ file: /path/to/key }`";
        match repr {
            KeyRepr::Word(w) if w == "demo" => Ok(KeySpec::Demo),
            // Not repeated: a word here may be the key itself, pasted into the pipeline.
            KeyRepr::Word(_) => Err(format!(
                "not a key source (the word given is not shown: if it is the key itself, move it to an environment variable or a file the pipeline names — a pipeline must not hold it / mot non affiché : si c'est la clé elle-même, placez-la dans une variable d'environnement ou un fichier nommé par le pipeline): {EXPECTED}"
            )),
            KeyRepr::Map(m) if m.len() == 1 => match m.into_iter().next() {
                Some((k, v)) if k == "env" && !is_variable_name(&v) => Err(format!(
                    "`env` names an environment variable (letters, digits and underscores, not starting with a digit); the value given is not one and is not shown, as it may be the key itself / `env` nomme une variable d'environnement ; la valeur donnée n'en est pas un nom et n'est pas affichée, ce pourrait être la clé elle-même: {EXPECTED}"
                )),
                Some((k, v)) if k == "env" => Ok(KeySpec::Env(v)),
                Some((k, v)) if k == "file" => Ok(KeySpec::File(PathBuf::from(v))),
                Some((k, _)) => Err(format!("unknown key source `{k}`: {EXPECTED}")),
                None => Err(EXPECTED.to_string()),
            },
            KeyRepr::Map(_) => Err(EXPECTED.to_string()),
        }
    }
}
