//! The catalogue: one SQL file and one metadata file per indicator, loaded and checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use vigie_model::config::CatalogueSource;
use vigie_model::locate::locate;
use vigie_model::{ConfigError, ConfigProblem};

use crate::peer::FunnelKind;
use crate::roles::Role;
use crate::strata::{STRATA_FILE, Strata, load_strata};

/// Text in both official languages.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    /// French.
    pub fr: String,
    /// English.
    pub en: String,
}

/// Days in a person-month (an average month: 365.25 / 12).
pub const PERSON_MONTH_DAYS: f64 = 30.4375;

/// Unit of an indicator's value.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Percentage (0-100).
    Percent,
    /// Events per 1,000 population.
    #[serde(rename = "rate_per_1000")]
    RatePer1000,
    /// Events per 100,000 population (rarer events: avoidable hospitalisations).
    #[serde(rename = "rate_per_100000")]
    RatePer100000,
    /// Events per person-month of exposure: the query's denominator is in person-days
    /// (whole numbers, so that sums up the hierarchy are exact in any order), and a
    /// person-month is an average month, 30.4375 days.
    #[serde(rename = "rate_per_person_month")]
    RatePerPersonMonth,
    /// Days.
    Days,
    /// A ratio (1 = no difference) or a relative change.
    Ratio,
    /// A count.
    Count,
}

impl Unit {
    /// As written in the metadata files (`percent`, `rate_per_1000`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::RatePer1000 => "rate_per_1000",
            Unit::RatePer100000 => "rate_per_100000",
            Unit::RatePerPersonMonth => "rate_per_person_month",
            Unit::Days => "days",
            Unit::Ratio => "ratio",
            Unit::Count => "count",
        }
    }

    /// How a reader names it: (French, English).
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Unit::Percent => ("%", "%"),
            Unit::RatePer1000 => ("pour 1 000", "per 1,000"),
            Unit::RatePer100000 => ("pour 100 000", "per 100,000"),
            Unit::RatePerPersonMonth => ("par mois-personne", "per person-month"),
            Unit::Days => ("jours", "days"),
            Unit::Ratio => ("ratio", "ratio"),
            Unit::Count => ("nombre", "count"),
        }
    }

    /// The multiplier applied to numerator / denominator.
    pub fn multiplier(self) -> f64 {
        match self {
            Unit::Percent => 100.0,
            Unit::RatePer1000 => 1000.0,
            Unit::RatePer100000 => 100_000.0,
            Unit::RatePerPersonMonth => PERSON_MONTH_DAYS,
            Unit::Days | Unit::Ratio | Unit::Count => 1.0,
        }
    }
}

/// Which way is better.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher values are better.
    HigherIsBetter,
    /// Lower values are better.
    LowerIsBetter,
    /// Neither.
    Neither,
}

impl Direction {
    /// As written in the metadata files.
    pub fn code(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher_is_better",
            Direction::LowerIsBetter => "lower_is_better",
            Direction::Neither => "neither",
        }
    }
}

/// Reporting period.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PeriodType {
    /// Calendar month.
    Month,
    /// Calendar quarter.
    Quarter,
    /// Calendar year.
    Year,
    /// The whole data span (program evaluation).
    Span,
}

/// A stratification dimension: the id of a stratum declared in `strata.yaml` (see
/// [`crate::strata`]), the column name in query output and `stratum_dimension` in the results.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(transparent)]
pub struct StratumDim(pub String);

impl StratumDim {
    /// Survey item (experience indicators; the roles reading by item need it).
    pub const ITEM: &'static str = "item";
    /// Partner source (data-quality indicators).
    pub const SOURCE: &'static str = "source";

    /// Column name in the query output and stratum dimension name in the results.
    pub fn column(&self) -> &str {
        &self.0
    }
}

impl From<&str> for StratumDim {
    fn from(s: &str) -> Self {
        StratumDim(s.to_string())
    }
}

