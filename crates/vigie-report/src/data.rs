//! What a report reads: the published results (through the disclosure gate) and the load
//! manifest, with the look-ups the reports need.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use vigie_disclosure::{DisclosureConfig, Lang, OrgLevel, SuppressionReason, publishable_count};
use vigie_indicators::{
    IndicatorDef, IndicatorResult, PeriodType, Role, published_results, with_role,
};
use vigie_warehouse::{FileStatus, ManifestEntry, Warehouse};

use crate::format;
use crate::period::{Period, PeriodKind};
use crate::{ReportError, i18n};

/// The region's org unit code and the total stratum, as the gate defines them.
pub use vigie_disclosure::{ALL, REGION};

// The string-typed fields of a result row are read here only, so that typing them changes
// these few functions.

/// Whether a row covers the whole data span (program evaluation, data quality).
pub fn is_span(r: &IndicatorResult) -> bool {
    r.period_type == PeriodType::Span
}

/// Whether a row is a team's (not the region's).
pub fn is_team(r: &IndicatorResult) -> bool {
    r.org_level == OrgLevel::Team
}

/// Whether a row's period is of `kind`.
pub fn is_of_kind(r: &IndicatorResult, kind: PeriodKind) -> bool {
    r.period_type == crate::period::result_period_type(kind)
}

/// Whether a row is monthly.
pub fn is_monthly(r: &IndicatorResult) -> bool {
    is_of_kind(r, PeriodKind::Month)
}

/// Published results and the manifest.
pub struct Data {
    /// Every published row (suppressed rows carry no numbers).
    pub rows: Vec<IndicatorResult>,
    /// Every committed manifest entry.
    pub manifest: Vec<ManifestEntry>,
    /// Team codes with results.
    pub teams: Vec<String>,
    /// The wording and top box of survey items, by code.
    pub survey: crate::survey::SurveyItems,
    /// The equity strata and the pipeline's equity settings.
    pub equity: crate::equity::EquityConfig,
}

impl Data {
    /// Reads the published results and the manifest.
    pub async fn load(
        warehouse: &Warehouse,
        catalogue: &[IndicatorDef],
        cfg: &DisclosureConfig,
    ) -> Result<Data, ReportError> {
        let rows = published_results(warehouse, catalogue, cfg).await?;
        if rows.is_empty() {
            return Err(ReportError::NoResults);
        }
        let manifest = warehouse.manifest(None).await.unwrap_or_default();
        let teams: BTreeSet<String> = rows
            .iter()
            .filter(|r| is_team(r))
            .map(|r| r.org_unit.clone())
            .collect();
        Ok(Data {
            rows,
            manifest,
            teams: teams.into_iter().collect(),
            survey: Default::default(),
            equity: crate::equity::EquityConfig::built_in(),
        })
    }

    /// Fails unless some non-span indicator has results in `period`.
    pub fn check_period(&self, period: &Period) -> Result<(), ReportError> {
        let any = self
            .rows
            .iter()
            .any(|r| !is_span(r) && period.overlaps(r.period_start, r.period_end));
        if any {
            return Ok(());
        }
        let mut available = BTreeSet::new();
        for r in self.rows.iter().filter(|r| !is_span(r)) {
            let start = match period.kind {
                PeriodKind::Month if is_monthly(r) => r.period_start,
                PeriodKind::Month => continue,
                PeriodKind::Quarter => NaiveDate::from_ymd_opt(
                    chrono::Datelike::year(&r.period_start),
                    (format::quarter_of(r.period_start) - 1) * 3 + 1,
                    1,
                )
                .unwrap_or(r.period_start),
                PeriodKind::Year => {
                    NaiveDate::from_ymd_opt(chrono::Datelike::year(&r.period_start), 1, 1)
                        .unwrap_or(r.period_start)
                }
            };
            available.insert(Period::new(period.kind, start).code());
        }
        let available: Vec<String> = available.into_iter().collect();
        let available = if available.len() > 8 {
            vec![format!(
                "{} to {} ({} periods)",
                available[0],
                available[available.len() - 1],
                available.len()
            )]
        } else {
            available
        };
        Err(ReportError::NoDataForPeriod {
            period: period.code(),
            available,
        })
    }

