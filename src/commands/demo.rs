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
    };
    super::synth::generate(&synth).await?;
    let ingest_args = ingest::Args {
        pipeline: args.pipeline.clone(),
        landing: Some(landing.display().to_string()),
        warehouse: Some(warehouse_dir.display().to_string()),
        retry_rejected: false,
    };
    let report = ingest::ingest_pipeline(&ingest_args).await?;
    ingest::print_report(&report);

    let warehouse = Warehouse::open(&warehouse_dir.display().to_string())?;
    let snapshot = warehouse.snapshot(None).await?;
    let ctx = warehouse
        .session(&snapshot, &SessionOptions::default())
        .await?;
    let sql = "SELECT 'person' AS table_name, count(*) AS rows FROM person \
               UNION ALL SELECT 'ed_visit', count(*) FROM ed_visit \
               UNION ALL SELECT 'admission', count(*) FROM admission \
               UNION ALL SELECT 'enrolment', count(*) FROM enrolment \
               UNION ALL SELECT 'survey_response', count(*) FROM survey_response \
               UNION ALL SELECT 'quarantine', count(*) FROM quarantine";
    let batches = ctx.sql(sql).await?.collect().await?;
    println!(
        "warehouse at {}:\n{}",
        warehouse.root(),
        pretty_format_batches(&batches)?
    );
    println!(
        "try: cargo run -- query {} \"SELECT team, count(*) FROM person GROUP BY team ORDER BY team\" --warehouse {}",
        args.pipeline.display(),
        warehouse_dir.display()
    );
    Ok(())
}
