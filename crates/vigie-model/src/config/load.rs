//! Loading configuration files: YAML errors with line and key path, then semantic checks
//! that collect every problem in one pass.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::catalogue_source::CatalogueSource;
use super::instrument::Instrument;
use super::parse::{Parsed, parse};
use super::pattern::FilePattern;
use super::pipeline::{KeySpec, PipelineSpec};
use super::source::{
    CheckDigit, Columns, FieldSpec, FileFormat, LoadMode, Output, ReplacePeriod, SourceSpec,
};
use super::survey::bind_survey;
use crate::entity::{Entity, FieldType};
use crate::error::{ConfigError, ConfigProblem};
use crate::locate::locate;
use crate::pseudonym::KeySource;

/// A pipeline with its sources, every path resolved.
#[derive(Debug, Clone)]
pub struct LoadedPipeline {
    /// The pipeline file.
    pub path: PathBuf,
    /// Its contents.
    pub spec: PipelineSpec,
    /// Its sources, with the file each came from.
    pub sources: Vec<(PathBuf, SourceSpec)>,
}

impl LoadedPipeline {
    /// Where the indicator catalogue comes from: the built-in one, extended by
    /// `indicators.queries` (resolved against the pipeline file) when set.
    pub fn queries_dir(&self) -> CatalogueSource {
        catalogue_source(
            &self.path,
            self.spec.indicators.queries.as_deref(),
            self.spec.indicators.embedded,
        )
    }

    /// The small-cell suppression every output of this pipeline goes through.
    pub fn disclosure(&self) -> vigie_disclosure::DisclosureConfig {
        self.spec.disclosure
    }

    /// The survey instruments of the pipeline's sources, each once (sources sharing an
    /// instrument file share it), in source order.
    pub fn instruments(&self) -> Vec<std::sync::Arc<Instrument>> {
        instruments_of(self.sources.iter().map(|(_, s)| s))
    }

    /// The key source the pipeline declared.
    pub fn key_source(&self) -> KeySource {
        match &self.spec.key {
            KeySpec::Env(v) => KeySource::Env(v.clone()),
            KeySpec::File(p) => KeySource::File(p.clone()),
            KeySpec::Demo => KeySource::Demo,
        }
    }
}

/// The problems of one file, each located at its key's line.
pub(super) struct Problems<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) list: Vec<ConfigProblem>,
}

impl Problems<'_> {
    pub(super) fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        let line = locate(self.text, &key);
        self.list.push(ConfigProblem {
            file: self.file.to_path_buf(),
            line,
            key,
            message: message.into(),
        });
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        error: source,
    })
}

/// Loads and checks a pipeline and every source it names; all problems are reported together.
pub fn load_pipeline(path: &Path) -> Result<LoadedPipeline, ConfigError> {
    let text = read(path)?;
    let mut parsed = parse::<PipelineSpec>(path, &text);
    let Some(spec) = parsed.value.take() else {
        let mut list = parsed.problems;
        list.extend(problems_of_named_sources(path, &text));
        return Err(ConfigError::Invalid(list));
    };
    let mut problems = Problems {
        file: path,
        text: &text,
        list: vec![],
    };
    check_pipeline(&spec, &mut problems);
    let sources = load_sources(path, &spec, &mut problems);
    check_instruments(&sources, &mut problems);
    let list = merge(&parsed, path, problems.list);
    if list.is_empty() {
        Ok(LoadedPipeline {
            path: path.to_path_buf(),
            spec,
            sources,
        })
    } else {
        Err(ConfigError::Invalid(list))
    }
}

/// The problems of the sources a pipeline file names when the file does not deserialise
/// even without its bad keys: its sources are still checked, so that one pass reports the
/// problems of every file.
fn problems_of_named_sources(path: &Path, text: &str) -> Vec<ConfigProblem> {
    let mut list = Vec::new();
    if let Some(refs) = FileRefs::read(text) {
        let base = path.parent().unwrap_or(Path::new("."));
        for (i, rel) in refs.sources.iter().enumerate() {
            let mut problems = Problems {
                file: path,
                text,
                list: vec![],
            };
            check_source_file(i, &base.join(rel), &mut problems);
            list.extend(problems.list);
        }
    }
    list
}