/// How values and intervals are computed from the cells.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Proportion with a Wilson score interval (numerator and denominator are counts).
    Wilson,
    /// Crude rate with an exact Poisson (< 10 events) or Byar interval.
    PoissonRate,
    /// Directly age-standardised rate (2011 Canadian standard) with a Dobson interval;
    /// the query adds a `std_age_band` column.
    DobsonDsr,
    /// Ratio of two sums without an interval (e.g. ALC days / inpatient days).
    RatioOfSums,
    /// Median of the `observation` column.
    Median,
    /// 90th percentile of the `observation` column.
    P90,
    /// Built in: program evaluation (naive and adjusted) — no SQL.
    ProgramEvaluation,
    /// Built in: high-user case finding — no SQL.
    CaseFinding,
    /// Disparity (not declarable): rate ratio against the reference category, log-normal
    /// interval, exact conditional below 10 events in either group.
    #[serde(skip)]
    RateRatio,
    /// Disparity (not declarable): rate difference, Wald interval.
    #[serde(skip)]
    RateDifference,
    /// Disparity (not declarable): risk ratio, Katz log interval.
    #[serde(skip)]
    RiskRatio,
    /// Disparity (not declarable): risk difference, Newcombe hybrid score interval.
    #[serde(skip)]
    RiskDifference,
    /// Disparity (not declarable): slope index of inequality across ordered categories.
    #[serde(skip)]
    SlopeIndex,
    /// Disparity (not declarable): relative index of inequality across ordered categories.
    #[serde(skip)]
    RelativeIndex,
}

impl Method {
    /// The method as an indicator's metadata spells it (`method: poisson_rate`).
    pub fn yaml_name(self) -> &'static str {
        match self {
            Method::Wilson => "wilson",
            Method::PoissonRate => "poisson_rate",
            Method::DobsonDsr => "dobson_dsr",
            Method::RatioOfSums => "ratio_of_sums",
            Method::Median => "median",
            Method::P90 => "p90",
            Method::ProgramEvaluation => "program_evaluation",
            Method::CaseFinding => "case_finding",
            // Derived equity measures: never written in metadata.
            Method::RateRatio => "rate_ratio",
            Method::RateDifference => "rate_difference",
            Method::RiskRatio => "risk_ratio",
            Method::RiskDifference => "risk_difference",
            Method::SlopeIndex => "slope_index",
            Method::RelativeIndex => "relative_index",
        }
    }

    /// Whether the query returns one row per observation (quantiles) rather than sums.
    pub fn is_quantile(self) -> bool {
        matches!(self, Method::Median | Method::P90)
    }

    /// Whether the indicator is computed by built-in code rather than SQL.
    pub fn is_builtin(self) -> bool {
        matches!(self, Method::ProgramEvaluation | Method::CaseFinding)
    }

    /// Name stored in `indicator_results.method`.
    pub fn label(self) -> &'static str {
        match self {
            Method::Wilson => "wilson",
            Method::PoissonRate => "poisson_exact_or_byar",
            Method::DobsonDsr => "dsr_canada2011_dobson",
            Method::RatioOfSums => "ratio_of_sums",
            Method::Median => "median_type7",
            Method::P90 => "p90_type7",
            Method::ProgramEvaluation => "program_evaluation_bootstrap",
            Method::CaseFinding => "case_finding_wilson",
            Method::RateRatio => "rate_ratio_lognormal_or_exact",
            Method::RateDifference => "rate_difference_wald",
            Method::RiskRatio => "risk_ratio_katz",
            Method::RiskDifference => "risk_difference_newcombe",
            Method::SlopeIndex => "sii_ridit_wls",
            Method::RelativeIndex => "rii_ridit_wls",
        }
    }
}

/// A target with an optional tolerance corridor.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The agreed target value.
    pub value: f64,
    /// Lower bound of the corridor (within corridor, not met).
    #[serde(default)]
    pub corridor_low: Option<f64>,
    /// Upper bound of the corridor.
    #[serde(default)]
    pub corridor_high: Option<f64>,
}

