//! The reporting period of a report: a month, a quarter or a year, with its first and last
//! day. What a user may write (`latest_quarter`, `2025Q3`, ...) is parsed once, by
//! [`vigie_model::config::ReportPeriod`]; this module resolves it against the results.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use vigie_disclosure::Lang;
use vigie_model::config::CalendarPeriod;
pub use vigie_model::config::PeriodKind;

use crate::ReportError;
use crate::format;

/// A reporting period: first and last day (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Month, quarter or year.
    pub kind: PeriodKind,
    /// First day.
    pub start: NaiveDate,
    /// Last day (inclusive).
    pub end: NaiveDate,
}

impl Period {
    /// The period of `kind` that starts on `start` (the first day of a month).
    pub fn new(kind: PeriodKind, start: NaiveDate) -> Period {
        let next = start
            .checked_add_months(Months::new(kind.months()))
            .unwrap_or(start);
        Period {
            kind,
            start,
            end: next.pred_opt().unwrap_or(next),
        }
    }

    /// The period just before this one.
    pub fn previous(&self) -> Period {
        let start = self
            .start
            .checked_sub_months(Months::new(self.kind.months()))
            .unwrap_or(self.start);
        Period::new(self.kind, start)
    }

    /// Whether the days `from..=to` overlap this period.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        from <= self.end && to >= self.start
    }

    /// The period as written on the command line: `2025-07`, `2025Q3`, `2025`.
    pub fn code(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{}-{:02}", self.start.year(), self.start.month()),
            PeriodKind::Quarter => {
                format!("{}Q{}", self.start.year(), format::quarter_of(self.start))
            }
            PeriodKind::Year => self.start.year().to_string(),
        }
    }

    /// The period for a reader: "3e trimestre 2025" / "Q3 2025", "juillet 2025", "2025".
    pub fn label(&self, lang: Lang) -> String {
        match self.kind {
            PeriodKind::Month => format::month(self.start, lang),
            PeriodKind::Quarter => format::quarter(self.start, lang),
            PeriodKind::Year => match lang {
                Lang::Fr => format!("année {}", self.start.year()),
                Lang::En => format!("year {}", self.start.year()),
            },
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl From<CalendarPeriod> for Period {
    fn from(p: CalendarPeriod) -> Period {
        Period::new(p.kind(), p.start())
    }
}

/// Parses a fixed period (`2025Q3`, `2025-07`, `2025`) with the configuration's one parser.
pub fn parse_period(input: &str) -> Result<Period, ReportError> {
    input
        .parse::<CalendarPeriod>()
        .map(Period::from)
        .map_err(|e| ReportError::InvalidPeriod {
            input: e.input,
            message: e.message,
        })
}

/// The results' period type of a report period kind.
pub(crate) fn result_period_type(kind: PeriodKind) -> vigie_indicators::PeriodType {
    use vigie_indicators::PeriodType;
    match kind {
        PeriodKind::Month => PeriodType::Month,
        PeriodKind::Quarter => PeriodType::Quarter,
        PeriodKind::Year => PeriodType::Year,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn parses_quarters_months_and_years() {
        let q = parse_period("2025Q3").expect("quarter");
        assert_eq!(
            (q.kind, q.start, q.end),
            (PeriodKind::Quarter, d(2025, 7, 1), d(2025, 9, 30))
        );
        assert_eq!(
            parse_period("2025-q4").expect("quarter").end,
            d(2025, 12, 31)
        );
        let m = parse_period("2025-07").expect("month");
        assert_eq!(
            (m.kind, m.start, m.end),
            (PeriodKind::Month, d(2025, 7, 1), d(2025, 7, 31))
        );
        assert_eq!(parse_period("2024-02").expect("month").end, d(2024, 2, 29));
        let y = parse_period("2025").expect("year");
        assert_eq!(
            (y.kind, y.start, y.end),
            (PeriodKind::Year, d(2025, 1, 1), d(2025, 12, 31))
        );
        assert_eq!(q.code(), "2025Q3");
        assert_eq!(m.code(), "2025-07");
        assert_eq!(q.previous().code(), "2025Q2");
        assert_eq!(
            parse_period("2025Q1").expect("q").previous().code(),
            "2024Q4"
        );
        assert_eq!(q.label(Lang::Fr), "3e trimestre 2025");
        assert_eq!(q.label(Lang::En), "Q3 2025");
    }

    #[test]
    fn errors_come_from_the_one_parser() {
        // The forms and messages are tested with the parser, in vigie-model.
        let e = parse_period("2025Q5").expect_err("q5").to_string();
        assert!(e.contains("2025Q5") && e.contains("Q1 to Q4"), "{e}");
    }
}