    /// The row of `indicator` for `unit` and stratum, in the latest of its periods that
    /// overlaps `period` (the month, the quarter containing it, or the span).
    pub fn find(
        &self,
        indicator: &str,
        unit: &str,
        dim: &str,
        value: &str,
        period: &Period,
    ) -> Option<&IndicatorResult> {
        self.rows
            .iter()
            .filter(|r| {
                r.indicator == indicator
                    && r.org_unit == unit
                    && r.stratum_dimension == dim
                    && r.stratum_value == value
                    && (is_span(r) || period.overlaps(r.period_start, r.period_end))
            })
            .max_by_key(|r| r.period_start)
    }

    /// A program-evaluation row: the total stratum, or the first program's.
    pub fn find_eval(
        &self,
        indicator: &str,
        unit: &str,
        period: &Period,
    ) -> Option<&IndicatorResult> {
        self.find(indicator, unit, ALL, ALL, period).or_else(|| {
            self.rows
                .iter()
                .filter(|r| {
                    r.indicator == indicator
                        && r.org_unit == unit
                        && r.stratum_dimension == "program"
                        && (is_span(r) || period.overlaps(r.period_start, r.period_end))
                })
                .min_by(|a, b| {
                    (&a.stratum_value, std::cmp::Reverse(a.period_start))
                        .cmp(&(&b.stratum_value, std::cmp::Reverse(b.period_start)))
                })
        })
    }

    /// The series of `indicator` for `unit` and stratum up to (and including) `until`.
    pub fn series(
        &self,
        indicator: &str,
        unit: &str,
        dim: &str,
        value: &str,
        period_type: PeriodType,
        until: NaiveDate,
    ) -> Vec<&IndicatorResult> {
        let mut out: Vec<&IndicatorResult> = self
            .rows
            .iter()
            .filter(|r| {
                r.indicator == indicator
                    && r.org_unit == unit
                    && r.stratum_dimension == dim
                    && r.stratum_value == value
                    && r.period_type == period_type
                    && r.period_start <= until
            })
            .collect();
        out.sort_by_key(|r| r.period_start);
        out
    }

    /// The row of the period just before `row`'s, same indicator, unit and stratum.
    pub fn previous(&self, row: &IndicatorResult) -> Option<&IndicatorResult> {
        self.rows
            .iter()
            .filter(|r| {
                r.indicator == row.indicator
                    && r.org_unit == row.org_unit
                    && r.stratum_dimension == row.stratum_dimension
                    && r.stratum_value == row.stratum_value
                    && r.period_type == row.period_type
                    && r.period_start < row.period_start
            })
            .max_by_key(|r| r.period_start)
    }

    /// Every team's row for the same indicator, period and stratum as `row`.
    pub fn peers(&self, row: &IndicatorResult) -> Vec<&IndicatorResult> {
        let mut out: Vec<&IndicatorResult> = self
            .rows
            .iter()
            .filter(|r| {
                r.indicator == row.indicator
                    && is_team(r)
                    && r.stratum_dimension == row.stratum_dimension
                    && r.stratum_value == row.stratum_value
                    && r.period_type == row.period_type
                    && r.period_start == row.period_start
            })
            .collect();
        out.sort_by(|a, b| a.org_unit.cmp(&b.org_unit));
        out
    }

    /// The start of the latest period of `kind` with results.
    pub fn latest_start(&self, kind: PeriodKind) -> Option<NaiveDate> {
        self.rows
            .iter()
            .filter(|r| is_of_kind(r, kind))
            .map(|r| r.period_start)
            .max()
    }

    /// The region's row of the same indicator, period and stratum as a team's `row`, when
    /// some team has a row there too (the centre of a funnel plot).
    pub fn region_of(&self, row: &IndicatorResult) -> Option<&IndicatorResult> {
        self.peers(row).first()?;
        self.rows.iter().find(|r| {
            r.indicator == row.indicator
                && r.org_unit == REGION
                && r.stratum_dimension == row.stratum_dimension
                && r.stratum_value == row.stratum_value
                && r.period_type == row.period_type
                && r.period_start == row.period_start
        })
    }