/// The metadata of an indicator (`queries/<id>.yaml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorMeta {
    /// Identifier (also the file stem and the metric label).
    pub id: String,
    /// Name.
    pub name: Bilingual,
    /// What it measures and why.
    pub description: Bilingual,
    /// Unit of the value.
    pub unit: Unit,
    /// Numerator definition.
    pub numerator: Bilingual,
    /// Denominator definition.
    pub denominator: Bilingual,
    /// Direction of improvement.
    pub direction: Direction,
    /// Reporting period.
    pub period: PeriodType,
    /// Stratification dimensions (besides the total), declared in `strata.yaml`.
    #[serde(default)]
    pub strata: Vec<StratumDim>,
    /// Strata (among `strata`) across which disparity measures are computed: rate or risk
    /// ratio and difference against the reference category, and the slope index of
    /// inequality for ordered strata. Rate (`poisson_rate`) and proportion (`wilson`)
    /// indicators only.
    #[serde(default)]
    pub equity: Vec<StratumDim>,
    /// Target and corridor.
    #[serde(default)]
    pub target: Option<Target>,
    /// Smallest denominator reported (e.g. 10 valid survey responses).
    #[serde(default)]
    pub min_denominator: Option<f64>,
    /// Computation and interval method.
    pub method: Method,
    /// Whether the denominator is a count of persons or events (suppressed when small).
    #[serde(default = "default_true")]
    pub denominator_is_count: bool,
    /// For `dobson_dsr`: the oldest age the indicator covers, the standard population then
    /// cut at it (e.g. 74 for "younger than 75"); the last age of a standard band.
    #[serde(default)]
    pub standard_age_max: Option<u32>,
    /// Whether the total over strata (`stratum_value = all`) is reported. Set it to false when
    /// the total would pool units a minimum denominator is about (e.g. survey answers across
    /// items, where the minimum is about respondents).
    #[serde(default = "default_true")]
    pub include_total: bool,
    /// For `method: program_evaluation`: which estimand and outcome.
    #[serde(default)]
    pub evaluation: Option<EvaluationSpec>,
    /// What the reports do with the indicator (see [`Role`]); reports never select by id.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// For a `care_pathway` indicator: the step of the pathway the reports show it under.
    #[serde(default)]
    pub pathway_step: Option<PathwayStep>,
}

/// The steps of the care pathway, in the order the reports show them.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PathwayStep {
    /// What follows a hospital discharge (`follow_up`).
    FollowUp,
    /// A referral accepted, seen and its report returned (`referral_loop`).
    ReferralLoop,
    /// The care-coordination program's contacts and linkage (`program`).
    Program,
}

/// Which figure of the program evaluation an indicator reports.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSpec {
    /// Naive before/after, or adjusted against the comparison group.
    pub estimand: Estimand,
    /// ED visits or admissions.
    pub outcome: EvaluationOutcome,
}

/// Program-evaluation estimands.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Estimand {
    /// (a) before/after around enrolment.
    Naive,
    /// (b) ratio of rate ratios against a re-weighted comparison group.
    Adjusted,
}

/// Program-evaluation outcomes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationOutcome {
    /// Emergency-department visits.
    EdVisits,
    /// Hospital admissions.
    Admissions,
}

fn default_true() -> bool {
    true
}

/// An indicator: metadata, SQL and where they came from.
#[derive(Debug, Clone)]
pub struct IndicatorDef {
    /// Metadata.
    pub meta: IndicatorMeta,
    /// SQL (empty for built-in methods).
    pub sql: String,
    /// The metadata file.
    pub meta_path: PathBuf,
    /// The SQL file, if any.
    pub sql_path: Option<PathBuf>,
}

/// What is wrong in one indicator's metadata on its own: (key, message).
fn field_problems(meta: &IndicatorMeta, stem: &str) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if meta.id.contains(crate::disparity::SEPARATOR) {
        problems.push((
            "id",
            format!(
                "an id must not contain `{sep}`: it joins an indicator's id to the equity measures derived from it (`<id>{sep}sii`...) / un identifiant ne doit pas contenir `{sep}`, qui joint l'identifiant d'un indicateur aux mesures d'équité qui en dérivent",
                sep = crate::disparity::SEPARATOR
            ),
        ));
    }
    if meta.id != stem {
        problems.push((
            "id",
            format!("the id \"{}\" must equal the file name \"{stem}\"", meta.id),
        ));
    }
    for (key, text) in [
        ("name", &meta.name),
        ("description", &meta.description),
        ("numerator", &meta.numerator),
        ("denominator", &meta.denominator),
    ] {
        if text.fr.trim().is_empty() || text.en.trim().is_empty() {
            problems.push((key, "give both `fr` and `en` text".into()));
        }
    }
    if let Some(t) = meta.target
        && let (Some(lo), Some(hi)) = (t.corridor_low, t.corridor_high)
        && lo > hi
    {
        problems.push(("target", "corridor_low is above corridor_high".into()));
    }
    if let Some(max) = meta.standard_age_max {
        if meta.method != Method::DobsonDsr {
            problems.push((
                "standard_age_max",
                "goes with `method: dobson_dsr` only".into(),
            ));
        } else if !vigie_stats::CANADA_2011_STANDARD
            .iter()
            .any(|b| b.age_to == Some(max))
        {
            problems.push((
                "standard_age_max",
                format!("{max} is not the last age of a standard band: use 4, 9, 14, ..., 89 (e.g. 74 for \"younger than 75\")"),
            ));
        }
    }
    if (meta.method == Method::ProgramEvaluation) != meta.evaluation.is_some() {
        problems.push(("evaluation", "`evaluation: { estimand: naive|adjusted, outcome: ed_visits|admissions }` goes with `method: program_evaluation`, and only with it".into()));
    }
    problems
}

