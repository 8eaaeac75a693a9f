//! Writing `indicator_results`: the computed periods replace exactly their stored rows.

use tracing::info;
use vigie_warehouse::{Replace, Warehouse};

use super::ComputeReport;
use crate::catalogue::{IndicatorDef, PeriodType};
use crate::error::IndicatorError;
use crate::results::{IndicatorResult, RESULTS_TABLE, results_schema, to_batch};

/// A SQL string literal.
pub(super) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rows a run replaces: the periods lying wholly inside [`from`, `to`) of the computed
/// indicators (`period_end` is the inclusive last day), and span indicators whole.
fn replaced_rows(report: &ComputeReport, catalogue: &[IndicatorDef]) -> Option<String> {
    let ids: Vec<String> = report.indicators.keys().map(|s| quote(s)).collect();
    if ids.is_empty() {
        return None;
    }
    let (from, to) = (
        report.from.unwrap_or_default(),
        report.to.unwrap_or_default(),
    );
    let spans: Vec<String> = catalogue
        .iter()
        .filter(|d| d.meta.period == PeriodType::Span && report.indicators.contains_key(&d.meta.id))
        .map(|d| quote(&d.meta.id))
        .collect();
    let mut predicate = format!(
        "(indicator IN ({}) AND period_start >= DATE '{from}' AND period_end < DATE '{to}')",
        ids.join(", ")
    );
    if !spans.is_empty() {
        predicate.push_str(&format!(" OR indicator IN ({})", spans.join(", ")));
    }
    Some(predicate)
}

/// Replaces the computed indicators' periods with `rows`, in one commit.
pub(super) async fn write_results(
    warehouse: &Warehouse,
    rows: &[IndicatorResult],
    report: &ComputeReport,
    catalogue: &[IndicatorDef],
) -> Result<(), IndicatorError> {
    let Some(predicate) = replaced_rows(report, catalogue) else {
        return Ok(());
    };
    let batch = to_batch(rows)?;
    warehouse
        .write(
            RESULTS_TABLE,
            results_schema(),
            vec!["indicator".to_string()],
            vec![batch],
            &Replace::Predicate(predicate),
        )
        .await?;
    info!(
        rows = rows.len(),
        suppressed = report.suppressed,
        "indicator_results written"
    );
    Ok(())
}
