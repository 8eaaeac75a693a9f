//! Built-in, person-level indicators: high-user case finding and the program evaluation
//! (naive before/after beside the estimate adjusted against a comparison group). The data
//! come from the warehouse through DataFusion; the statistics from `vigie-evaluation`.
//! The care-coordinator worklist goes to the restricted `worklist` table only.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Date32Array, Int32Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, Int32Type, Schema};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use rayon::slice::ParallelSliceMut;
use tracing::{debug, warn};
use vigie_evaluation::{
    Enrolment, EvaluationConfig, EventSeries, Events, Outcome, Population, Sex, TeamScope, evaluate,
};
use vigie_warehouse::{Replace, Warehouse};

use vigie_disclosure::ALL;

use crate::aggregate::CellValue;
use crate::catalogue::{Estimand, EvaluationOutcome, IndicatorMeta, Method};
use crate::engine::{ComputeOptions, run_sql};
use crate::error::IndicatorError;
use crate::persons::{
    KeyPrefix, NumberSet, PersonIndex, Texts, for_each_batch, key_prefix, keys_of,
};
use crate::results::WORKLIST_TABLE;

/// Results of the built-in computations, ready to be turned into cells.
pub struct BuiltinOutput {
    evaluation: vigie_evaluation::Evaluation,
    span_start: NaiveDate,
    /// Rows written to the worklist.
    pub worklist_rows: usize,
}

fn col(batch: &RecordBatch, i: usize, ty: &DataType) -> Result<ArrayRef, IndicatorError> {
    Ok(cast(batch.column(i), ty)?)
}

/// Column `i` as text (whatever string type the scan returned).
fn text(batch: &RecordBatch, i: usize) -> Result<StringArray, IndicatorError> {
    Ok(col(batch, i, &DataType::Utf8)?.as_string::<i32>().clone())
}

/// Column `i` as dates.
fn dates(batch: &RecordBatch, i: usize) -> Result<Date32Array, IndicatorError> {
    Ok(col(batch, i, &DataType::Date32)?
        .as_primitive::<Date32Type>()
        .clone())
}

/// Column `i` as 32-bit integers.
fn ints(batch: &RecordBatch, i: usize) -> Result<Int32Array, IndicatorError> {
    Ok(col(batch, i, &DataType::Int32)?
        .as_primitive::<Int32Type>()
        .clone())
}

fn day_to_date(d: i32) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(d as i64)
}

fn scope_team(scope: &TeamScope) -> Option<String> {
    match scope {
        TeamScope::All => None,
        TeamScope::Team(t) => Some(t.clone()),
        TeamScope::Unattributed => Some("unattributed".to_string()),
    }
}

/// Loads the person-level data and runs case finding and the program evaluation.
pub async fn run(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    data_from: NaiveDate,
    data_to: NaiveDate,
    options: &ComputeOptions,
    run_id: &str,
) -> Result<BuiltinOutput, IndicatorError> {
    let phase = Phase::start();
    // Events and enrolments first: they say which registry persons the evaluation needs.
    let ed = EventRows::read(
        ctx,
        "SELECT person_number, CAST(arrival AS DATE) FROM ed_visit",
    )
    .await?;
    let adm = EventRows::read(ctx, "SELECT person_number, admit_date FROM admission").await?;
    let enrolment_rows = read_enrolments(ctx).await?;
    let mut named = NumberSet::default();
    for n in ed.numbers.iter().chain(&adm.numbers) {
        named.insert(*n);
    }
    for r in &enrolment_rows {
        named.insert(r.number);
    }
    let phase = phase.done("the events and enrolments read");
    let (population, index) = load_population(ctx, &named).await?;
    drop(named);
    let phase = phase.done("the registry read and ordered by key");
    let n = population.len();
    let events = Events::new(ed.into_series(&index, n)?, adm.into_series(&index, n)?)?;
    let enrolments = enrolment_rows
        .into_iter()
        .filter_map(|r| {
            index.get(r.number).map(|person| Enrolment {
                person,
                program: r.program,
                team: r.team,
                enrolment_date: day_to_date(r.day),
            })
        })
        .collect::<Vec<_>>();
    let phase = phase.done("the events and enrolments numbered");
    let config = evaluation_config(data_from, data_to, options);
    let evaluation = tokio_free_evaluate(&population, &events, &enrolments, &config)?;
    let phase = phase.done("case finding and the evaluation computed");
    let worklist_rows = write_worklist(ctx, warehouse, &evaluation, &index, run_id).await?;
    phase.done("the worklist written");
    Ok(BuiltinOutput {
        evaluation,
        span_start: data_from,
        worklist_rows,
    })
}

/// Timing of the evaluation's phases, logged at debug level (where a province's half
/// minute goes).
struct Phase(std::time::Instant);

impl Phase {
    fn start() -> Self {
        Phase(std::time::Instant::now())
    }