/// The pipeline's own values: a name, no demo key outside demos, sources, usable
/// statistics settings, a past earliest date, a schedule that fires.
fn check_pipeline(spec: &PipelineSpec, problems: &mut Problems<'_>) {
    if spec.name.trim().is_empty() {
        problems.add("name", "the pipeline needs a name");
    }
    if spec.key == KeySpec::Demo && !spec.demo {
        problems.add(
            "key",
            "the public demo key is only allowed in demo pipelines (`demo: true`); use `key: { env: VIGIE_PSEUDONYM_KEY }` or `key: { file: /path/to/key }`",
        );
    }
    if spec.sources.is_empty() {
        problems.add("sources", "list at least one source spec file");
    }
    if !spec.indicators.embedded && spec.indicators.queries.is_none() {
        problems.add(
            "indicators.embedded",
            "without the built-in catalogue, name a catalogue directory in `indicators.queries` / sans le catalogue intégré, indiquez un répertoire dans `indicators.queries`",
        );
    }
    for (key, message) in spec.evaluation.problems() {
        problems.add(key, message);
    }
    if spec.indicators.spc_min_points < 2 {
        problems.add(
            "indicators.spc_min_points",
            "must be at least 2 (a control chart needs a moving range); 12 is the default",
        );
    }
    if spec.disclosure.min_count < 1 {
        problems.add(
            "disclosure.min_count",
            "must be at least 1 (6 suppresses counts from 1 to 5)",
        );
    }
    if spec.earliest_date >= chrono::Utc::now().date_naive() {
        problems.add(
            "earliest_date",
            format!(
                "{} is not in the past: every event would be quarantined (use the first day of the data the pipeline covers, e.g. 2000-01-01)",
                spec.earliest_date
            ),
        );
    }
    if spec.maintenance.retention_days < 1 {
        problems.add(
            "maintenance.retention_days",
            "must be at least 1: readers and a waiting load may still need the files of the \
             versions a load replaced (30 is the default; `vigie maintain --retention-hours N \
             --force` runs once with less)",
        );
    }
    if !spec.equity.enabled.is_empty()
        && !spec
            .equity
            .governance
            .as_ref()
            .is_some_and(|g| !g.fr.trim().is_empty() && !g.en.trim().is_empty())
    {
        problems.add(
            "equity.governance",
            "governed strata are enabled: say who governs that data and under which agreement, \
             `governance: { fr: ..., en: ... }` (the reports print it)",
        );
    }
    if spec.indicators.bootstrap_replicates < 500 {
        problems.add(
            "indicators.bootstrap_replicates",
            "use at least 500 replicates for percentile intervals",
        );
    }
    // The cron expression and time zone parsed; a schedule that never fires is still wrong.
    if let Some(schedule) = &spec.schedule
        && let Err(message) = schedule.next_after(chrono::Utc::now())
    {
        problems.add("schedule.cron", message);
    }
}

/// Loads the sources the pipeline at `path` names (relative to its folder), each id once.
fn load_sources(
    path: &Path,
    spec: &PipelineSpec,
    problems: &mut Problems<'_>,
) -> Vec<(PathBuf, SourceSpec)> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut sources = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, rel) in spec.sources.iter().enumerate() {
        let source_path = base.join(rel);
        if let Some(source) = check_source_file(i, &source_path, problems) {
            if !ids.insert(source.source.clone()) {
                problems.add(
                    format!("sources[{i}]"),
                    format!(
                        "source id \"{}\" is used by another source: ids must be unique",
                        source.source
                    ),
                );
            }
            sources.push((source_path, source));
        }
    }
    sources
}

/// The distinct instruments of `sources`, in source order.
pub(super) fn instruments_of<'a>(
    sources: impl Iterator<Item = &'a SourceSpec>,
) -> Vec<std::sync::Arc<Instrument>> {
    let mut out: Vec<std::sync::Arc<Instrument>> = Vec::new();
    for binding in sources.filter_map(|s| s.survey.as_ref()?.binding.as_ref()) {
        let instrument = binding.instrument();
        if !out.iter().any(|i| i.id() == instrument.id()) {
            out.push(instrument.clone());
        }
    }
    out
}

/// Instruments of several sources: one id is one file, and two instruments never share an
/// item code (results by item are keyed by the code alone).
fn check_instruments(sources: &[(PathBuf, SourceSpec)], problems: &mut Problems<'_>) {
    let mut seen: Vec<(std::sync::Arc<Instrument>, &Path)> = Vec::new();
    for (source_path, spec) in sources {
        let Some(binding) = spec.survey.as_ref().and_then(|s| s.binding.as_ref()) else {
            continue;
        };
        let instrument = binding.instrument();
        let same_file = |other: &Instrument| {
            let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            canonical(other.path()) == canonical(instrument.path())
        };
        if let Some((other, by)) = seen.iter().find(|(o, _)| o.id() == instrument.id()) {
            if !same_file(other) {
                problems.add(
                    "sources",
                    format!(
                        "instrument id \"{}\" names two different files: {} (source {}) and {} (source {}); give each instrument its own id / deux instruments portent le même identifiant",
                        instrument.id(),
                        other.path().display(),
                        by.display(),
                        instrument.path().display(),
                        source_path.display()
                    ),
                );
            }
            continue;
        }
        for (other, by) in &seen {
            let shared: Vec<&str> = instrument
                .item_codes()
                .into_iter()
                .filter(|c| other.item(c).is_some())
                .collect();
            if !shared.is_empty() {
                problems.add(
                    "sources",
                    format!(
                        "instruments {} ({}) and {} ({}) share the item code(s) {}: results by item would mix them; give the items distinct codes / deux instruments partagent des codes de question",
                        other.id(),
                        by.display(),
                        instrument.id(),
                        source_path.display(),
                        shared.join(", ")
                    ),
                );
            }
        }
        seen.push((instrument.clone(), source_path));
    }
}