    /// When the results were computed (the "data as of" date of a report).
    pub fn computed_at(&self) -> Option<DateTime<Utc>> {
        self.rows.iter().map(|r| r.computed_at).max()
    }

    /// Coverage per partner source, from the manifest; a source's rejected count is withheld
    /// when the gate suppressed its row of the `rejected_rows` indicator.
    pub fn coverage(
        &self,
        catalogue: &[IndicatorDef],
        cfg: &DisclosureConfig,
        lang: Lang,
        notes: &mut Notes,
    ) -> Vec<SourceRow> {
        let mut by: BTreeMap<&str, Vec<&ManifestEntry>> = BTreeMap::new();
        for e in &self.manifest {
            by.entry(e.source.as_str()).or_default().push(e);
        }
        let as_of = self.computed_at();
        let rejected_rows = with_role(catalogue, Role::RejectedRows).map(|m| m.id.as_str());
        by.into_iter()
            .map(|(source, entries)| {
                let read: u64 = entries.iter().map(|e| e.rows_read).sum();
                let accepted: u64 = entries.iter().map(|e| e.rows_accepted).sum();
                let rejected: u64 = entries.iter().map(|e| e.rows_rejected).sum();
                let last = entries
                    .iter()
                    .filter(|e| e.status == FileStatus::Loaded)
                    .map(|e| e.finished_at)
                    .max();
                let rows_read = notes.count(read, cfg, lang);
                // The gate's verdict on this source's rejected rows (primary or complementary)
                // holds for the same count taken from the manifest.
                let gated = self.rows.iter().find(|r| {
                    Some(r.indicator.as_str()) == rejected_rows
                        && r.org_unit == REGION
                        && r.stratum_dimension == "source"
                        && r.stratum_value == source
                        && r.is_suppressed()
                });
                let rows_rejected = match gated {
                    Some(r) => {
                        let why = reason(r);
                        notes.used.insert(why);
                        Counted {
                            text: format::DASH.to_string(),
                            value: None,
                            mark: Some(mark(why)),
                        }
                    }
                    None => notes.count(rejected, cfg, lang),
                };
                // Accepted = read - rejected: withheld with a withheld rejected count.
                let rows_accepted = if rows_rejected.value.is_none() {
                    notes.complementary();
                    Counted {
                        text: format::DASH.to_string(),
                        value: None,
                        mark: Some(mark(SuppressionReason::Complementary)),
                    }
                } else {
                    notes.count(accepted, cfg, lang)
                };
                let accepted_pct =
                    (read > 0 && rows_accepted.value.is_some() && rows_rejected.value.is_some())
                        .then(|| {
                            #[allow(clippy::cast_precision_loss)]
                            let p = accepted as f64 / read as f64 * 100.0;
                            format::percent(p, 1, lang)
                        });
                SourceRow {
                    source: source.to_string(),
                    rows_read,
                    rows_accepted,
                    rows_rejected,
                    accepted_pct: accepted_pct.unwrap_or_else(|| format::DASH.to_string()),
                    last_load: last
                        .map(|t| format::date(t.date_naive(), lang))
                        .unwrap_or_else(|| format::DASH.to_string()),
                    days_since: match (last, as_of) {
                        (Some(l), Some(a)) => {
                            let days = (a.date_naive() - l.date_naive()).num_days().max(0);
                            format::number(days as f64, 0, lang)
                        }
                        _ => format::DASH.to_string(),
                    },
                }
            })
            .collect()
    }
}

/// Coverage of one partner source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    /// Source id.
    pub source: String,
    /// Rows read.
    pub rows_read: Counted,
    /// Rows accepted.
    pub rows_accepted: Counted,
    /// Rows rejected (quarantined).
    pub rows_rejected: Counted,
    /// Accepted / read.
    pub accepted_pct: String,
    /// Date of the last load.
    pub last_load: String,
    /// Days from the last load to the computation of the results.
    pub days_since: String,
}

