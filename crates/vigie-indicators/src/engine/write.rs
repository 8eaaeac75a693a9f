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

/// The rows a run replaces: for each computed indicator, the periods lying wholly inside
/// the range it computed (`period_end` is the inclusive last day; a recompute's quarters
/// and years reach beyond its months), and span indicators whole.
fn replaced_rows(
    report: &ComputeReport,
    catalogue: &[IndicatorDef],
    recomputed: &super::Recomputed,
) -> Option<String> {
    if report.indicators.is_empty() {
        return None;
    }
    let spans: Vec<String> = catalogue
        .iter()
        .filter(|d| d.meta.period == PeriodType::Span && report.indicators.contains_key(&d.meta.id))
        .map(|d| quote(&d.meta.id))
        .collect();
    let mut terms = super::range_terms(recomputed, |from, to| {
        format!("period_start >= DATE '{from}' AND period_end < DATE '{to}'")
    });
    if !spans.is_empty() {
        terms.push(format!("indicator IN ({})", spans.join(", ")));
    }
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

/// Replaces the computed indicators' periods with `rows`, in one commit.
pub(super) async fn write_results(
    warehouse: &Warehouse,
    rows: &[IndicatorResult],
    report: &ComputeReport,
    catalogue: &[IndicatorDef],
    recomputed: &super::Recomputed,
) -> Result<(), IndicatorError> {
    let Some(predicate) = replaced_rows(report, catalogue, recomputed) else {
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