/// The file's deserialisation problems first, then the semantic ones that do not repeat them
/// (a check of the rest of the file says nothing about a key already reported as bad).
fn merge<T>(parsed: &Parsed<T>, file: &Path, semantic: Vec<ConfigProblem>) -> Vec<ConfigProblem> {
    let mut list = parsed.problems.clone();
    list.extend(
        semantic
            .into_iter()
            .filter(|p| p.file != file || !parsed.covers(&p.key)),
    );
    list
}

/// Loads the `i`-th source of a pipeline; its problems join the pipeline's.
fn check_source_file(
    i: usize,
    source_path: &Path,
    problems: &mut Problems<'_>,
) -> Option<SourceSpec> {
    match load_source(source_path) {
        Ok(source) => Some(source),
        Err(ConfigError::Invalid(list)) => {
            problems.list.extend(list);
            None
        }
        Err(ConfigError::Read { error: source, .. }) => {
            problems.add(
                format!("sources[{i}]"),
                format!(
                    "cannot read source spec {}: {source}",
                    source_path.display()
                ),
            );
            None
        }
    }
}

/// The files a pipeline file names, read leniently (unknown and wrong keys ignored) for when
/// the file as a whole does not deserialise.
#[derive(Deserialize)]
struct FileRefs {
    #[serde(default)]
    sources: Vec<PathBuf>,
    #[serde(default)]
    indicators: Option<QueriesRef>,
}

#[derive(Deserialize)]
struct QueriesRef {
    #[serde(default)]
    queries: Option<PathBuf>,
    #[serde(default)]
    embedded: Option<bool>,
}

impl FileRefs {
    fn read(text: &str) -> Option<FileRefs> {
        serde_yaml::from_str(text).ok()
    }
}

/// The indicator catalogue a pipeline file names, even when the file has problems (so that
/// `vigie validate` checks the catalogue in the same pass); `None` when the file cannot be
/// read or names it in a form that cannot be understood.
pub fn queries_dir_of(path: &Path) -> Option<CatalogueSource> {
    let text = std::fs::read_to_string(path).ok()?;
    let refs = FileRefs::read(&text)?;
    let (queries, embedded) = refs
        .indicators
        .map(|i| (i.queries, i.embedded.unwrap_or(true)))
        .unwrap_or((None, true));
    Some(catalogue_source(path, queries.as_deref(), embedded))
}

/// The catalogue of a pipeline file: `queries` is relative to the file.
fn catalogue_source(pipeline: &Path, queries: Option<&Path>, embedded: bool) -> CatalogueSource {
    CatalogueSource {
        embedded,
        directory: queries.map(|q| pipeline.parent().unwrap_or(Path::new(".")).join(q)),
    }
}

/// Loads and checks one partner source spec.
pub fn load_source(path: &Path) -> Result<SourceSpec, ConfigError> {
    let text = read(path)?;
    let mut parsed = parse::<SourceSpec>(path, &text);
    let Some(mut spec) = parsed.value.take() else {
        return Err(ConfigError::Invalid(parsed.problems));
    };
    let mut problems = Problems {
        file: path,
        text: &text,
        list: vec![],
    };
    check_source(&spec, &mut problems);
    bind_survey(&mut spec, path, parsed.covers("survey"), &mut problems);
    let list = merge(&parsed, path, problems.list);
    if list.is_empty() {
        Ok(spec)
    } else {
        Err(ConfigError::Invalid(list))
    }
}

