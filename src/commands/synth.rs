//! `vigie synth`: a seeded synthetic region in the partners' layouts.

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use vigie_pipeline::Progress;
use vigie_synth::{SynthConfig, SynthSummary};

use crate::progress::Bar;

/// Arguments of `vigie synth`.
#[derive(clap::Args)]
pub struct Args {
    /// Output directory (the landing zone the extracts go to).
    #[arg(long, default_value = "./demo/landing")]
    pub out: PathBuf,
    /// Number of persons in the region.
    #[arg(long, default_value_t = 20_000)]
    pub persons: u64,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First month of the horizon (YYYY-MM).
    #[arg(long, default_value = "2023-01")]
    pub start: String,
    /// Number of months.
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    /// Number of care teams.
    #[arg(long, default_value_t = 6)]
    pub teams: u32,
    /// True effect of the program on participants' event rates (-0.2 = 20% fewer).
    #[arg(long, default_value_t = -0.20, allow_hyphen_values = true)]
    pub program_effect: f64,
    /// Share of rows deliberately corrupted, to exercise the quarantine.
    #[arg(long, default_value_t = 0.003)]
    pub bad_row_rate: f64,
    /// Leave out the care pathway's extracts (community contacts and referrals); every other
    /// file is the same with or without them.
    #[arg(long)]
    pub without_pathway: bool,
}

impl Args {
    /// The generator configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<SynthConfig> {
        let start = NaiveDate::parse_from_str(&format!("{}-01", self.start), "%Y-%m-%d")
            .with_context(|| {
                format!(
                    "--start {}: expected a month as YYYY-MM, e.g. 2023-01",
                    self.start
                )
            })?;
        Ok(SynthConfig {
            seed: self.seed,
            persons: self.persons,
            start,
            months: self.months,
            teams: self.teams,
            program_effect: self.program_effect,
            bad_row_rate: self.bad_row_rate,
            pathway: !self.without_pathway,
            ..SynthConfig::default()
        })
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let summary = generate(&args).await?;
    println!(
        "synthetic region written to {}: {} file(s), {} rows ({} deliberately bad)",
        args.out.display(),
        summary.files.len(),
        summary.files.iter().map(|f| f.rows).sum::<u64>(),
        summary.files.iter().map(|f| f.bad_row_count()).sum::<u64>()
    );
    Ok(())
}

pub async fn generate(args: &Args) -> anyhow::Result<SynthSummary> {
    let cfg = args.config()?;
    let out = args.out.clone();
    let started = std::time::Instant::now();
    let persons = cfg.persons;
    let summary = tokio::task::spawn_blocking(move || {
        let bar = Bar::new(false);
        bar.start("synth", persons);
        let result = vigie_synth::generate_with_progress(&cfg, &out, &|done| bar.advance_to(done));
        bar.finish();
        result
    })
    .await
    .context("the generator thread failed")??;
    tracing::info!(
        persons = args.persons,
        seconds = started.elapsed().as_secs_f64(),
        "synthetic region generated"
    );
    Ok(summary)
}
