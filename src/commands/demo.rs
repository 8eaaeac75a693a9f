//! `vigie demo`: generate a synthetic region, run the demo pipeline on it, show the warehouse.

use std::path::PathBuf;

use arrow::util::pretty::pretty_format_batches;
use vigie_warehouse::{SessionOptions, Warehouse};

use super::ingest;

/// Arguments of `vigie demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Working directory for the demo (landing zone and warehouse go under it).
    #[arg(long, default_value = "./demo")]
    pub dir: PathBuf,
    /// The demo pipeline file.
    #[arg(long, default_value = "pipelines/demo.yaml")]
    pub pipeline: PathBuf,
    /// Number of persons in the synthetic region.
    #[arg(long, default_value_t = 20_000)]
    pub persons: u64,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let landing = args.dir.join("landing");
    let warehouse_dir = args.dir.join("warehouse");
    let synth = super::synth::Args {
        out: landing.clone(),
        persons: args.persons,
        seed: args.seed,
        start: "2023-01".into(),
        months: 36,
        teams: 6,
        program_effect: -0.20,
        bad_row_rate: 0.003,
        without_pathway: false,
    };
    super::synth::generate(&synth).await?;
    let ingest_args = ingest::Args {
        pipeline: args.pipeline.clone(),
        landing: Some(landing.display().to_string()),
        warehouse: Some(warehouse_dir.display().to_string()),
        retry_rejected: false,
        verify_unchanged: false,
        report_json: None,
    };
    let report = ingest::ingest_pipeline(&ingest_args).await?;
    ingest::print_report(&report);

    let mut pipeline = vigie_model::config::load_pipeline(&args.pipeline)?;
    // Everything the demo writes stays under its directory, reports included.
    for report in &mut pipeline.spec.outputs.reports {
        report.to = args.dir.join("reports").display().to_string();
    }
    let overrides = vigie_pipeline::ComputeOverrides {
        warehouse: Some(warehouse_dir.display().to_string()),
        ..Default::default()
    };
    let computed = vigie_pipeline::compute(&pipeline, &overrides).await?;
    super::compute::print_report(&computed);
    let reports =
        vigie_pipeline::write_reports(&pipeline, Some(&warehouse_dir.display().to_string()))
            .await?;
    for written in &reports {
        println!("report: {written}");
    }

    let warehouse = Warehouse::open(&warehouse_dir.display().to_string())?;
    let snapshot = warehouse.snapshot(None).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    // One count per table, listed in this order (a UNION's branches run in parallel and
    // arrive in any order).
    let tables = [
        "person",
        "ed_visit",
        "admission",
        "enrolment",
        "survey_response",
        "contact",
        "referral",
        "quarantine",
        "indicator_results",
    ];
    let counts: Vec<String> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!("SELECT {i} AS position, '{t}' AS table_name, count(*) AS rows FROM {t}")
        })
        .collect();
    let sql = format!(
        "SELECT table_name, rows FROM ({}) AS c ORDER BY position",
        counts.join(" UNION ALL ")
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    println!(
        "warehouse at {}:\n{}",
        warehouse.root(),
        pretty_format_batches(&batches)?
    );
    print_headline(&warehouse, &pipeline).await?;
    println!(
        "try: cargo run -- query {} \"SELECT indicator, org_unit, value, ci_low, ci_high FROM indicator_results WHERE period_type = 'span' AND stratum_value = 'PSM'\"",
        args.pipeline.display()
    );
    Ok(())
}

/// The program evaluation at region level, naive beside adjusted, read through the
/// disclosure gate like any output.
async fn print_headline(
    warehouse: &Warehouse,
    pipeline: &vigie_model::config::LoadedPipeline,
) -> anyhow::Result<()> {
    let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir())?;
    let cfg = pipeline.disclosure();
    let results = vigie_indicators::published_results(warehouse, &catalogue, &cfg).await?;
    println!("program evaluation, whole region / évaluation du programme, région entière:");
    // Selected by what they are, not by id: every program-evaluation indicator of the
    // catalogue, outcome by outcome, naive before adjusted.
    let mut evaluations: Vec<_> = catalogue
        .iter()
        .filter_map(|d| {
            d.meta
                .evaluation
                .map(|e| (e.outcome as u8, e.estimand as u8, d))
        })
        .collect();
    evaluations.sort_by_key(|(outcome, estimand, _)| (*outcome, *estimand));
    let fmt = |x: Option<f64>| {
        x.map(|v| format!("{v:+.1}%"))
            .unwrap_or_else(|| "suppressed/supprimé".into())
    };
    for (_, _, def) in evaluations {
        let id = &def.meta.id;
        for r in results
            .iter()
            .filter(|r| &r.indicator == id && r.org_unit == vigie_disclosure::REGION)
        {
            // A suppressed count shows why, with the threshold in force, never a fixed "<6".
            let participants = match (r.numerator, r.suppression_reason) {
                (Some(n), _) => n.to_string(),
                (None, Some(reason)) => reason.footnote(vigie_disclosure::Lang::En, &cfg),
                (None, None) => "-".into(),
            };
            println!(
                "  {id:<36} {:>3}: {:>8}  95% CI [{}, {}]  participants {participants}",
                r.stratum_value,
                fmt(r.value),
                fmt(r.ci_low),
                fmt(r.ci_high),
            );
        }
    }
    Ok(())
}