fn check_source(spec: &SourceSpec, p: &mut Problems<'_>) {
    if spec.source.is_empty()
        || !spec
            .source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        p.add(
            "source",
            "use letters, digits, `_` or `-` only (it is stored in every row)",
        );
    }
    match FilePattern::parse(&spec.files) {
        Err(e) => p.add("files", e),
        Ok(pattern) => {
            if spec.load
                == (LoadMode::Replace {
                    period: ReplacePeriod::Month,
                })
                && !pattern.declares_period()
            {
                p.add(
                    "files",
                    "a `replace` by month must declare the month each file covers in its name, e.g. `files: \"hospital_a/ed_visits_{yyyy}{mm}.csv\"` (a file then replaces exactly that month, never the months of stray rows)",
                );
            }
        }
    }
    for (key, value) in [
        ("guards.max_rejected_pct", spec.guards.max_rejected_pct),
        ("guards.max_shrink_pct", spec.guards.max_shrink_pct),
    ] {
        if !(0.0..=100.0).contains(&value) {
            p.add(
                key,
                format!("{value} is not a percentage: use a number from 0 to 100"),
            );
        }
    }
    if let Some(marker) = &spec.ready_marker
        && (marker.is_empty() || marker.contains('/'))
    {
        p.add(
            "ready_marker",
            "use a file-name suffix such as \".done\" (the marker is `<file><suffix>` beside the file)",
        );
    }
    if let FileFormat::Csv(d) = &spec.format {
        if !matches!(d.delimiter.as_str(), "," | ";" | "|" | "\t" | "\\t") {
            p.add(
                "format.delimiter",
                format!(
                    "unsupported delimiter {:?}: use \",\", \";\", \"|\" or \"\\t\"",
                    d.delimiter
                ),
            );
        }
        if d.quote.chars().count() != 1 || !d.quote.is_ascii() {
            p.add(
                "format.quote",
                "the quote must be one ASCII character, e.g. '\"'",
            );
        }
    }
    let outputs = spec.outputs();
    match (&spec.split, spec.entity, &spec.fields) {
        (Some(split), None, None) => {
            if split.cases.is_empty() {
                p.add("split.cases", "list at least one case, e.g. `URG: { entity: ed_visit, fields: ... }`");
            }
            if split.by.is_empty() {
                p.add("split.by", "name the column whose value selects the case");
            }
        }
        (None, Some(_), Some(_)) => {}
        (Some(_), _, _) => p.add("split", "use either `split` or `entity` + `fields`, not both"),
        (None, None, _) => p.add("entity", "name the canonical entity this source feeds (person, ed_visit, admission, enrolment, survey_response), or use `split`"),
        (None, Some(_), None) => p.add("fields", "map the entity's fields, e.g. `person_key: { from: HCN, scheme: ontario_hcn }`"),
    }
    for (case, output) in &outputs {
        let prefix = match case {
            Some(c) => format!("split.cases.{c}.fields"),
            None => "fields".to_string(),
        };
        check_output(spec, output, &prefix, p);
    }
}

fn check_output(spec: &SourceSpec, output: &Output, prefix: &str, p: &mut Problems<'_>) {
    let entity: Entity = output.entity;
    for def in entity.fields() {
        if def.required && !output.fields.contains_key(def.name) {
            p.add(
                prefix.to_string(),
                format!(
                    "required field `{}` of {entity} is not mapped: add `{}: {{ from: <column> }}`",
                    def.name, def.name
                ),
            );
        }
    }
    for (name, field) in &output.fields {
        let key = format!("{prefix}.{name}");
        let Some(def) = entity.field(name) else {
            let names: Vec<_> = entity.fields().iter().map(|f| f.name).collect();
            p.add(
                key,
                format!(
                    "{entity} has no field `{name}` (fields: {})",
                    names.join(", ")
                ),
            );
            continue;
        };
        check_field(spec, def.ty, def.allowed, field, &key, p);
    }
}

/// Checks one field mapping against the type of the entity field it fills. Problems are
/// added in a fixed order (source, columns, formats, numbers, identifiers, values) so that
/// the first one reported is stable.
fn check_field(
    spec: &SourceSpec,
    ty: FieldType,
    allowed: &[&str],
    f: &FieldSpec,
    key: &str,
    p: &mut Problems<'_>,
) {
    match (&f.from, &f.value) {
        (None, None) => p.add(key, "give `from: <column>` or `value: <constant>`"),
        (Some(_), Some(_)) => p.add(key, "give `from` or `value`, not both"),
        _ => {}
    }
    if let Some(cols) = &f.from {
        check_columns(spec, ty, f, cols, key, p);
    }
    check_formats(ty, f, key, p);
    check_number_options(ty, f, key, p);
    check_identifier_options(ty, f, key, p);
    check_values(allowed, f, key, p);
}

