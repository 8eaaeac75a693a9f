//! `vigie compute`: run the indicator catalogue over the warehouse.

use chrono::NaiveDate;
use std::path::PathBuf;

use vigie_model::config::Month;
use vigie_pipeline::{ComputeOverrides, ComputeReport, compute};

/// Arguments of `vigie compute`.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline file (e.g. pipelines/demo.yaml).
    pub pipeline: PathBuf,
    /// Override the pipeline's warehouse (path or URL).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// First month to (re)compute, YYYY-MM; its results are replaced (a weekly refresh),
    /// and those of the quarter and the year holding it. Only the events these periods can
    /// depend on are read; the program evaluation and the worklist, over the whole
    /// follow-up, wait for a full compute unless named in --only.
    #[arg(long)]
    pub from: Option<Month>,
    /// Last month to (re)compute, YYYY-MM (inclusive).
    #[arg(long)]
    pub to: Option<Month>,
    /// Only these indicators (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Also write the run's figures (rows and seconds per indicator) to this JSON file.
    #[arg(long)]
    pub report_json: Option<PathBuf>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let pipeline = vigie_model::config::load_pipeline(&args.pipeline)?;
    let to = args.to.map(Month::next_first_day);
    let overrides = ComputeOverrides {
        warehouse: args.warehouse.clone(),
        only: args.only.clone(),
        from: args.from.map(Month::first_day),
        to,
    };
    let report = compute(&pipeline, &overrides).await?;
    print_report(&report);
    if let Some(path) = &args.report_json {
        let indicators: serde_json::Map<String, serde_json::Value> = report
            .indicators
            .iter()
            .map(|(id, (rows, secs))| {
                (
                    id.clone(),
                    serde_json::json!({"rows": rows, "seconds": secs}),
                )
            })
            .collect();
        let json = serde_json::json!({
            "run_id": report.run_id,
            "from": report.from.map(|d| d.to_string()),
            "to": report.to.map(|d| d.to_string()),
            "indicators": indicators,
            "evaluation_seconds": report.evaluation_seconds,
            "total_seconds": report.total_seconds,
            "suppressed": report.suppressed,
        });
        super::write_json(path, &json)?;
    }
    Ok(())
}

/// The computed range as the summary shows it; `to` is the day after the last one.
fn span_text(from: Option<NaiveDate>, to: Option<NaiveDate>) -> String {
    let (Some(from), Some(to)) = (from, to) else {
        return "no data".to_string();
    };
    let last = to.pred_opt().unwrap_or(to);
    if from >= to {
        // A recompute from a month the data do not complete yet (month-to-date extracts).
        format!(
            "nothing from {from} on: the data's last complete month ends on {last} / rien à partir du {from} : le dernier mois complet des données finit le {last}"
        )
    } else {
        format!("{from} to {last}")
    }
}

pub fn print_report(report: &ComputeReport) {
    let rows: usize = report.indicators.values().map(|(n, _)| n).sum();
    let span = span_text(report.from, report.to);
    println!(
        "compute {}: {} indicator(s), {rows} result rows ({} suppressed by the disclosure gate), {span}; worklist {} row(s) (restricted)",
        report.run_id,
        report.indicators.len(),
        report.suppressed,
        report.worklist_rows
    );
    for (id, (n, secs)) in &report.indicators {
        println!("  {id:<40} {n:>7} rows {secs:>7.2} s");
    }
    if report.evaluation_seconds > 0.0 {
        println!(
            "  program evaluation and case finding (shared by the built-in indicators) {:.2} s",
            report.evaluation_seconds
        );
    }
    println!("  total {:.2} s", report.total_seconds);
}

#[cfg(test)]
mod tests {
    use super::span_text;
    use chrono::NaiveDate;

    fn day(s: &str) -> Option<NaiveDate> {
        s.parse().ok()
    }

    #[test]
    fn the_summary_names_the_last_day_and_says_when_no_month_is_complete() {
        assert_eq!(
            span_text(day("2025-01-01"), day("2026-01-01")),
            "2025-01-01 to 2025-12-31"
        );
        // A weekly recompute of the month the hospitals' month-to-date extracts cover.
        let empty = span_text(day("2025-12-01"), day("2025-12-01"));
        assert!(
            empty.starts_with("nothing from 2025-12-01 on")
                && empty.contains("ends on 2025-11-30")
                && empty.contains("finit le 2025-11-30"),
            "{empty}"
        );
        assert_eq!(span_text(None, None), "no data");
    }
}
