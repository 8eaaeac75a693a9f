//! The care coordinators' worklist, delivered (`vigie worklist export`): the restricted
//! high-user worklist re-identified for the program that contacts these persons.
//!
//! Only whoever holds the pseudonymisation key can run it: each health card number is
//! found by pseudonymising the identifiers of the registry extracts still in the landing
//! zone (or of a roster the program provides) and keeping those whose pseudonym is on the
//! worklist. The list goes to a local file readable by its owner only — never through
//! `serve`, reports, metrics or exports — and every export is recorded (who, when, which
//! program, how many persons, where) in the restricted `worklist_export_audit` table and
//! in the audit log (`vigie::audit`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Date32Type, Field, Int32Type, Schema, SchemaRef, TimeUnit};
use chrono::{NaiveDate, Utc};
use tracing::{info, warn};
use vigie_model::config::{EligibilitySpec, FilePattern, LoadedPipeline};
use vigie_model::{Entity, Lang, PseudonymKey};
use vigie_warehouse::{Replace, SessionOptions, Warehouse, WriterLock};

use crate::error::PipelineError;
use crate::landing::Landing;

/// The restricted table recording every export.
pub const WORKLIST_EXPORT_AUDIT: &str = "worklist_export_audit";

/// Where the identifiers come from.
#[derive(Debug, Clone)]
pub enum IdentifierSource {
    /// The registry extracts in the pipeline's landing zone.
    Landing,
    /// A roster CSV (UTF-8, comma-separated, with a header) and the column of its health
    /// card numbers.
    Roster {
        /// The roster file.
        path: PathBuf,
        /// The column holding the health card numbers.
        column: String,
    },
}