/// A free-standing count as shown: its text, and its value when publishable.
#[derive(Debug, Clone, Serialize)]
pub struct Counted {
    /// The number, or "—".
    pub text: String,
    /// The count (None when withheld).
    pub value: Option<u64>,
    /// Footnote mark when withheld.
    pub mark: Option<&'static str>,
}

/// A footnote used in the report.
#[derive(Debug, Clone, Serialize)]
pub struct Footnote {
    /// Mark.
    pub mark: &'static str,
    /// Text.
    pub text: String,
}

/// The footnotes a report uses, and its withheld cells.
#[derive(Debug, Default)]
pub struct Notes {
    used: BTreeSet<SuppressionReason>,
    /// Suppressed cells shown in the report: (indicator name, unit, period, stratum, reason).
    pub suppressed: Vec<SuppressedCell>,
}

/// A suppressed cell listed in the data notes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct SuppressedCell {
    /// Indicator name.
    pub indicator: String,
    /// Org unit label.
    pub unit: String,
    /// Period label.
    pub period: String,
    /// Stratum label ("" for the total).
    pub stratum: String,
    /// Footnote mark.
    pub mark: &'static str,
}

/// Mark of a suppression reason.
pub fn mark(reason: SuppressionReason) -> &'static str {
    match reason {
        SuppressionReason::SmallCount => "a",
        SuppressionReason::BelowMinimumDenominator => "b",
        SuppressionReason::Complementary => "c",
        SuppressionReason::SuppressedInput => "d",
    }
}

/// The reason of a suppressed row.
/// Only called on suppressed rows; a row without a reason gets the primary one.
pub fn reason(row: &IndicatorResult) -> SuppressionReason {
    row.suppression_reason
        .unwrap_or(SuppressionReason::SmallCount)
}

impl Notes {
    /// Records a suppressed row shown in the report; returns its mark.
    pub fn suppressed(
        &mut self,
        row: &IndicatorResult,
        name: &str,
        unit: &str,
        lang: Lang,
    ) -> &'static str {
        let r = reason(row);
        self.used.insert(r);
        let cell = SuppressedCell {
            indicator: name.to_string(),
            unit: unit.to_string(),
            period: format::period_of(row.period_type, row.period_start, row.period_end, lang),
            stratum: if row.stratum_dimension == ALL {
                String::new()
            } else {
                row.stratum_value.clone()
            },
            mark: mark(r),
        };
        if !self.suppressed.contains(&cell) {
            self.suppressed.push(cell);
        }
        mark(r)
    }

    /// Records a complementary suppression of a free-standing count.
    pub fn complementary(&mut self) {
        self.used.insert(SuppressionReason::Complementary);
    }

    /// A free-standing count, through `publishable_count`.
    pub fn count(&mut self, n: u64, cfg: &DisclosureConfig, lang: Lang) -> Counted {
        match publishable_count(n, cfg) {
            Some(v) => Counted {
                text: format::count(v, lang),
                value: Some(v),
                mark: None,
            },
            None => {
                self.used.insert(SuppressionReason::SmallCount);
                Counted {
                    text: format::DASH.to_string(),
                    value: None,
                    mark: Some(mark(SuppressionReason::SmallCount)),
                }
            }
        }
    }

    /// The footnotes used, in mark order, with the disclosure crate's text.
    pub fn footnotes(&self, cfg: &DisclosureConfig, lang: Lang) -> Vec<Footnote> {
        self.used
            .iter()
            .map(|r| Footnote {
                mark: mark(*r),
                text: r.footnote(lang, cfg),
            })
            .collect()
    }

    /// The suppressed cells, sorted.
    pub fn suppressed_cells(&self) -> Vec<SuppressedCell> {
        let mut v = self.suppressed.clone();
        v.sort();
        v
    }
}

/// The name of a team or of the region for a reader.
pub fn unit_label(unit: &str, lang: Lang) -> String {
    if unit == REGION {
        i18n::text("region", lang).to_string()
    } else {
        match lang {
            Lang::Fr => format!("Équipe {unit}"),
            Lang::En => format!("Team {unit}"),
        }
    }
}