/// What is wrong with the strata an indicator lists: each must be declared in `strata.yaml`;
/// each equity stratum must be among `strata`, have categories and a reference, and the
/// indicator must be a rate or a proportion.
fn strata_problems(meta: &IndicatorMeta, strata: &Strata) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    for dim in &meta.strata {
        if strata.get(dim.column()).is_none() {
            problems.push((
                "strata",
                format!(
                    "unknown stratum \"{}\": declare it in {} (declared: {})",
                    dim.column(),
                    strata.path.display(),
                    strata.ids()
                ),
            ));
        }
    }
    for dim in &meta.equity {
        let id = dim.column();
        if !meta.strata.contains(dim) {
            problems.push((
                "equity",
                format!("the equity stratum \"{id}\" must also be listed in `strata`"),
            ));
        }
        match strata.get(id) {
            None => problems.push((
                "equity",
                format!(
                    "unknown stratum \"{id}\": declare it in {} (declared: {})",
                    strata.path.display(),
                    strata.ids()
                ),
            )),
            Some(d) if d.reference().is_none() => problems.push((
                "equity",
                format!(
                    "the stratum \"{id}\" has no `reference` category in {}: disparities compare each category with it",
                    strata.path.display()
                ),
            )),
            Some(_) => {}
        }
    }
    if !meta.equity.is_empty() && !matches!(meta.method, Method::PoissonRate | Method::Wilson) {
        problems.push((
            "equity",
            format!(
                "disparity measures are computed for rates (`method: poisson_rate`) and proportions (`method: wilson`), not `{}`",
                meta.method.label()
            ),
        ));
    }
    problems
}

/// What the catalogue allows once, and who took it: ids, program-evaluation figures and the
/// roles a report shows one indicator for.
#[derive(Default)]
struct Taken {
    ids: BTreeSet<String>,
    evaluations: BTreeMap<(EvaluationOutcome, Estimand), String>,
    roles: BTreeMap<Role, (String, PathBuf)>,
}

impl Taken {
    /// Claims what `meta` (from `path`) declares; returns what was already taken.
    fn claim(&mut self, meta: &IndicatorMeta, path: &Path) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !self.ids.insert(meta.id.clone()) {
            problems.push((
                "id",
                format!("indicator id \"{}\" is defined twice", meta.id),
            ));
        }
        if let Some(e) = meta.evaluation
            && let Some(other) = self
                .evaluations
                .insert((e.outcome, e.estimand), meta.id.clone())
        {
            problems.push((
                "evaluation",
                format!(
                    "{other} already reports this estimand of this outcome: the reports show one indicator for each"
                ),
            ));
        }
        problems.extend(
            role_problems(meta, path, &mut self.roles)
                .into_iter()
                .map(|m| ("roles", m)),
        );
        if meta.pathway_step.is_some() && !meta.has_role(Role::CarePathway) {
            problems.push((
                "pathway_step",
                "a pathway step is read only with the role `care_pathway`: add it to `roles`, or remove `pathway_step`".to_string(),
            ));
        }
        problems
    }
}