/// The `from` columns: virtual columns only with `unpivot`, several columns only for a
/// date-time read from a date column and a time column.
fn check_columns(
    spec: &SourceSpec,
    ty: FieldType,
    f: &FieldSpec,
    cols: &Columns,
    key: &str,
    p: &mut Problems<'_>,
) {
    let names = cols.names();
    if names.is_empty() {
        p.add(format!("{key}.from"), "name at least one column");
    }
    for c in &names {
        if c.starts_with('$') && !matches!(*c, "$name" | "$value") {
            p.add(
                format!("{key}.from"),
                format!("unknown virtual column {c}: only $name and $value (from `unpivot`) exist"),
            );
        }
        if c.starts_with('$') && spec.unpivot.is_none() {
            p.add(
                format!("{key}.from"),
                format!("{c} exists only when the source has `unpivot`"),
            );
        }
    }
    if let Columns::Many(v) = cols {
        if ty != FieldType::DateTime || v.len() != 2 {
            p.add(
                format!("{key}.from"),
                "several columns are only accepted for a date-time as [date column, time column]",
            );
        } else if f.time_format.is_none() {
            p.add(
                format!("{key}.time_format"),
                "a date-time from two columns needs `time_format`, e.g. \"%H%M\"",
            );
        }
    }
}

/// `format` (dates and date-times only) and `time_format`: valid chrono patterns.
fn check_formats(ty: FieldType, f: &FieldSpec, key: &str, p: &mut Problems<'_>) {
    if let Some(fmt) = &f.format {
        if !matches!(ty, FieldType::Date | FieldType::DateTime) {
            p.add(
                format!("{key}.format"),
                "`format` applies to dates and date-times only",
            );
        } else if chrono::format::StrftimeItems::new(fmt).parse().is_err() {
            p.add(
                format!("{key}.format"),
                format!("invalid date format \"{fmt}\" (use chrono syntax such as \"%d/%m/%Y\")"),
            );
        }
    }
    if let Some(fmt) = &f.time_format
        && chrono::format::StrftimeItems::new(fmt).parse().is_err()
    {
        p.add(
            format!("{key}.time_format"),
            format!("invalid time format \"{fmt}\" (e.g. \"%H%M\")"),
        );
    }
}

/// `decimal` (numbers with decimals only) and `range` (numbers only, lower bound first).
fn check_number_options(ty: FieldType, f: &FieldSpec, key: &str, p: &mut Problems<'_>) {
    if let Some(d) = &f.decimal {
        if ty != FieldType::Float {
            p.add(
                format!("{key}.decimal"),
                "`decimal` applies to numbers with decimals only",
            );
        } else if d != "," && d != "." {
            p.add(
                format!("{key}.decimal"),
                "use \",\" (decimal comma) or \".\"",
            );
        }
    }
    if let Some(r) = f.range {
        if !matches!(ty, FieldType::Int | FieldType::Float) {
            p.add(format!("{key}.range"), "`range` applies to numbers only");
        } else if r[0] > r[1] {
            p.add(
                format!("{key}.range"),
                "the lower bound is above the upper bound",
            );
        }
    }
}

/// `check` and `scheme`: person identifiers only, and not both.
fn check_identifier_options(ty: FieldType, f: &FieldSpec, key: &str, p: &mut Problems<'_>) {
    if let Some(check) = f.check
        && ty != FieldType::PersonKey
        && check != CheckDigit::None
    {
        p.add(
            format!("{key}.check"),
            "check digits apply to person identifiers only",
        );
    }
    if let Some(scheme) = &f.scheme {
        if ty != FieldType::PersonKey {
            p.add(
                format!("{key}.scheme"),
                "identifier schemes apply to person identifiers only",
            );
        } else if f.check.is_some_and(|c| c != CheckDigit::None) {
            // `check: luhn` beside `scheme: quebec_ramq` would refuse every value; beside
            // `ontario_hcn` it says nothing more. Either way one rule must win: the scheme.
            p.add(
                format!("{key}.check"),
                format!("`scheme: {scheme}` defines the check digit: remove `check`"),
            );
        }
    }
}