    /// Logs the phase just ended; the next starts now.
    fn done(self, what: &str) -> Self {
        debug!(
            seconds = self.0.elapsed().as_secs_f64(),
            "program evaluation: {what}"
        );
        Phase::start()
    }
}

/// The evaluation's settings: the pipeline's rules over the data span, its bootstrap.
fn evaluation_config(
    data_from: NaiveDate,
    data_to: NaiveDate,
    options: &ComputeOptions,
) -> EvaluationConfig {
    let rules = &options.evaluation;
    let mut config = EvaluationConfig::new(data_from, data_to);
    config.eligibility = vigie_evaluation::EligibilityRule {
        min_ed: rules.eligibility.min_ed_visits,
        min_admissions: rules.eligibility.min_admissions,
        window_days: rules.eligibility.window_days,
    };
    config.enrolled_lookback_days = rules.enrolled_lookback_days;
    config.enrol_within_days = rules.enrol_within_days;
    config.comparison_not_enrolled_days = rules.comparison_not_enrolled_days;
    config.baseline_days = rules.baseline_days;
    config.follow_up_days = rules.follow_up_days;
    config.min_follow_up_days = rules.min_follow_up_days;
    config.bootstrap.replicates = options.replicates.max(500);
    config.bootstrap.seed = options.seed;
    config
}

/// The registry's persons in `named` as the evaluation's population, with the index from
/// warehouse number to evaluation number. Persons are numbered in key order, so that dense
/// numbers, and with them the seeded bootstrap, are reproducible; on a duplicated key the
/// first row in that order counts.
async fn load_population(
    ctx: &SessionContext,
    named: &NumberSet,
) -> Result<(Population, PersonIndex), IndicatorError> {
    let mut teams: Vec<String> = Vec::new();
    let mut rows = read_person_rows(ctx, named, &mut teams).await?;
    rows.par_sort_unstable_by(|a, b| {
        // Keys are unique but for registry errors: the rest only breaks those ties.
        a.key.cmp(&b.key).then_with(|| {
            let team = |r: &PersonRow| teams.get(usize::from(r.team)).map(String::as_str);
            (a.birth_year, a.sex, team(a), a.death).cmp(&(b.birth_year, b.sex, team(b), b.death))
        })
    });
    rows.dedup_by(|later, first| later.key == first.key);
    let mut population = Population::new();
    for r in &rows {
        let sex = match r.sex {
            0 => Sex::F,
            1 => Sex::M,
            _ => Sex::X,
        };
        let team = teams.get(usize::from(r.team)).map(String::as_str);
        let death = (r.death != NO_DEATH).then(|| day_to_date(r.death));
        population.push(r.birth_year, sex, team, death);
    }
    let index = PersonIndex::from_sorted(rows.iter().map(|r| r.number).collect());
    Ok((population, index))
}

/// The person table's rows of the persons in `named`, teams interned in `teams`.
async fn read_person_rows(
    ctx: &SessionContext,
    named: &NumberSet,
    teams: &mut Vec<String>,
) -> Result<Vec<PersonRow>, IndicatorError> {
    // Sized once: growing a vector of millions of rows doubles it, copying, at its peak.
    let mut rows: Vec<PersonRow> = Vec::with_capacity(named.len());
    for_each_batch(
        ctx,
        "program_evaluation",
        "SELECT person_key, person_number, birth_year, sex, team, death_date FROM person__keyed",
        |b| {
            let key = Texts::of(b, 0)?;
            let number = ints(b, 1)?;
            let by = ints(b, 2)?;
            let sex = Texts::of(b, 3)?;
            let team = Texts::of(b, 4)?;
            let death = dates(b, 5)?;
            for i in (0..b.num_rows()).filter(|i| !key.is_null(*i)) {
                let prefix = key_prefix(key.value(i)).ok_or_else(|| {
                    IndicatorError::Internal(
                        "the person table holds a person_key that is not a 64-hex-digit pseudonym: \
                         was it written by vigie ingest?"
                            .into(),
                    )
                })?;
                let number = u32::try_from(number.value(i))
                    .ok()
                    .filter(|_| !number.is_null(i))
                    .ok_or_else(|| {
                        IndicatorError::Internal(
                            "the person table holds a row without a valid person_number: \
                             was it written by vigie ingest?"
                                .into(),
                        )
                    })?;
                if !named.contains(number) {
                    continue;
                }
                let team = if team.is_null(i) {
                    NO_TEAM
                } else {
                    intern(teams, team.value(i))?
                };
                rows.push(PersonRow {
                    key: prefix,
                    number,
                    birth_year: by.value(i),
                    death: if death.is_null(i) {
                        NO_DEATH
                    } else {
                        death.value(i)
                    },
                    team,
                    sex: match sex.value(i) {
                        "F" => 0,
                        "M" => 1,
                        _ => 2,
                    },
                });
            }
            Ok(())
        },
    )
    .await?;
    Ok(rows)
}

