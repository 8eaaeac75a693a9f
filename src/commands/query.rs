//! `vigie query`: read-only SQL over a consistent snapshot of the warehouse.
//!
//! By default a query sees the published zone and the internal tables: `indicator_results`
//! is the disclosure gate's output (suppressed cells without numbers), and the restricted
//! tables (the care coordinators' worklist) are not there. A data steward reads the stored
//! results and the restricted tables with `--steward "reason"`; each such read is logged
//! (who, when, which tables, why — never the rows). Only queries run: DDL, DML, `COPY` and
//! `SET` are refused before anything is planned.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use vigie_indicators::RESULTS_TABLE;
use vigie_warehouse::{RESTRICTED_TABLES, SessionOptions, Warehouse};

use super::tabular;

/// Arguments of `vigie query`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file whose warehouse to query.
    pub pipeline: PathBuf,
    /// One SQL query (SELECT or WITH ... SELECT; EXPLAIN [ANALYZE] shows its plan).
    /// Tables: indicator_results (published), person, ed_visit, admission, enrolment,
    /// survey_response, contact, referral, area_attribute, quarantine, load_manifest,
    /// run_history, and the survey instruments' survey_item and survey_item_answer.
    pub sql: String,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Read the warehouse as it was at this manifest version (time travel).
    #[arg(long)]
    pub as_of: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    pub format: QueryFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Read as a data steward, for this reason: the stored results with suppressed numbers
    /// and the restricted tables (worklist). Logged with who, when, which tables and the
    /// reason. / Lecture par un intendant des données, pour ce motif (journalisée).
    #[arg(long, value_name = "REASON")]
    pub steward: Option<String>,
}

/// How query results are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum QueryFormat {
    /// A table for people at a terminal.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// Only a query: one statement, a `SELECT` (or `WITH`, `VALUES`, or `EXPLAIN` of one);
/// everything that defines, changes or configures something is refused with a bilingual
/// message (see `vigie_indicators::sql_guard`).
pub fn check_read_only(sql: &str) -> anyhow::Result<()> {
    use vigie_indicators::sql_guard::{Explain, Refusal, check_query_only};
    match check_query_only(sql, Explain::Allowed) {
        Ok(()) => Ok(()),
        Err(Refusal::DoesNotParse(e)) => {
            Err(anyhow::anyhow!(e).context("the SQL does not parse / le SQL n'est pas valide"))
        }
        Err(Refusal::NotAQuery(what)) => Err(anyhow::anyhow!(
            "vigie query runs one read-only query (SELECT); {what} is refused / vigie query n'exécute qu'une requête en lecture (SELECT) ; {what} est refusé"
        )),
    }
}

/// The tables a plan reads.
fn tables_read(plan: &LogicalPlan) -> Vec<String> {
    let mut tables = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            tables.push(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables.sort();
    tables.dedup();
    tables
}

/// Replaces the stored results with the disclosure gate's output and removes the restricted
/// tables: what a query sees without `--steward`.
async fn publish_only(
    ctx: &SessionContext,
    warehouse: &Warehouse,
    pipeline: &vigie_model::config::LoadedPipeline,
) -> anyhow::Result<()> {
    let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir())?;
    let published =
        vigie_indicators::published_results(warehouse, &catalogue, &pipeline.disclosure()).await?;
    let batch = vigie_indicators::to_batch(&published)?;
    ctx.deregister_table(RESULTS_TABLE)?;
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    ctx.register_table(RESULTS_TABLE, Arc::new(table))?;
    for name in RESTRICTED_TABLES {
        ctx.deregister_table(name)?;
    }
    Ok(())
}

/// Who is reading: the login name when the environment gives one.
pub(crate) fn reader() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "(unknown)".to_string())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    check_read_only(&args.sql)?;
    let steward = match args.steward.as_deref().map(str::trim) {
        Some("") => bail!(
            "--steward needs the reason for the read / --steward demande le motif de la lecture"
        ),
        other => other,
    };
    let (pipeline, warehouse) = super::open_pipeline(&args.pipeline, args.warehouse.as_deref())?;
    if let Some(asked) = args.as_of {
        // Checked first: the storage layer's answer to a version past the latest is its own
        // error, repeated through every table it opened.
        let latest = warehouse.snapshot(None).await?.manifest_version;
        if latest.is_none_or(|latest| asked > latest) {
            bail!(
                "--as-of {asked}: the warehouse has no such version (latest: {}); `vigie query PIPELINE \"select load_id, started_at from load_manifest\"` lists the loads / l'entrepôt n'a pas cette version (dernière : {})",
                latest.map_or("none, nothing loaded yet".to_string(), |v| v.to_string()),
                latest.map_or("aucune".to_string(), |v| v.to_string())
            );
        }
    }
    let snapshot = warehouse.snapshot(args.as_of).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    if steward.is_none() {
        publish_only(&ctx, &warehouse, &pipeline).await?;
    }
    // The instruments' items and answers, as the indicator queries see them.
    vigie_indicators::register_instruments(&ctx, &pipeline.instruments())?;
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = match ctx.sql_with_options(&args.sql, options).await {
        Ok(frame) => frame,
        Err(e) => {
            let message = e.to_string();
            if steward.is_none()
                && message.contains("not found")
                // The longest name that matches: `worklist_export_audit` is not `worklist`.
                && let Some(t) = RESTRICTED_TABLES
                    .iter()
                    .filter(|t| message.contains(**t))
                    .max_by_key(|t| t.len())
            {
                bail!(
                    "the table `{t}` is restricted: a data steward reads it with --steward \"reason\" / la table `{t}` est restreinte : un intendant des données la lit avec --steward \"motif\""
                );
            }
            return Err(e.into());
        }
    };
    if let Some(reason) = steward {
        let tables = tables_read(frame.logical_plan());
        let restricted: Vec<&String> = tables
            .iter()
            .filter(|t| RESTRICTED_TABLES.contains(&t.as_str()) || t.as_str() == RESULTS_TABLE)
            .collect();
        // The audit record: who, when, what, why — never the rows.
        tracing::warn!(
            target: "vigie::audit",
            user = %reader(),
            at = %chrono::Utc::now().to_rfc3339(),
            warehouse = %warehouse.root(),
            tables = ?tables,
            restricted = ?restricted,
            reason = %reason,
            "steward read of restricted or unsuppressed data / lecture d'intendant de données restreintes ou non supprimées"
        );
    }
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await?;
    let mut out = tabular::output(args.out.as_deref())?;
    match args.format {
        QueryFormat::Table => tabular::write_table(&mut out, &batches)?,
        QueryFormat::Csv => tabular::write_csv(&mut out, &schema, &batches)?,
        QueryFormat::Json => tabular::write_json(&mut out, &batches)?,
    }
    out.flush()?;
    Ok(())
}