/// `allowed` values among the entity field's canonical values (`allowed`, when it has
/// some), and `map` targets among the values allowed here.
fn check_values(allowed: &[&str], f: &FieldSpec, key: &str, p: &mut Problems<'_>) {
    let allowed_here: Vec<String> = match &f.allowed {
        Some(list) => {
            for v in list {
                if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                    p.add(
                        format!("{key}.allowed"),
                        format!(
                            "\"{v}\" is not a canonical value (expected one of {})",
                            allowed.join(", ")
                        ),
                    );
                }
            }
            list.clone()
        }
        None => allowed.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(map) = &f.map {
        for (from, to) in map {
            if !allowed_here.is_empty() && !allowed_here.contains(to) {
                p.add(
                    format!("{key}.map.{from}"),
                    format!(
                        "maps to \"{to}\", which is not allowed (expected one of {})",
                        allowed_here.join(", ")
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(text.as_bytes()).expect("write");
        path
    }

    const GOOD_SOURCE: &str = r#"source: hospital_a_ed
partner: Hospital A
files: "hospital_a/*.csv"
format: { type: csv, delimiter: ",", encoding: utf-8 }
entity: ed_visit
fields:
  person_key: { from: HCN, check: luhn }
  arrival: { from: [ARRIVAL_DATE, ARRIVAL_TIME], format: "%Y-%m-%d", time_format: "%H%M" }
  facility: { from: FACILITY_ID }
  triage: { from: TRIAGE_LEVEL }
  disposition: { from: DISPOSITION_CODE, map: { "01": home, "06": admitted } }
"#;

    #[test]
    fn a_good_source_loads() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = write(dir.path(), "a.yaml", GOOD_SOURCE);
        let spec = load_source(&path).expect("valid");
        assert_eq!(spec.outputs().len(), 1);
    }

    #[test]
    fn problems_name_file_line_and_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let bad = GOOD_SOURCE
            .replace("\"%Y-%m-%d\"", "\"%Q-%m\"")
            .replace("home,", "maison,")
            .replace(
                "  facility: { from: FACILITY_ID }\n",
                "  colour: { from: X }\n",
            );
        let path = write(dir.path(), "bad.yaml", &bad);
        let err = load_source(&path).expect_err("invalid");
        let problems = err.problems();
        let text = err.to_string();
        assert!(
            problems
                .iter()
                .any(|p| p.key == "fields.arrival.format" && p.line == Some(8)),
            "{text}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.key == "fields.disposition.map.01" && p.line == Some(11)),
            "{text}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.key == "fields.colour" && p.line == Some(9)),
            "{text}"
        );
        assert!(
            problems.iter().any(|p| p.message.contains("`facility`")),
            "{text}"
        );
        assert!(text.contains("bad.yaml:8: fields.arrival.format"), "{text}");
    }

    #[test]
    fn yaml_type_errors_carry_line_and_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let bad = GOOD_SOURCE.replace("type: csv,", "type: xlsx,");
        let path = write(dir.path(), "t.yaml", &bad);
        let err = load_source(&path).expect_err("invalid");
        let p = &err.problems()[0];
        assert_eq!(p.line, Some(4), "{err}");
        assert!(p.key.starts_with("format"), "{err}");
        let unknown = GOOD_SOURCE.replace("partner:", "partnr:");
        let path = write(dir.path(), "u.yaml", &unknown);
        let err = load_source(&path).expect_err("invalid");
        assert_eq!(err.problems()[0].line, Some(2), "{err}");
        assert!(err.to_string().contains("partnr"), "{err}");
    }

    #[test]
    fn identifier_schemes_are_declared_on_person_keys() {
        use crate::identifier::{IdCheck, IdScheme};
        let dir = tempfile::tempdir().expect("tmp");
        let ontario = GOOD_SOURCE.replace("check: luhn", "scheme: ontario_hcn");
        let spec = load_source(&write(dir.path(), "o.yaml", &ontario)).expect("valid");
        assert_eq!(spec.identifier_schemes(), vec![IdScheme::OntarioHcn]);
        // The older `check: luhn` still loads, and declares no scheme.
        let legacy = load_source(&write(dir.path(), "l.yaml", GOOD_SOURCE)).expect("valid");
        assert!(legacy.identifier_schemes().is_empty());
        // Block style, custom scheme.
        let custom = GOOD_SOURCE.replace(
            "  person_key: { from: HCN, check: luhn }\n",
            "  person_key:\n    from: HCN\n    scheme:\n      name: Manitoba PHIN\n      pattern: \"[0-9]{9}\"\n      check: none\n",
        );
        let spec = load_source(&write(dir.path(), "c.yaml", &custom)).expect("valid");
        match spec.identifier_schemes().as_slice() {
            [IdScheme::Custom(c)] => {
                assert_eq!(c.name(), "Manitoba PHIN");
                assert_eq!(c.check(), IdCheck::None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn split_sources_list_each_scheme_once() {
        use crate::identifier::IdScheme;
        let dir = tempfile::tempdir().expect("tmp");
        let text = r#"source: hopital_b
partner: Hôpital B
files: "b/*.csv"
format: { type: csv }
split:
  by: TYPE
  cases:
    URG:
      entity: ed_visit
      fields:
        person_key: { from: NAM, scheme: quebec_ramq }
        arrival: { from: ARRIVEE }
        facility: { from: INST }
    HOSP:
      entity: admission
      fields:
        person_key: { from: NAM, scheme: quebec_ramq }
        admit_date: { from: ADMISSION }
        discharge_date: { from: SORTIE }
        facility: { from: INST }
    AUTRE:
      entity: admission
      fields:
        person_key: { from: NIR, scheme: france_nir }
        admit_date: { from: ADMISSION }
        discharge_date: { from: SORTIE }
        facility: { from: INST }
"#;
        let spec = load_source(&write(dir.path(), "s.yaml", text)).expect("valid");
        // Cases in key order (AUTRE, HOSP, URG), each scheme once.
        assert_eq!(
            spec.identifier_schemes(),
            vec![IdScheme::FranceNir, IdScheme::QuebecRamq]
        );
    }

    #[test]
    fn scheme_problems_name_their_key_and_line() {
        let dir = tempfile::tempdir().expect("tmp");
        // Not a person key.
        let bad = GOOD_SOURCE.replace(
            "facility: { from: FACILITY_ID }",
            "facility: { from: FACILITY_ID, scheme: ontario_hcn }",
        );
        let err = load_source(&write(dir.path(), "f.yaml", &bad)).expect_err("invalid");
        assert!(
            err.problems()
                .iter()
                .any(|p| p.key == "fields.facility.scheme" && p.line == Some(9)),
            "{err}"
        );
        // Both `check` and `scheme`.
        let both = GOOD_SOURCE.replace("check: luhn", "check: luhn, scheme: quebec_ramq");
        let err = load_source(&write(dir.path(), "b.yaml", &both)).expect_err("invalid");
        assert!(
            err.to_string()
                .contains("b.yaml:7: fields.person_key.check: `scheme: quebec_ramq`"),
            "{err}"
        );
        // An unknown name.
        let unknown = GOOD_SOURCE.replace("check: luhn", "scheme: ontario");
        let err = load_source(&write(dir.path(), "u.yaml", &unknown)).expect_err("invalid");
        let p = &err.problems()[0];
        assert_eq!(p.key, "fields.person_key.scheme", "{err}");
        assert_eq!(p.line, Some(7), "{err}");
        assert!(p.message.contains("unknown identifier scheme"), "{err}");
        // An invalid regular expression, reported at the pattern's own key and line.
        let regex = GOOD_SOURCE.replace(
            "  person_key: { from: HCN, check: luhn }\n",
            "  person_key:\n    from: HCN\n    scheme:\n      name: x\n      pattern: \"([0-9]\"\n      check: none\n",
        );
        let err = load_source(&write(dir.path(), "r.yaml", &regex)).expect_err("invalid");
        let p = &err.problems()[0];
        assert_eq!(p.key, "fields.person_key.scheme.pattern", "{err}");
        assert_eq!(p.line, Some(11), "{err}");
        assert!(p.message.contains("invalid regular expression"), "{err}");
        assert!(!p.message.contains('\n'), "{err}");
    }

    #[test]
    fn pipeline_collects_problems_from_all_files() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.yaml", GOOD_SOURCE);
        write(
            dir.path(),
            "b.yaml",
            &GOOD_SOURCE.replace("check: luhn", "check: verhoeff"),
        );
        let pipe = write(
            dir.path(),
            "p.yaml",
            "name: t\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml, b.yaml, a.yaml, missing.yaml]\nschedule: { cron: \"0 6 * * MON\", timezone: Mars/Olympus }\n",
        );
        let err = load_pipeline(&pipe).expect_err("invalid");
        let text = err.to_string();
        assert!(
            text.contains("p.yaml:4: key: the public demo key"),
            "{text}"
        );
        assert!(text.contains("b.yaml:7: fields.person_key.check"), "{text}");
        assert!(text.contains("is used by another source"), "{text}");
        assert!(text.contains("missing.yaml"), "{text}");
        assert!(text.contains("p.yaml:6: schedule.timezone"), "{text}");
    }

    #[test]
    fn a_bad_cron_does_not_hide_the_other_problems() {
        let dir = tempfile::tempdir().expect("tmp");
        write(
            dir.path(),
            "a.yaml",
            &GOOD_SOURCE.replace(
                "triage: { from: TRIAGE_LEVEL }",
                "triage: { from: TRIAGE_LEVEL, range: [5, 1] }",
            ),
        );
        let pipe = write(
            dir.path(),
            "p.yaml",
            "name: t\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml]\nschedule:\n  cron: \"0 6 * * MONDAY\"\noutputs:\n  reports:\n    - kind: feedback\n      period: 2025Q5\n      languages: [fr, english]\n      to: ./r\n",
        );
        let err = load_pipeline(&pipe).expect_err("invalid");
        let text = err.to_string();
        // The schedule, a report's period and language, the key and the source: one pass.
        assert!(
            text.contains("p.yaml:7: schedule.cron: invalid cron expression"),
            "{text}"
        );
        assert!(
            text.contains("p.yaml:11: outputs.reports[0].period"),
            "{text}"
        );
        assert!(
            text.contains("p.yaml:12: outputs.reports[0].languages[1]"),
            "{text}"
        );
        assert!(text.contains("\"english\": use fr or en"), "{text}");
        assert!(
            text.contains("p.yaml:4: key: the public demo key"),
            "{text}"
        );
        assert!(text.contains("a.yaml:10: fields.triage.range"), "{text}");
        assert_eq!(err.problems().len(), 5, "{text}");
    }

    #[test]
    fn a_schedule_that_never_fires_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.yaml", GOOD_SOURCE);
        let pipe = write(
            dir.path(),
            "p.yaml",
            "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml]\nschedule: { cron: \"0 6 30 2 *\" }\n",
        );
        let err = load_pipeline(&pipe).expect_err("30 February never comes");
        assert!(
            err.problems()
                .iter()
                .any(|p| p.key == "schedule.cron" && p.line == Some(7)),
            "{err}"
        );
    }

    #[test]
    fn typed_values_load() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.yaml", GOOD_SOURCE);
        let pipe = write(
            dir.path(),
            "p.yaml",
            "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml]\nindicators: { from: 2024-01 }\nschedule: { cron: \"0 6 * * MON\", timezone: America/Moncton }\noutputs:\n  reports:\n    - { kind: accountability, period: 2025-09, languages: [EN], to: ./r }\n    - { kind: feedback, to: ./r }\n",
        );
        let loaded = load_pipeline(&pipe).expect("valid");
        let spec = &loaded.spec;
        assert_eq!(
            spec.indicators.from.map(|m| m.to_string()).as_deref(),
            Some("2024-01")
        );
        assert_eq!(
            spec.schedule.as_ref().map(|s| s.timezone),
            Some(chrono_tz::America::Moncton)
        );
        let reports = &spec.outputs.reports;
        assert_eq!(reports[0].period.to_string(), "2025-09");
        assert_eq!(reports[0].languages, vec![crate::Lang::En]);
        assert_eq!(reports[1].period, super::super::ReportPeriod::LatestQuarter);
        assert_eq!(reports[1].languages, crate::Lang::ALL.to_vec());
    }

    #[test]
    fn maintenance_retention_defaults_to_30_days_and_needs_one() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.yaml", GOOD_SOURCE);
        let base =
            "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml]\n";
        let default = load_pipeline(&write(dir.path(), "d.yaml", base)).expect("valid");
        assert_eq!(default.spec.maintenance.retention_days, 30);
        let week = format!("{base}maintenance:\n  retention_days: 7\n");
        let loaded = load_pipeline(&write(dir.path(), "w.yaml", &week)).expect("valid");
        assert_eq!(loaded.spec.maintenance.retention_days, 7);
        let zero = format!("{base}maintenance:\n  retention_days: 0\n");
        let err = load_pipeline(&write(dir.path(), "z.yaml", &zero)).expect_err("0 days");
        assert!(
            err.to_string()
                .contains("z.yaml:8: maintenance.retention_days: must be at least 1"),
            "{err}"
        );
        let typo = format!("{base}maintenance: {{ retention: 7 }}\n");
        let err = load_pipeline(&write(dir.path(), "t.yaml", &typo)).expect_err("unknown key");
        assert!(
            err.problems()
                .iter()
                .any(|p| p.key.starts_with("maintenance") && p.line == Some(7)),
            "{err}"
        );
    }

    #[test]
    fn spc_min_points_defaults_to_12_and_needs_two() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "a.yaml", GOOD_SOURCE);
        let base =
            "name: t\ndemo: true\nlanding: ./l\nwarehouse: ./w\nkey: demo\nsources: [a.yaml]\n";
        let default = load_pipeline(&write(dir.path(), "d.yaml", base)).expect("valid");
        assert_eq!(default.spec.indicators.spc_min_points, 12);
        let six = format!("{base}indicators:\n  spc_min_points: 6\n");
        let loaded = load_pipeline(&write(dir.path(), "s.yaml", &six)).expect("valid");
        assert_eq!(loaded.spec.indicators.spc_min_points, 6);
        let one = format!("{base}indicators:\n  spc_min_points: 1\n");
        let err = load_pipeline(&write(dir.path(), "o.yaml", &one)).expect_err("1 point");
        assert!(
            err.to_string()
                .contains("o.yaml:8: indicators.spc_min_points: must be at least 2"),
            "{err}"
        );
    }
}