/// One enrolment as read, its person by warehouse number.
struct EnrolmentRow {
    number: u32,
    program: String,
    team: String,
    day: i32,
}

/// Program enrolments, in a reproducible order.
async fn read_enrolments(ctx: &SessionContext) -> Result<Vec<EnrolmentRow>, IndicatorError> {
    let mut enrolments = Vec::new();
    for b in &run_sql(
        ctx,
        "program_evaluation",
        "SELECT person_number, program, team, enrolment_date FROM enrolment WHERE enrolment_date IS NOT NULL \
         ORDER BY person_key, enrolment_date, program, team",
    )
    .await?
    {
        let number = ints(b, 0)?;
        let program = text(b, 1)?;
        let team = text(b, 2)?;
        let date = dates(b, 3)?;
        for i in (0..b.num_rows()).filter(|i| !number.is_null(*i)) {
            if let Ok(number) = u32::try_from(number.value(i)) {
                enrolments.push(EnrolmentRow {
                    number,
                    program: program.value(i).to_string(),
                    team: team.value(i).to_string(),
                    day: date.value(i),
                });
            }
        }
    }
    Ok(enrolments)
}

/// One event series as read: each event's warehouse person number beside its day.
struct EventRows {
    numbers: Vec<u32>,
    days: Vec<i32>,
    /// Events without a person number or a day.
    unusable: usize,
}

impl EventRows {
    /// The rows of a query returning (person_number, date).
    async fn read(ctx: &SessionContext, sql: &str) -> Result<Self, IndicatorError> {
        let mut rows = EventRows {
            numbers: Vec::new(),
            days: Vec::new(),
            unusable: 0,
        };
        for_each_batch(ctx, "program_evaluation", sql, |b| {
            let number = ints(b, 0)?;
            let day = dates(b, 1)?;
            for i in 0..b.num_rows() {
                match u32::try_from(number.value(i)) {
                    Ok(n) if !number.is_null(i) && !day.is_null(i) => {
                        rows.numbers.push(n);
                        rows.days.push(day.value(i));
                    }
                    _ => rows.unusable += 1,
                }
            }
            Ok(())
        })
        .await?;
        Ok(rows)
    }

    /// The series over the evaluation's `n` persons, numbered by `index` in place.
    fn into_series(mut self, index: &PersonIndex, n: usize) -> Result<EventSeries, IndicatorError> {
        let mut kept = 0;
        for i in 0..self.numbers.len() {
            if let Some(person) = index.get(self.numbers[i]) {
                self.numbers[kept] = person;
                self.days[kept] = self.days[i];
                kept += 1;
            }
        }
        let unknown = self.unusable + self.numbers.len() - kept;
        if unknown > 0 {
            warn!(
                events = unknown,
                "events of persons absent from the registry are left out of the evaluation"
            );
        }
        self.numbers.truncate(kept);
        self.days.truncate(kept);
        EventSeries::from_columns(n, &self.numbers, &self.days).map_err(IndicatorError::from)
    }
}

/// One registry row, raw, before numbering: 32 bytes (forty million of them at national
/// scale).
struct PersonRow {
    key: KeyPrefix,
    /// The warehouse person number.
    number: u32,
    birth_year: i32,
    /// Day number of the death, or [`NO_DEATH`].
    death: i32,
    /// Position in the interned teams, or [`NO_TEAM`].
    team: u16,
    sex: u8,
}

/// No death recorded (no date is this far back).
const NO_DEATH: i32 = i32::MIN;

/// No team.
const NO_TEAM: u16 = u16::MAX;

/// The position of `name` in `names`, added if absent (teams are few: at most 65,535).
fn intern(names: &mut Vec<String>, name: &str) -> Result<u16, IndicatorError> {
    if let Some(i) = names.iter().position(|n| n == name) {
        return u16::try_from(i).map_err(|_| too_many_teams());
    }
    let i = u16::try_from(names.len())
        .ok()
        .filter(|i| *i != NO_TEAM)
        .ok_or_else(too_many_teams)?;
    names.push(name.to_string());
    Ok(i)
}

fn too_many_teams() -> IndicatorError {
    IndicatorError::Internal(
        "the registry names more than 65,534 teams: the program evaluation expects teams, \
         not persons or sites, in the person table's team column"
            .into(),
    )
}

/// The evaluation is CPU-bound and parallel (rayon); it runs to completion here.
fn tokio_free_evaluate(
    population: &Population,
    events: &Events,
    enrolments: &[Enrolment],
    config: &EvaluationConfig,
) -> Result<vigie_evaluation::Evaluation, IndicatorError> {
    Ok(evaluate(population, events, enrolments, config)?)
}