/// One export.
#[derive(Debug, Clone)]
pub struct WorklistExportRequest {
    /// The care-coordination program the list is for.
    pub program: String,
    /// The local file written.
    pub out: PathBuf,
    /// Where health card numbers are found.
    pub identifiers: IdentifierSource,
    /// Language of the column names.
    pub lang: Lang,
    /// Who asks (recorded in the audit).
    pub user: String,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklistExport {
    /// Persons written.
    pub persons: usize,
    /// Persons on the worklist whose identifier was not found (not written).
    pub not_found: usize,
}

/// One worklist row, as stored.
struct Row {
    key: String,
    team: Option<String>,
    eligibility_date: NaiveDate,
    ed_visits: i32,
    admissions: i32,
    enrolled: bool,
}

/// Which of the pipeline's thresholds (`evaluation.eligibility`) a row's counts reach, in
/// the reader's language.
fn reason(row: &Row, rule: &EligibilitySpec, lang: Lang) -> String {
    let reaches = |count: i32, min: u32| min > 0 && i64::from(count) >= i64::from(min);
    let ed = reaches(row.ed_visits, rule.min_ed_visits);
    let adm = reaches(row.admissions, rule.min_admissions);
    let (n_ed, n_adm, days) = (rule.min_ed_visits, rule.min_admissions, rule.window_days);
    match (lang, ed, adm) {
        (Lang::Fr, true, true) => {
            format!("≥ {n_ed} visites à l'urgence et ≥ {n_adm} hospitalisations en {days} jours")
        }
        (Lang::En, true, true) => {
            format!("≥ {n_ed} ED visits and ≥ {n_adm} admissions in {days} days")
        }
        (Lang::Fr, true, false) => format!("≥ {n_ed} visites à l'urgence en {days} jours"),
        (Lang::En, true, false) => format!("≥ {n_ed} ED visits in {days} days"),
        (Lang::Fr, false, true) => format!("≥ {n_adm} hospitalisations en {days} jours"),
        (Lang::En, false, true) => format!("≥ {n_adm} admissions in {days} days"),
        // The rule changed since the worklist was computed.
        (Lang::Fr, false, false) => "critère d'une règle antérieure".to_string(),
        (Lang::En, false, false) => "criterion of an earlier rule".to_string(),
    }
}

/// Writes the worklist of `request.program`, re-identified, to `request.out` and records
/// the export. `lock` is the warehouse's writer lock (the audit is a table write).
pub async fn export_worklist(
    pipeline: &LoadedPipeline,
    warehouse: &Warehouse,
    landing: &Landing,
    lock: &WriterLock,
    request: &WorklistExportRequest,
) -> Result<WorklistExport, PipelineError> {
    check_destination(&request.out)?;
    // Without the key nothing can be re-identified: refuse before reading anything.
    let key = PseudonymKey::load(&pipeline.key_source())?;
    let snapshot = warehouse.snapshot(None).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    check_program(&ctx, &request.program).await?;
    let rows = read_worklist(&ctx).await?;
    let mut wanted: HashMap<&str, Option<String>> =
        rows.iter().map(|r| (r.key.as_str(), None)).collect();
    match &request.identifiers {
        IdentifierSource::Landing => {
            find_in_landing(pipeline, landing, &key, &mut wanted).await?;
        }
        IdentifierSource::Roster { path, column } => {
            find_in_roster(path, column, &key, &mut wanted)?;
        }
    }
    let found: Vec<(&Row, &str)> = rows
        .iter()
        .filter_map(|r| {
            wanted
                .get(r.key.as_str())
                .and_then(|raw| raw.as_deref())
                .map(|raw| (r, raw))
        })
        .collect();
    let export = WorklistExport {
        persons: found.len(),
        not_found: rows.len() - found.len(),
    };
    write_csv(
        &request.out,
        &found,
        &pipeline.spec.evaluation.eligibility,
        request.lang,
    )?;
    record(warehouse, lock, request, &export).await?;
    if export.not_found > 0 {
        warn!(
            persons = export.not_found,
            "persons of the worklist not re-identified (not in the registry extracts or the roster) / personnes non réidentifiées"
        );
    }
    Ok(export)
}

/// Only a local file: the list never goes to an object store or a URL.
fn check_destination(out: &Path) -> Result<(), PipelineError> {
    let text = out.display().to_string();
    if text.contains("://") {
        return Err(PipelineError::Destination {
            to: text,
            message: "the worklist is written to a local file only / la liste de travail s'écrit dans un fichier local seulement".into(),
        });
    }
    if out.is_dir() {
        return Err(PipelineError::Destination {
            to: text,
            message: "is a directory: name the CSV file to write / est un répertoire : nommez le fichier CSV".into(),
        });
    }
    Ok(())
}

async fn check_program(
    ctx: &datafusion::prelude::SessionContext,
    program: &str,
) -> Result<(), PipelineError> {
    let batches = ctx
        .sql("SELECT DISTINCT program FROM enrolment ORDER BY program")
        .await
        .map_err(query_err)?
        .collect()
        .await
        .map_err(query_err)?;
    let mut known = Vec::new();
    for b in &batches {
        let col = arrow::compute::cast(b.column(0), &DataType::Utf8)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        known.extend(col.as_string::<i32>().iter().flatten().map(str::to_string));
    }
    if !known.is_empty() && !known.iter().any(|p| p == program) {
        return Err(PipelineError::Destination {
            to: format!("--program {program}"),
            message: format!(
                "no such program in the enrolments (known: {}) / programme inconnu",
                known.join(", ")
            ),
        });
    }
    Ok(())
}

fn query_err(e: datafusion::error::DataFusionError) -> PipelineError {
    PipelineError::Warehouse(Box::new(vigie_warehouse::WarehouseError::Query(e)))
}

async fn read_worklist(
    ctx: &datafusion::prelude::SessionContext,
) -> Result<Vec<Row>, PipelineError> {
    if !ctx.table_exist("worklist").unwrap_or(false) {
        return Err(PipelineError::Destination {
            to: "worklist".into(),
            message: "the warehouse has no worklist yet: run `vigie compute` first / aucune liste de travail : lancez d'abord `vigie compute`".into(),
        });
    }
    let batches = ctx
        .sql(
            "SELECT person_key, team, eligibility_date, ed_visits_365d, admissions_365d, enrolled \
             FROM worklist ORDER BY team, eligibility_date, person_key",
        )
        .await
        .map_err(query_err)?
        .collect()
        .await
        .map_err(query_err)?;
    let mut rows = Vec::new();
    let cast = |b: &RecordBatch, i: usize, ty: &DataType| {
        arrow::compute::cast(b.column(i), ty).map_err(|e| PipelineError::Internal(e.to_string()))
    };
    for b in &batches {
        let (keys, teams) = (cast(b, 0, &DataType::Utf8)?, cast(b, 1, &DataType::Utf8)?);
        let dates = cast(b, 2, &DataType::Date32)?;
        let (ed, adm) = (cast(b, 3, &DataType::Int32)?, cast(b, 4, &DataType::Int32)?);
        let enrolled = cast(b, 5, &DataType::Boolean)?;
        let (keys, teams) = (keys.as_string::<i32>(), teams.as_string::<i32>());
        let dates = dates.as_primitive::<Date32Type>();
        let (ed, adm) = (
            ed.as_primitive::<Int32Type>(),
            adm.as_primitive::<Int32Type>(),
        );
        let enrolled = enrolled.as_boolean();
        for i in (0..b.num_rows()).filter(|i| keys.is_valid(*i)) {
            rows.push(Row {
                key: keys.value(i).to_string(),
                team: teams.is_valid(i).then(|| teams.value(i).to_string()),
                eligibility_date: NaiveDate::default()
                    + chrono::Duration::days(i64::from(dates.value(i))),
                ed_visits: ed.value(i),
                admissions: adm.value(i),
                enrolled: enrolled.is_valid(i) && enrolled.value(i),
            });
        }
    }
    Ok(rows)
}

/// Pseudonymises the identifiers of every registry extract in the landing zone, keeping the
/// raw value of those on the worklist.
async fn find_in_landing(
    pipeline: &LoadedPipeline,
    landing: &Landing,
    key: &PseudonymKey,
    wanted: &mut HashMap<&str, Option<String>>,
) -> Result<(), PipelineError> {
    let registries: Vec<_> = pipeline
        .sources
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.outputs().iter().any(|(_, o)| o.entity == Entity::Person))
        .collect();
    let files = landing.list().await?;
    let mut read_any = false;
    for source in registries {
        let pattern = FilePattern::parse(&source.files)
            .map_err(|e| PipelineError::Internal(format!("{}: files: {e}", source.source)))?;
        for file in files.iter().filter(|f| pattern.is_match(&f.key)) {
            let bytes = landing.read(file).await?;
            read_any = true;
            let scan = vigie_ingest::person_identifiers(source, &file.key, bytes, |raw| {
                let pseudonym = key.pseudonymise(raw);
                if let Some(slot) = wanted.get_mut(pseudonym.as_str())
                    && slot.is_none()
                {
                    *slot = Some(raw.to_string());
                }
            });
            if let Err(rejection) = scan {
                warn!(file = %rejection.file, line = rejection.line, "registry extract unreadable for re-identification: {}", rejection.message);
            }
        }
    }
    if !read_any {
        return Err(PipelineError::Landing {
            location: landing.location().to_string(),
            message: "no registry extract is in the landing zone to re-identify the worklist: give the program's roster with --roster FILE --roster-column COLUMN / aucun extrait du registre : fournissez une liste avec --roster".into(),
        });
    }
    Ok(())
}

