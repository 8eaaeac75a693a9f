//! `vigie export results`: the published indicator results, as the disclosure gate lets them
//! out, with the catalogue's names, units and methods alongside.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use vigie_indicators::{IndicatorDef, IndicatorResult, PeriodType};
use vigie_model::config::{CalendarPeriod, PeriodKind};

/// The rows an export keeps.
pub struct Selection {
    /// Only these indicators (empty: all).
    pub indicators: Vec<String>,
    /// Only this calendar period.
    pub period: Option<CalendarPeriod>,
}

impl Selection {
    /// Checks the indicator ids against the catalogue (a typo is an error, not an empty file).
    pub fn check(&self, catalogue: &[IndicatorDef]) -> anyhow::Result<()> {
        let unknown: Vec<&str> = self
            .indicators
            .iter()
            .filter(|id| !catalogue.iter().any(|d| &d.meta.id == *id))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            bail!(
                "unknown indicator(s) {} — see `vigie catalogue` / indicateur(s) inconnu(s) {} — voir `vigie catalogue`",
                unknown.join(", "),
                unknown.join(", ")
            );
        }
        Ok(())
    }

    fn keeps(&self, r: &IndicatorResult) -> bool {
        let indicator = self.indicators.is_empty() || self.indicators.contains(&r.indicator);
        let period = self.period.is_none_or(|p| {
            let kind = match r.period_type {
                PeriodType::Month => Some(PeriodKind::Month),
                PeriodType::Quarter => Some(PeriodKind::Quarter),
                PeriodType::Year => Some(PeriodKind::Year),
                PeriodType::Span => None,
            };
            kind == Some(p.kind()) && r.period_start == p.start()
        });
        indicator && period
    }
}

/// Columns the catalogue adds after `indicator`, each from one indicator's metadata.
type CatalogueColumn = (&'static str, fn(&IndicatorDef) -> String);

const CATALOGUE_COLUMNS: [CatalogueColumn; 6] = [
    ("name_fr", |d| d.meta.name.fr.clone()),
    ("name_en", |d| d.meta.name.en.clone()),
    ("unit", |d| d.meta.unit.code().to_string()),
    ("unit_fr", |d| d.meta.unit.labels().0.to_string()),
    ("unit_en", |d| d.meta.unit.labels().1.to_string()),
    ("direction", |d| d.meta.direction.code().to_string()),
];

/// The published rows `selection` keeps, as one batch: the results' columns (suppressed
/// cells without numbers, with their reason) and the catalogue's after `indicator`.
pub fn export_batch(
    published: &[IndicatorResult],
    catalogue: &[IndicatorDef],
    selection: &Selection,
) -> anyhow::Result<RecordBatch> {
    let rows: Vec<IndicatorResult> = published
        .iter()
        .filter(|r| selection.keeps(r))
        .cloned()
        .collect();
    let results = vigie_indicators::to_batch(&rows)?;
    let defs: Vec<&IndicatorDef> = rows
        .iter()
        .map(|r| {
            // A disparity row (`<id>__<measure>`) is described by its indicator.
            let id = vigie_indicators::disparity::split_derived(&r.indicator)
                .map_or(r.indicator.as_str(), |(base, _)| base);
            catalogue
                .iter()
                .find(|d| d.meta.id == id)
                .ok_or_else(|| anyhow::anyhow!("{} is not in the catalogue", r.indicator))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, field) in results.schema().fields().iter().enumerate() {
        fields.push(field.as_ref().clone());
        columns.push(results.column(i).clone());
        if field.name() == "indicator" {
            for (name, of) in CATALOGUE_COLUMNS {
                fields.push(Field::new(name, DataType::Utf8, false));
                columns.push(Arc::new(StringArray::from_iter_values(
                    defs.iter().map(|d| of(d)),
                )));
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Export file formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header line (suppressed numbers are empty fields).
    Csv,
    /// Apache Parquet (zstd).
    Parquet,
    /// A JSON array of objects (suppressed numbers are null).
    Json,
}

/// Writes the batch to `out` in `format`.
pub fn write(batch: &RecordBatch, format: ExportFormat, out: &Path) -> anyhow::Result<()> {
    let schema = batch.schema();
    let batches = std::slice::from_ref(batch);
    match format {
        ExportFormat::Parquet => crate::commands::tabular::write_parquet(out, &schema, batches),
        ExportFormat::Csv => {
            let mut w = crate::commands::tabular::output(Some(out))?;
            crate::commands::tabular::write_csv(&mut w, &schema, batches)?;
            Ok(w.flush()?)
        }
        ExportFormat::Json => {
            let mut w = crate::commands::tabular::output(Some(out))?;
            crate::commands::tabular::write_json(&mut w, batches)?;
            Ok(w.flush()?)
        }
    }
}