/// What is wrong with the roles `meta` declares; `taken` records who holds each unique role.
fn role_problems(
    meta: &IndicatorMeta,
    path: &Path,
    taken: &mut BTreeMap<Role, (String, PathBuf)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, role) in meta.roles.iter().enumerate() {
        if meta.roles[..i].contains(role) {
            problems.push(format!("the role `{role}` is listed twice"));
            continue;
        }
        if role.is_unique() {
            if let Some((other, file)) = taken.get(role) {
                problems.push(format!(
                    "the role `{role}` is already declared by {other} ({}): a report shows one indicator for it",
                    file.display()
                ));
            } else {
                taken.insert(*role, (meta.id.clone(), path.to_path_buf()));
            }
        }
        if let Some(dim) = role.required_stratum()
            && !meta.strata.iter().any(|s| s.column() == dim)
        {
            problems.push(format!(
                "the role `{role}` reads the indicator by {dim}: add `{dim}` to `strata`"
            ));
        }
        if *role == Role::PeerHeadline && (!meta.include_total || FunnelKind::of(meta).is_none()) {
            problems.push(format!(
                "the role `{role}` needs a total (`include_total: true`) and a funnel plot (`method: wilson` with `unit: percent`, or `method: poisson_rate` with `unit: rate_per_1000`)"
            ));
        }
    }
    problems
}

/// Loads a catalogue: the built-in one, a directory (`&Path`), or a pipeline's
/// [`CatalogueSource`] (the built-in catalogue extended by its directory); all problems at once.
pub fn load_catalogue<S: CatalogueOrigin + ?Sized>(
    source: &S,
) -> Result<Vec<IndicatorDef>, ConfigError> {
    let (defs, problems) = read_catalogue(source)?;
    if problems.is_empty() {
        Ok(defs)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// What a catalogue is read from: a directory alone (`Path`, `PathBuf`), or a pipeline's
/// [`CatalogueSource`] (the built-in catalogue, extended by its directory).
pub trait CatalogueOrigin {
    /// The catalogue this names.
    fn catalogue_source(&self) -> CatalogueSource;
}

impl CatalogueOrigin for Path {
    fn catalogue_source(&self) -> CatalogueSource {
        CatalogueSource::directory(self)
    }
}

impl CatalogueOrigin for PathBuf {
    fn catalogue_source(&self) -> CatalogueSource {
        CatalogueSource::directory(self.as_path())
    }
}

impl CatalogueOrigin for CatalogueSource {
    fn catalogue_source(&self) -> CatalogueSource {
        self.clone()
    }
}

/// The built-in catalogue (the repository's `queries/`, embedded at build time).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_catalogue.rs"));
}

/// One indicator's files as read: the metadata (path and text) and the SQL, if there is one.
struct IndicatorFiles {
    stem: String,
    meta_path: PathBuf,
    text: String,
    sql: Option<(PathBuf, String)>,
}

/// The built-in indicators' files; their paths name them as built in.
fn embedded_files() -> Vec<IndicatorFiles> {
    embedded::EMBEDDED
        .iter()
        .map(|(stem, meta, sql)| {
            let path = PathBuf::from(format!("(built-in)/queries/{stem}.yaml"));
            IndicatorFiles {
                stem: stem.to_string(),
                sql: sql.map(|q| (path.with_extension("sql"), q.to_string())),
                meta_path: path,
                text: meta.to_string(),
            }
        })
        .collect()
}

/// The files of `dir` with one of `extensions`, sorted by name.
fn files_ending(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
        path: dir.to_path_buf(),
        error: source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every `*.yaml` of a catalogue directory with its `*.sql`, sorted by name.
fn directory_files(dir: &Path) -> Result<Vec<IndicatorFiles>, ConfigError> {
    let mut metas = files_ending(dir, &["yaml", "yml"])?;
    // The strata declarations are not an indicator (see `strata::load_strata`).
    metas.retain(|p| p.file_name().is_none_or(|n| n != STRATA_FILE));
    let mut files = Vec::new();
    for path in metas {
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            error: source,
        })?;
        let sql_path = path.with_extension("sql");
        let sql = std::fs::read_to_string(&sql_path)
            .ok()
            .map(|q| (sql_path, q));
        files.push(IndicatorFiles {
            stem: path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string(),
            meta_path: path,
            text,
            sql,
        });
    }
    Ok(files)
}

