//! Replacement guards: a file that would remove data it was not clearly meant to remove is
//! held — nothing in the warehouse changes — until a person releases or discards it
//! (`vigie held`). A `replace` file is held when it has no accepted record but would
//! remove rows (a header-only snapshot, every card number mangled), or when it would
//! shrink the rows it replaces by more than its source's threshold (per month for
//! `period: month`, for the whole source for `period: all`); so is an `append` file sent
//! again under its name, against the rows its earlier version loaded. Any file whose rejected share
//! is above the threshold is held too: much of it would be lost. Changes of fewer than
//! `guards.min_rows` records never hold a file.

use std::collections::{BTreeSet, HashMap};

use datafusion::prelude::SessionContext;
use vigie_ingest::FileOutcome;
use vigie_model::Entity;
use vigie_model::config::{DeclaredPeriod, LoadMode, ReplacePeriod, SourceSpec};

use crate::error::PipelineError;

/// Rows per (table, source, month) of the `replace` sources — month `None` for a source
/// replaced whole — as the warehouse holds them, then as each applied file leaves them; and
/// per (table, source, file) the rows an earlier version of each `append` file to load left
/// (a file sent again under its name replaces them).
#[derive(Debug, Default)]
pub(crate) struct ReplacedRows(
    HashMap<(&'static str, String, Option<String>), u64>,
    HashMap<(&'static str, String, String), u64>,
);

impl ReplacedRows {
    /// Counts the rows of every `replace` source in the warehouse snapshot of `ctx` that the
    /// files to load may replace: for a source replaced by month, the months in
    /// `declared_months` (what its files' names declare: the only months [`Self::changes`]
    /// compares), and rows without a month. A weekly load replacing one month of a
    /// hospital's three years read the other 35 months' partitions too (0.5-0.9 s at
    /// province scale).
    pub async fn read(
        ctx: &SessionContext,
        sources: &[&SourceSpec],
        declared_months: &HashMap<String, BTreeSet<String>>,
        appended_files: &HashMap<String, BTreeSet<String>>,
    ) -> Result<Self, PipelineError> {
        let mut rows = ReplacedRows::default();
        for source in sources {
            let LoadMode::Replace { period } = source.load else {
                rows.read_appended(ctx, source, appended_files).await?;
                continue;
            };
            for entity in entities_of(source) {
                let table = entity.table_name();
                let by_month =
                    period == ReplacePeriod::Month && entity.event_date_field().is_some();
                let sql = if by_month {
                    let months: Vec<String> = declared_months
                        .get(&source.source)
                        .into_iter()
                        .flatten()
                        .map(|m| quote(m))
                        .collect();
                    let months = if months.is_empty() {
                        "event_month IS NULL".to_string()
                    } else {
                        format!(
                            "(event_month IN ({}) OR event_month IS NULL)",
                            months.join(", ")
                        )
                    };
                    format!(
                        "SELECT event_month, count(*) FROM {table} WHERE _source = {} AND {months} \
                         GROUP BY event_month",
                        quote(&source.source)
                    )
                } else {
                    format!(
                        "SELECT CAST(NULL AS VARCHAR), count(*) FROM {table} WHERE _source = {}",
                        quote(&source.source)
                    )
                };
                for (month, n) in counts_by(ctx, &sql).await? {
                    rows.0.insert((table, source.source.clone(), month), n);
                }
            }
        }
        Ok(rows)
    }

    /// The rows the earlier versions of `source`'s files to load (an `append` source's)
    /// left in each of its tables.
    async fn read_appended(
        &mut self,
        ctx: &SessionContext,
        source: &SourceSpec,
        appended_files: &HashMap<String, BTreeSet<String>>,
    ) -> Result<(), PipelineError> {
        let Some(files) = appended_files.get(&source.source).filter(|f| !f.is_empty()) else {
            return Ok(());
        };
        let files: Vec<String> = files.iter().map(|f| quote(f)).collect();
        for entity in entities_of(source) {
            let table = entity.table_name();
            let sql = format!(
                "SELECT _file, count(*) FROM {table} WHERE _source = {} AND _file IN ({}) \
                 GROUP BY _file",
                quote(&source.source),
                files.join(", ")
            );
            for (file, n) in counts_by(ctx, &sql).await? {
                if let Some(file) = file {
                    self.1.insert((table, source.source.clone(), file), n);
                }
            }
        }
        Ok(())
    }

    /// Why `outcome`, of the landing file `file`, must be held, in words with the figures
    /// (None: apply it).
    pub fn hold_reason(
        &self,
        source: &SourceSpec,
        period: Option<&DeclaredPeriod>,
        file: &str,
        outcome: &FileOutcome,
    ) -> Option<String> {
        let guards = source.guards;
        let mut reasons = Vec::new();
        let scopes: Vec<(Entity, Option<String>, u64, u64)> = match source.load {
            LoadMode::Replace { period: mode } => entities_of(source)
                .into_iter()
                .flat_map(|entity| {
                    self.changes(source, mode, entity, period, outcome)
                        .into_iter()
                        .map(move |(month, old, new)| (entity, month, old, new))
                })
                .collect(),
            // A file sent again under its name replaces what its earlier version loaded.
            LoadMode::Append => entities_of(source)
                .into_iter()
                .map(|entity| {
                    let (old, new) = self.file_change(source, entity, file, outcome);
                    (entity, Some(format!("(file {file})")), old, new)
                })
                .collect(),
        };
        let replaced: u64 = scopes.iter().map(|(_, _, old, _)| old).sum();
        if outcome.rows_accepted == 0 && replaced > 0 {
            reasons.push(if outcome.rows_read == 0 {
                format!("the file holds no records (header only) and would remove the {replaced} rows it replaces")
            } else {
                format!(
                    "no record accepted ({} read, all rejected): it would remove the {replaced} rows it replaces",
                    outcome.rows_read
                )
            });
        }
        if outcome.rows_read > 0 && outcome.rows_rejected >= guards.min_rows {
            let share = 100.0 * outcome.rows_rejected as f64 / outcome.rows_read as f64;
            // A file whose records were all rejected is held too (it replaces nothing, or
            // the reason above says what it would remove): loaded, it left its months empty
            // with the run's exit saying all went well.
            let said_above = outcome.rows_accepted == 0 && replaced > 0;
            if share > guards.max_rejected_pct && !said_above {
                reasons.push(format!(
                    "{} of {} records rejected ({share:.1}%, above the source's guards.max_rejected_pct of {}%)",
                    outcome.rows_rejected, outcome.rows_read, guards.max_rejected_pct
                ));
            }
        }
        if outcome.rows_accepted > 0 {
            for (entity, month, old, new) in scopes {
                if old == 0 || old < new + guards.min_rows {
                    continue;
                }
                let shrink = 100.0 * (old as f64 - new as f64) / old as f64;
                if shrink > guards.max_shrink_pct {
                    let scope = month.map(|m| format!(" {m}")).unwrap_or_default();
                    reasons.push(format!(
                        "{}{scope}: {old} rows would become {new} (-{shrink:.0}%, above the source's guards.max_shrink_pct of {}%)",
                        entity.table_name(),
                        guards.max_shrink_pct
                    ));
                }
            }
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    /// Records that `outcome`, of the landing file `file`, was applied: what it replaced
    /// now holds its rows.
    pub fn apply(
        &mut self,
        source: &SourceSpec,
        period: Option<&DeclaredPeriod>,
        file: &str,
        outcome: &FileOutcome,
    ) {
        let LoadMode::Replace { period: mode } = source.load else {
            for entity in entities_of(source) {
                let (_, new) = self.file_change(source, entity, file, outcome);
                self.1.insert(
                    (entity.table_name(), source.source.clone(), file.to_string()),
                    new,
                );
            }
            return;
        };
        for entity in entities_of(source) {
            for (month, _, new) in self.changes(source, mode, entity, period, outcome) {
                self.0
                    .insert((entity.table_name(), source.source.clone(), month), new);
            }
        }
    }

    /// (rows an earlier version of `file` left in `entity`'s table, rows after it).
    fn file_change(
        &self,
        source: &SourceSpec,
        entity: Entity,
        file: &str,
        outcome: &FileOutcome,
    ) -> (u64, u64) {
        let old = self
            .1
            .get(&(entity.table_name(), source.source.clone(), file.to_string()))
            .copied()
            .unwrap_or(0);
        let new = outcome.entities.get(&entity).map_or(0, |b| b.rows);
        (old, new)
    }

    /// (month, rows now, rows after the file) for every scope the file replaces.
    fn changes(
        &self,
        source: &SourceSpec,
        mode: ReplacePeriod,
        entity: Entity,
        period: Option<&DeclaredPeriod>,
        outcome: &FileOutcome,
    ) -> Vec<(Option<String>, u64, u64)> {
        let table = entity.table_name();
        let batches = outcome.entities.get(&entity);
        let old = |month: Option<String>| {
            self.0
                .get(&(table, source.source.clone(), month))
                .copied()
                .unwrap_or(0)
        };
        match (mode, period) {
            (ReplacePeriod::Month, Some(period)) if entity.event_date_field().is_some() => period
                .month_keys()
                .into_iter()
                .map(|m| {
                    let new = batches
                        .and_then(|b| b.month_rows.get(&m).copied())
                        .unwrap_or(0);
                    (Some(m.clone()), old(Some(m)), new)
                })
                .collect(),
            _ => vec![(None, old(None), batches.map_or(0, |b| b.rows))],
        }
    }
}

/// The rows of `sql` (a key as text, possibly null, and a count), as (key, count).
async fn counts_by(
    ctx: &SessionContext,
    sql: &str,
) -> Result<Vec<(Option<String>, u64)>, PipelineError> {
    use arrow::array::{Array, AsArray};
    let batches = ctx
        .sql(sql)
        .await
        .map_err(query_err)?
        .collect()
        .await
        .map_err(query_err)?;
    let mut out = Vec::new();
    for b in batches {
        let key = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
            .map_err(arrow_err)?;
        let key = key.as_string::<i32>();
        let n = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Int64)
            .map_err(arrow_err)?;
        let n = n.as_primitive::<arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            let k = (!key.is_null(i)).then(|| key.value(i).to_string());
            out.push((k, n.value(i).max(0) as u64));
        }
    }
    Ok(out)
}

/// Every entity a source feeds.
pub(crate) fn entities_of(source: &SourceSpec) -> std::collections::BTreeSet<Entity> {
    source
        .outputs()
        .into_iter()
        .map(|(_, o)| o.entity)
        .collect()
}

pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) fn query_err(e: datafusion::error::DataFusionError) -> PipelineError {
    vigie_warehouse::WarehouseError::Query(e).into()
}

pub(crate) fn arrow_err(e: arrow::error::ArrowError) -> PipelineError {
    vigie_warehouse::WarehouseError::Arrow(e).into()
}

#[cfg(test)]
mod tests;