async fn write_worklist(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    evaluation: &vigie_evaluation::Evaluation,
    index: &PersonIndex,
    run_id: &str,
) -> Result<usize, IndicatorError> {
    let rows = &evaluation.case_finding.worklist;
    // The coordinators' worklist names persons by key: read again for its persons only.
    let numbers = rows
        .iter()
        .map(|r| {
            index.warehouse_number(r.person).ok_or_else(|| {
                IndicatorError::Internal(format!(
                    "the worklist names evaluation person {}, beyond the registry",
                    r.person
                ))
            })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    let keys = keys_of(ctx, "person__keyed", &numbers).await?;
    let hex = numbers
        .iter()
        .map(|n| {
            keys.get(n).map(String::as_str).ok_or_else(|| {
                IndicatorError::Internal(format!(
                    "person number {n} of the worklist has no key in the person table"
                ))
            })
        })
        .collect::<Result<Vec<&str>, _>>()?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_key", DataType::Utf8, false),
        Field::new("team", DataType::Utf8, true),
        Field::new("eligibility_date", DataType::Date32, false),
        Field::new("ed_visits_365d", DataType::Int32, false),
        Field::new("admissions_365d", DataType::Int32, false),
        Field::new("enrolled", DataType::Boolean, false),
        Field::new("run_id", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(hex)),
            Arc::new(rows.iter().map(|r| r.team.clone()).collect::<StringArray>()),
            Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| {
                r.eligibility_date
                    .signed_duration_since(NaiveDate::default())
                    .num_days() as i32
            }))),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.ed_visits as i32),
            )),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.admissions as i32),
            )),
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.enrolled))
                    .collect::<BooleanArray>(),
            ),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|_| run_id))),
        ],
    )?;
    // The worklist is rebuilt whole at each run.
    warehouse
        .write(
            WORKLIST_TABLE,
            schema,
            vec![],
            vec![batch],
            &Replace::Predicate("run_id IS NOT NULL".into()),
        )
        .await?;
    Ok(rows.len())
}

impl BuiltinOutput {
    /// The cells of one built-in indicator.
    pub fn cells_for(&self, meta: &IndicatorMeta) -> Vec<CellValue> {
        let pct = |x: Option<f64>| x.map(|v| 100.0 * v);
        let cell = |team: Option<String>,
                    program: &str,
                    num: f64,
                    den: Option<f64>,
                    value: Option<f64>,
                    ci: Option<(f64, f64)>| CellValue {
            period_start: self.span_start,
            team,
            stratum_dimension: "program".to_string(),
            stratum_value: program.to_string(),
            numerator: Some(num),
            denominator: den,
            value,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            cell_count: None,
        };
        match (meta.method, meta.evaluation) {
            (Method::ProgramEvaluation, Some(spec)) => {
                let outcome = match spec.outcome {
                    EvaluationOutcome::EdVisits => Outcome::EdVisits,
                    EvaluationOutcome::Admissions => Outcome::Admissions,
                };
                match spec.estimand {
                    Estimand::Naive => self
                        .evaluation
                        .naive
                        .iter()
                        .filter(|e| e.outcome == outcome)
                        .map(|e| {
                            cell(
                                scope_team(&e.scope),
                                &e.program,
                                e.n_participants as f64,
                                None,
                                pct(e.change),
                                e.ci.as_ref().map(|c| (100.0 * c.lower, 100.0 * c.upper)),
                            )
                        })
                        .collect(),
                    Estimand::Adjusted => self
                        .evaluation
                        .adjusted
                        .iter()
                        .flat_map(|p| p.estimates.iter())
                        .filter(|e| e.outcome == outcome)
                        .map(|e| {
                            cell(
                                scope_team(&e.scope),
                                &e.program,
                                e.n_participants as f64,
                                Some(e.n_comparison as f64),
                                pct(e.effect),
                                e.ci.as_ref().map(|c| (100.0 * c.lower, 100.0 * c.upper)),
                            )
                        })
                        .collect(),
                }
            }
            (Method::CaseFinding, _) => {
                let cf = &self.evaluation.case_finding;
                std::iter::once(&cf.overall)
                    .chain(cf.by_team.iter())
                    .map(|s| {
                        let ci = (s.eligible > 0)
                            .then(|| {
                                vigie_stats::wilson_ci(s.enrolled as f64, s.eligible as f64, 0.95)
                                    .ok()
                            })
                            .flatten()
                            .map(|c| (100.0 * c.lower, 100.0 * c.upper));
                        let mut c = cell(
                            scope_team(&s.scope),
                            ALL,
                            s.enrolled as f64,
                            Some(s.eligible as f64),
                            s.percent_enrolled,
                            ci,
                        );
                        c.stratum_dimension = ALL.to_string();
                        c
                    })
                    .collect()
            }
            _ => vec![],
        }
    }
}