/// The `*.sql` files of a catalogue directory with no `*.yaml` beside them: an analyst's
/// new or edited indicator that would otherwise be left out without a word (and, for the id
/// of a built-in one, the built-in computed instead).
fn sql_without_metadata(dir: &Path) -> Result<Vec<ConfigProblem>, ConfigError> {
    let mut orphans = files_ending(dir, &["sql"])?;
    orphans.retain(|p| !p.with_extension("yaml").exists() && !p.with_extension("yml").exists());
    Ok(orphans
        .into_iter()
        .map(|path| ConfigProblem {
            message: format!(
                "an indicator is its SQL and its metadata: {} is missing (see queries/README.md), or remove this file / un indicateur, c'est son SQL et ses métadonnées : {} manque (voir queries/README.md), ou retirez ce fichier",
                path.with_extension("yaml").display(),
                path.with_extension("yaml").display()
            ),
            file: path,
            line: None,
            key: String::new(),
        })
        .collect())
}

/// The files a source names: the built-in ones, except those a directory file of the same
/// name replaces, then the directory's.
fn source_files(source: &CatalogueSource) -> Result<Vec<IndicatorFiles>, ConfigError> {
    let from_directory = match &source.directory {
        Some(dir) => directory_files(dir)?,
        None => vec![],
    };
    let mut files: Vec<IndicatorFiles> = if source.embedded {
        embedded_files()
            .into_iter()
            .filter(|e| !from_directory.iter().any(|d| d.stem == e.stem))
            .collect()
    } else {
        vec![]
    };
    files.extend(from_directory);
    files.sort_by(|a, b| a.stem.cmp(&b.stem));
    Ok(files)
}