fn find_in_roster(
    path: &Path,
    column: &str,
    key: &PseudonymKey,
    wanted: &mut HashMap<&str, Option<String>>,
) -> Result<(), PipelineError> {
    let io = |e: std::io::Error| PipelineError::Io {
        what: format!("cannot read the roster {}", path.display()),
        source: e,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(e) => io(e),
        other => PipelineError::Destination {
            to: path.display().to_string(),
            message: format!("not a readable CSV roster: {other:?}"),
        },
    })?;
    let at = reader
        .headers()
        .ok()
        .and_then(|h| h.iter().position(|c| c.trim() == column))
        .ok_or_else(|| PipelineError::Destination {
            to: path.display().to_string(),
            message: format!(
                "the roster has no column `{column}` (--roster-column) / colonne absente"
            ),
        })?;
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|_| PipelineError::Destination {
            to: path.display().to_string(),
            message: format!("line {}: not a readable CSV record", i + 2),
        })?;
        let Some(raw) = record.get(at).map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let pseudonym = key.pseudonymise(raw);
        if let Some(slot) = wanted.get_mut(pseudonym.as_str())
            && slot.is_none()
        {
            *slot = Some(raw.to_string());
        }
    }
    Ok(())
}

/// Writes the list next to its destination, readable by its owner only, then moves it
/// into place: a reader never sees half a list.
fn write_csv(
    out: &Path,
    rows: &[(&Row, &str)],
    rule: &EligibilitySpec,
    lang: Lang,
) -> Result<(), PipelineError> {
    let io = |e: std::io::Error| PipelineError::Io {
        what: format!("cannot write the worklist {}", out.display()),
        source: e,
    };
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".worklist-")
        .tempfile_in(dir)
        .map_err(io)?;
    restrict_permissions(tmp.as_file()).map_err(io)?;
    let header: [&str; 7] = match lang {
        Lang::Fr => [
            "numero_carte_sante",
            "equipe",
            "motif_admissibilite",
            "date_admissibilite",
            "visites_urgence_12_mois",
            "hospitalisations_12_mois",
            "deja_inscrit",
        ],
        Lang::En => [
            "health_card_number",
            "team",
            "eligibility_reason",
            "eligibility_date",
            "ed_visits_12_months",
            "admissions_12_months",
            "already_enrolled",
        ],
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| PipelineError::Internal(format!("worklist CSV: {e}"));
    writer.write_record(header).map_err(csv_err)?;
    for (row, raw) in rows {
        let yes_no = match (lang, row.enrolled) {
            (Lang::Fr, true) => "oui",
            (Lang::Fr, false) => "non",
            (Lang::En, true) => "yes",
            (Lang::En, false) => "no",
        };
        writer
            .write_record([
                raw.to_string(),
                row.team.clone().unwrap_or_default(),
                reason(row, rule, lang),
                row.eligibility_date.to_string(),
                row.ed_visits.to_string(),
                row.admissions.to_string(),
                yes_no.to_string(),
            ])
            .map_err(csv_err)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| PipelineError::Internal(format!("worklist CSV: {e}")))?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(out).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn restrict_permissions(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_permissions(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

fn audit_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(
            "exported_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("exported_by", DataType::Utf8, false),
        Field::new("program", DataType::Utf8, false),
        Field::new("persons", DataType::Int64, false),
        Field::new("not_found", DataType::Int64, false),
        Field::new("destination", DataType::Utf8, false),
    ]))
}

