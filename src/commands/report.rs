//! `vigie report`: the feedback report of a team, or the region's accountability report, as
//! one self-contained HTML file (local paths only for --out).

use std::path::PathBuf;

use anyhow::Context;
use vigie_model::Lang;
use vigie_model::config::ReportPeriod;

/// Arguments of `vigie report`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub kind: Kind,
}

/// Options every report takes.
#[derive(clap::Args)]
pub struct Common {
    /// The pipeline file (e.g. pipelines/demo.yaml).
    #[arg(long)]
    pub pipeline: PathBuf,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Reporting period: a quarter (2025Q3), a month (2025-07), a year (2025), latest_quarter
    /// or latest_year (the latest with results) / période : trimestre, mois, année, ou la
    /// dernière avec des résultats.
    #[arg(long)]
    pub period: ReportPeriod,
    /// Language of the report: fr or en / langue du rapport : fr ou en.
    #[arg(long, default_value = "fr")]
    pub lang: Lang,
    /// Output HTML file (a local path).
    #[arg(long)]
    pub out: PathBuf,
}

/// Which report.
#[derive(clap::Subcommand)]
pub enum Kind {
    /// A care team's feedback report / Rapport de rétroaction d'une équipe
    Feedback {
        #[command(flatten)]
        common: Common,
        /// The team code (e.g. T01).
        #[arg(long)]
        team: String,
    },
    /// The region's accountability report for funders / Rapport de reddition de comptes
    Accountability {
        #[command(flatten)]
        common: Common,
    },
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let (common, team) = match args.kind {
        Kind::Feedback { common, team } => (common, Some(team)),
        Kind::Accountability { common } => (common, None),
    };
    let (pipeline, warehouse) =
        super::open_pipeline(&common.pipeline, common.warehouse.as_deref())?;
    let catalogue = vigie_indicators::load_catalogue(&pipeline.queries_dir())?;
    let cfg = pipeline.disclosure();
    let data = vigie_report::ReportData::load(&warehouse, &catalogue, &cfg)
        .await?
        .with_instruments(&pipeline.instruments())
        .with_equity(
            vigie_indicators::strata::load_strata(&pipeline.queries_dir())?,
            &pipeline.spec.equity,
        );
    let period = data
        .resolve(common.period)
        .ok_or(vigie_report::ReportError::NoResults)?;
    let html = match &team {
        Some(team) => {
            vigie_report::render_feedback(&data, &catalogue, &cfg, team, &period, common.lang)?
        }
        None => vigie_report::render_accountability(&data, &catalogue, &cfg, &period, common.lang)?,
    };
    if let Some(dir) = common.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&common.out, html.as_bytes())
        .with_context(|| format!("writing {}", common.out.display()))?;
    println!(
        "{}: {} report, {} ({} bytes)",
        common.out.display(),
        if team.is_some() {
            "feedback"
        } else {
            "accountability"
        },
        period,
        html.len()
    );
    Ok(())
}