/// The indicators whose files are sound, and the problems of the others (so that
/// `vigie validate` can still plan the sound queries in the same pass).
pub fn read_catalogue<S: CatalogueOrigin + ?Sized>(
    source: &S,
) -> Result<(Vec<IndicatorDef>, Vec<ConfigProblem>), ConfigError> {
    let source = source.catalogue_source();
    let strata = load_strata(&source)?;
    let mut problems = match &source.directory {
        Some(dir) => sql_without_metadata(dir)?,
        None => Vec::new(),
    };
    let mut defs = Vec::new();
    let mut taken = Taken::default();
    for files in source_files(&source)? {
        let IndicatorFiles {
            stem,
            meta_path: path,
            text,
            sql,
        } = files;
        let mut add = |key: &str, message: String| {
            problems.push(ConfigProblem {
                file: path.clone(),
                line: locate(&text, key),
                key: key.to_string(),
                message,
            })
        };
        if let Some(problem) = vigie_model::config::duplicate_key(&path, &text) {
            problems.push(problem);
            continue;
        }
        let de = serde_yaml::Deserializer::from_str(&text);
        let meta: IndicatorMeta = match serde_path_to_error::deserialize(de) {
            Ok(m) => m,
            Err(e) => {
                let key = e.path().to_string();
                let inner = e.into_inner();
                let message = inner.to_string();
                let message = message.split(" at line ").next().unwrap_or("").to_string();
                let message = message
                    .strip_prefix(&format!("{key}: "))
                    .map(str::to_string)
                    .unwrap_or(message);
                let line = locate(&text, &key).or_else(|| inner.location().map(|l| l.line()));
                problems.push(ConfigProblem {
                    file: path.clone(),
                    line,
                    key,
                    message,
                });
                continue;
            }
        };
        for (key, message) in field_problems(&meta, &stem)
            .into_iter()
            .chain(strata_problems(&meta, &strata))
            .chain(taken.claim(&meta, &path))
        {
            add(key, message);
        }
        let (sql, sql_path) = if meta.method.is_builtin() {
            (String::new(), None)
        } else {
            match sql {
                Some((sql_path, sql)) => {
                    if let Err(refusal) =
                        crate::sql_guard::check_query_only(&sql, crate::sql_guard::Explain::Refused)
                    {
                        problems.push(ConfigProblem {
                            file: sql_path,
                            line: None,
                            key: String::new(),
                            message: match refusal {
                                crate::sql_guard::Refusal::DoesNotParse(e) => format!(
                                    "does not parse / ne s'analyse pas : {e}"
                                ),
                                crate::sql_guard::Refusal::NotAQuery(what) => format!(
                                    "an indicator's SQL is one query (SELECT or WITH) that only reads; {what} is refused / le SQL d'un indicateur est une seule requête (SELECT ou WITH) qui ne fait que lire ; {what} est refusé"
                                ),
                            },
                        });
                        continue;
                    }
                    (sql, Some(sql_path))
                }
                None => {
                    add(
                        "method",
                        format!(
                            "{} has no SQL: create {}",
                            meta.id,
                            path.with_extension("sql").display()
                        ),
                    );
                    continue;
                }
            }
        };
        defs.push(IndicatorDef {
            meta,
            sql,
            meta_path: path.clone(),
            sql_path,
        });
    }
    Ok((defs, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_queries() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries")
    }

    #[test]
    fn the_built_in_catalogue_is_the_repository_catalogue() {
        let built_in = load_catalogue(&CatalogueSource::embedded()).expect("built in");
        let repo = load_catalogue(repository_queries().as_path()).expect("repository");
        let ids = |c: &[IndicatorDef]| c.iter().map(|d| d.meta.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&built_in), ids(&repo));
        assert!(built_in.len() >= 20, "{}", built_in.len());
        for (b, r) in built_in.iter().zip(&repo) {
            assert_eq!(b.sql, r.sql, "{}", b.meta.id);
            assert!(b.meta_path.starts_with("(built-in)"));
        }
    }

    #[test]
    fn a_directory_extends_the_built_in_catalogue_and_replaces_same_ids() {
        let dir = tempfile::tempdir().expect("tmp");
        let repo = repository_queries();
        let meta = std::fs::read_to_string(repo.join("alc_days_pct.yaml")).expect("read");
        let sql = std::fs::read_to_string(repo.join("alc_days_pct.sql")).expect("read");
        // The same id, renamed: replaces the built-in one.
        std::fs::write(
            dir.path().join("alc_days_pct.yaml"),
            meta.replace(
                "en: Alternate level of care (ALC) days",
                "en: ALC days (local)",
            ),
        )
        .expect("write");
        std::fs::write(dir.path().join("alc_days_pct.sql"), &sql).expect("write");
        // A new id: added.
        // alc_days_pct declares no role, so a copy under a new id claims nothing twice.
        let local = meta.replace("id: alc_days_pct", "id: local_alc_pct");
        std::fs::write(dir.path().join("local_alc_pct.yaml"), local).expect("write");
        std::fs::write(dir.path().join("local_alc_pct.sql"), &sql).expect("write");
        let source = CatalogueSource {
            embedded: true,
            directory: Some(dir.path().to_path_buf()),
        };
        let merged = load_catalogue(&source).expect("merged");
        let built_in = load_catalogue(&CatalogueSource::embedded()).expect("built in");
        assert_eq!(merged.len(), built_in.len() + 1);
        let alc = merged
            .iter()
            .find(|d| d.meta.id == "alc_days_pct")
            .expect("alc");
        assert_eq!(alc.meta.name.en, "ALC days (local)");
        assert!(alc.meta_path.starts_with(dir.path()));
        assert!(merged.iter().any(|d| d.meta.id == "local_alc_pct"));
        // The directory alone.
        let alone = load_catalogue(dir.path()).expect("directory");
        assert_eq!(alone.len(), 2);
    }

    /// What an analyst's directory may get wrong without a word before: SQL that writes,
    /// SQL without metadata, a key written twice, an id spelled like a derived measure's.
    #[test]
    fn a_directory_s_writing_sql_orphans_duplicates_and_reserved_ids_are_refused() {
        let repo = repository_queries();
        let meta = std::fs::read_to_string(repo.join("alc_days_pct.yaml")).expect("read");
        let sql = std::fs::read_to_string(repo.join("alc_days_pct.sql")).expect("read");
        let problems_of = |files: &[(&str, String)]| -> Vec<String> {
            let dir = tempfile::tempdir().expect("tmp");
            for (name, text) in files {
                std::fs::write(dir.path().join(name), text).expect("write");
            }
            match load_catalogue(dir.path()) {
                Ok(_) => vec![],
                Err(e) => e.problems().iter().map(|p| p.to_string()).collect(),
            }
        };
        assert!(
            problems_of(&[
                ("alc_days_pct.yaml", meta.clone()),
                ("alc_days_pct.sql", sql.clone())
            ])
            .is_empty()
        );
        let copy = "copy (select * from ed_visit) to '/tmp/leak.csv' stored as csv".to_string();
        let found = problems_of(&[
            ("alc_days_pct.yaml", meta.clone()),
            ("alc_days_pct.sql", copy),
        ]);
        assert!(
            found.len() == 1
                && found[0].contains("alc_days_pct.sql")
                && found[0].contains("COPY is refused"),
            "{found:?}"
        );
        let found = problems_of(&[
            ("alc_days_pct.yaml", meta.clone()),
            ("alc_days_pct.sql", sql.clone()),
            ("my_new_ind.sql", sql.clone()),
        ]);
        assert!(
            found.len() == 1
                && found[0].contains("my_new_ind.sql")
                && found[0].contains("my_new_ind.yaml is missing"),
            "{found:?}"
        );
        let twice = format!("{meta}\nid: alc_days_pct\n");
        let found = problems_of(&[
            ("alc_days_pct.yaml", twice),
            ("alc_days_pct.sql", sql.clone()),
        ]);
        assert!(
            found.len() == 1 && found[0].contains("`id` is written twice"),
            "{found:?}"
        );
        let reserved = meta.replace("id: alc_days_pct", "id: alc_days_pct__sii");
        let found = problems_of(&[
            ("alc_days_pct__sii.yaml", reserved),
            ("alc_days_pct__sii.sql", sql),
        ]);
        assert!(
            found.len() == 1 && found[0].contains("must not contain `__`"),
            "{found:?}"
        );
    }

    #[test]
    fn strata_and_equity_are_checked_against_the_declarations() {
        let dir = tempfile::tempdir().expect("tmp");
        let repo = repository_queries();
        let meta = std::fs::read_to_string(repo.join("alc_days_pct.yaml")).expect("read");
        let sql = std::fs::read_to_string(repo.join("alc_days_pct.sql")).expect("read");
        assert!(!meta.contains("\nstrata:"), "alc_days_pct lists no strata");
        // An undeclared stratum, and equity on a ratio of sums by a stratum not listed.
        let bad = format!("{meta}\nstrata: [sex, ethnicity]\nequity: [rurality]\n");
        std::fs::write(dir.path().join("alc_days_pct.yaml"), bad).expect("write");
        std::fs::write(dir.path().join("alc_days_pct.sql"), &sql).expect("write");
        let err = load_catalogue(dir.path()).expect_err("undeclared stratum");
        let text: Vec<String> = err.problems().iter().map(|p| p.to_string()).collect();
        let file = dir.path().join("alc_days_pct.yaml");
        let expected_start = format!("{}:", file.display());
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text.iter().all(|t| t.starts_with(&expected_start)),
            "{text:?}"
        );
        assert!(
            text[0].contains(": strata: unknown stratum \"ethnicity\""),
            "{text:?}"
        );
        assert!(
            text[1].contains(": equity: the equity stratum \"rurality\" must also be listed"),
            "{text:?}"
        );
        assert!(
            text[2].contains(": equity: disparity measures are computed for rates"),
            "{text:?}"
        );
        // A local strata.yaml replaces the built-in declarations (and is not an indicator).
        std::fs::write(
            dir.path().join(crate::strata::STRATA_FILE),
            "strata:\n  - id: ethnicity\n    name: { fr: E, en: E }\n    source: query\n  - id: sex\n    name: { fr: S, en: S }\n    source: { person: sex }\n",
        )
        .expect("write");
        let fixed = format!("{meta}\nstrata: [sex, ethnicity]\n");
        std::fs::write(dir.path().join("alc_days_pct.yaml"), fixed).expect("write");
        let ok = load_catalogue(dir.path()).expect("declared locally");
        assert_eq!(ok.len(), 1);
    }
}

#[cfg(test)]
mod method_name_tests {
    use super::Method;

    /// Each method the metadata can hold reads back from its own name.
    #[test]
    fn a_method_s_yaml_name_is_what_the_metadata_spells() {
        for method in [
            Method::Wilson,
            Method::PoissonRate,
            Method::DobsonDsr,
            Method::RatioOfSums,
            Method::Median,
            Method::P90,
            Method::ProgramEvaluation,
            Method::CaseFinding,
        ] {
            let parsed: Method = serde_yaml::from_str(method.yaml_name()).expect("a name");
            assert_eq!(parsed, method);
        }
    }
}