/// The audit record: a row of the restricted audit table, and a line of the audit log.
async fn record(
    warehouse: &Warehouse,
    lock: &WriterLock,
    request: &WorklistExportRequest,
    export: &WorklistExport,
) -> Result<(), PipelineError> {
    let now = Utc::now();
    let destination = std::path::absolute(&request.out)
        .unwrap_or_else(|_| request.out.clone())
        .display()
        .to_string();
    let batch = RecordBatch::try_new(
        audit_schema(),
        vec![
            Arc::new(
                TimestampMicrosecondArray::from(vec![now.timestamp_micros()]).with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(vec![request.user.clone()])),
            Arc::new(StringArray::from(vec![request.program.clone()])),
            Arc::new(Int64Array::from(vec![export.persons as i64])),
            Arc::new(Int64Array::from(vec![export.not_found as i64])),
            Arc::new(StringArray::from(vec![destination.clone()])),
        ],
    )
    .map_err(|e| PipelineError::Internal(format!("audit row: {e}")))?;
    lock.still_held()?;
    warehouse
        .write(
            WORKLIST_EXPORT_AUDIT,
            audit_schema(),
            vec![],
            vec![batch],
            &Replace::Nothing,
        )
        .await?;
    warn!(
        target: "vigie::audit",
        user = %request.user,
        at = %now.to_rfc3339(),
        warehouse = %warehouse.root(),
        program = %request.program,
        persons = export.persons,
        destination = %destination,
        "worklist exported with health card numbers / liste de travail exportée avec numéros de carte santé"
    );
    info!(persons = export.persons, "worklist written / liste écrite");
    Ok(())
}
