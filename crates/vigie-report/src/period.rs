//! The reporting period a report is asked for: a month, a quarter or a year.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use vigie_disclosure::Lang;

use crate::ReportError;
use crate::format;

/// Kind of reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    /// A calendar month (`2025-07`).
    Month,
    /// A calendar quarter (`2025Q3`).
    Quarter,
    /// A calendar year (`2025`).
    Year,
}

impl PeriodKind {
    /// Name in `indicator_results.period_type`.
    pub fn period_type(self) -> &'static str {
        match self {
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    fn months(self) -> u32 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }
}

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

const EXPECTED: &str = "a quarter (2025Q3), a month (2025-07) or a year (2025)";

/// Parses a reporting period: `2025Q3` (also `2025-Q3`, `2025q3`), `2025-07`, or `2025`.
pub fn parse_period(input: &str) -> Result<Period, ReportError> {
    let s = input.trim();
    let invalid = |why: String| ReportError::InvalidPeriod {
        input: input.to_string(),
        message: why,
    };
    let year = |y: &str| -> Result<i32, ReportError> {
        if y.len() != 4 || !y.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(format!("expected {EXPECTED}")));
        }
        y.parse::<i32>()
            .map_err(|_| invalid(format!("expected {EXPECTED}")))
    };
    let first = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| invalid(format!("expected {EXPECTED}")))
    };
    let upper = s.to_ascii_uppercase();
    if let Some((y, q)) = upper.split_once('Q') {
        let y = year(y.trim_end_matches('-'))?;
        let q: u32 = q
            .parse()
            .map_err(|_| invalid(format!("the quarter must be Q1 to Q4; expected {EXPECTED}")))?;
        if !(1..=4).contains(&q) {
            return Err(invalid(format!(
                "the quarter must be Q1 to Q4, not Q{q}; expected {EXPECTED}"
            )));
        }
        return Ok(Period::new(PeriodKind::Quarter, first(y, (q - 1) * 3 + 1)?));
    }
    if let Some((y, m)) = s.split_once('-') {
        let y = year(y)?;
        let m: u32 = m
            .parse()
            .map_err(|_| invalid(format!("the month must be 01 to 12; expected {EXPECTED}")))?;
        if !(1..=12).contains(&m) {
            return Err(invalid(format!(
                "the month must be 01 to 12, not {m}; expected {EXPECTED}"
            )));
        }
        return Ok(Period::new(PeriodKind::Month, first(y, m)?));
    }
    Ok(Period::new(PeriodKind::Year, first(year(s)?, 1)?))
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
    fn rejects_with_clear_errors() {
        for bad in [
            "2025Q5", "2025Q0", "2025-13", "25Q3", "Q3", "", "2025/07", "abcd",
        ] {
            let e = parse_period(bad).expect_err(bad).to_string();
            assert!(e.contains(bad), "{e}");
            assert!(
                e.contains("2025Q3"),
                "the error shows the expected forms: {e}"
            );
        }
        assert!(
            parse_period("2025Q5")
                .expect_err("q5")
                .to_string()
                .contains("Q1 to Q4")
        );
        assert!(
            parse_period("2025-13")
                .expect_err("m13")
                .to_string()
                .contains("01 to 12")
        );
    }
}
