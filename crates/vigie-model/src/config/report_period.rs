//! The period a report is asked for, parsed in one place for the pipeline file
//! (`outputs.reports[].period`) and the command line (`vigie report --period`).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

/// Kind of calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodKind {
    /// A calendar month (`2025-07`).
    Month,
    /// A calendar quarter (`2025Q3`).
    Quarter,
    /// A calendar year (`2025`).
    Year,
}

impl PeriodKind {
    /// Length in months.
    pub fn months(self) -> u32 {
        match self {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        }
    }
}

/// One calendar month, quarter or year, named by its kind and first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CalendarPeriod {
    kind: PeriodKind,
    start: NaiveDate,
}

impl CalendarPeriod {
    /// The period of `kind` that contains `day`.
    pub fn containing(kind: PeriodKind, day: NaiveDate) -> CalendarPeriod {
        let month = match kind {
            PeriodKind::Month => day.month(),
            PeriodKind::Quarter => (day.month() - 1) / 3 * 3 + 1,
            PeriodKind::Year => 1,
        };
        CalendarPeriod {
            kind,
            start: NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day),
        }
    }

    /// Month, quarter or year.
    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// Its first day.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// As written in the configuration: `2025-07`, `2025Q3`, `2025`.
    pub fn code(&self) -> String {
        let y = self.start.year();
        match self.kind {
            PeriodKind::Month => format!("{y}-{:02}", self.start.month()),
            PeriodKind::Quarter => format!("{y}Q{}", (self.start.month() - 1) / 3 + 1),
            PeriodKind::Year => y.to_string(),
        }
    }
}

impl fmt::Display for CalendarPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// A period that is not written in one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period \"{input}\": {message}")]
pub struct PeriodError {
    /// What was given.
    pub input: String,
    /// What is wrong and what is expected.
    pub message: String,
}

const EXPECTED: &str = "expected latest_quarter, latest_year, a quarter (2025Q3), a month (2025-07) or a year (2025) / attendu : latest_quarter, latest_year, un trimestre (2025Q3), un mois (2025-07) ou une année (2025)";

impl FromStr for CalendarPeriod {
    type Err = PeriodError;

    /// `2025Q3` (also `2025-Q3`, `2025q3`), `2025-07` (also `2025-7`), or `2025`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| PeriodError {
            input: input.to_string(),
            message: if why.is_empty() {
                EXPECTED.to_string()
            } else {
                format!("{why}; {EXPECTED}")
            },
        };
        let year = |y: &str| -> Result<i32, PeriodError> {
            if y.len() != 4 || !y.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid(""));
            }
            y.parse::<i32>().map_err(|_| invalid(""))
        };
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| invalid(""));
        let s = input.trim();
        let upper = s.to_ascii_uppercase();
        if let Some((y, q)) = upper.split_once('Q') {
            let y = year(y.strip_suffix('-').unwrap_or(y))?;
            let q: u32 = q
                .parse()
                .map_err(|_| invalid("the quarter must be Q1 to Q4"))?;
            if !(1..=4).contains(&q) {
                return Err(invalid(&format!("the quarter must be Q1 to Q4, not Q{q}")));
            }
            return Ok(CalendarPeriod {
                kind: PeriodKind::Quarter,
                start: first(y, (q - 1) * 3 + 1)?,
            });
        }
        if let Some((y, m)) = s.split_once('-') {
            let y = year(y)?;
            let m: u32 = m
                .parse()
                .map_err(|_| invalid("the month must be 01 to 12"))?;
            if !(1..=12).contains(&m) {
                return Err(invalid(&format!("the month must be 01 to 12, not {m}")));
            }
            return Ok(CalendarPeriod {
                kind: PeriodKind::Month,
                start: first(y, m)?,
            });
        }
        Ok(CalendarPeriod {
            kind: PeriodKind::Year,
            start: first(year(s)?, 1)?,
        })
    }
}

/// The period a report covers: the latest one with results, or a fixed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReportPeriod {
    /// The latest quarter with published results (`latest_quarter`, the default).
    #[default]
    LatestQuarter,
    /// The latest year with published results (`latest_year`).
    LatestYear,
    /// A fixed month, quarter or year (`2025-07`, `2025Q3`, `2025`).
    Fixed(CalendarPeriod),
}

impl FromStr for ReportPeriod {
    type Err = PeriodError;

    /// `latest_quarter`, `latest_year` (any case), or a [`CalendarPeriod`].
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.trim().to_ascii_lowercase().as_str() {
            "latest_quarter" => Ok(ReportPeriod::LatestQuarter),
            "latest_year" => Ok(ReportPeriod::LatestYear),
            _ => input.parse().map(ReportPeriod::Fixed),
        }
    }
}

impl fmt::Display for ReportPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportPeriod::LatestQuarter => f.write_str("latest_quarter"),
            ReportPeriod::LatestYear => f.write_str("latest_year"),
            ReportPeriod::Fixed(p) => p.fmt(f),
        }
    }
}

impl<'de> Deserialize<'de> for ReportPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A bare year is a YAML number: accept it as written.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Year(i64),
        }
        let text = match Repr::deserialize(d)? {
            Repr::Text(s) => s,
            Repr::Year(y) => y.to_string(),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn fixed(s: &str) -> CalendarPeriod {
        s.parse().expect(s)
    }

    #[test]
    fn parses_quarters_months_and_years() {
        let q = fixed("2025Q3");
        assert_eq!((q.kind(), q.start()), (PeriodKind::Quarter, d(2025, 7, 1)));
        assert_eq!(fixed("2025-q4").start(), d(2025, 10, 1));
        assert_eq!(fixed("2025-Q4"), fixed("2025Q4"));
        let m = fixed("2025-09");
        assert_eq!((m.kind(), m.start()), (PeriodKind::Month, d(2025, 9, 1)));
        assert_eq!(fixed("2025-9"), m);
        let y = fixed("2025");
        assert_eq!((y.kind(), y.start()), (PeriodKind::Year, d(2025, 1, 1)));
        assert_eq!(q.code(), "2025Q3");
        assert_eq!(m.code(), "2025-09");
        assert_eq!(y.code(), "2025");
        assert_eq!(
            CalendarPeriod::containing(PeriodKind::Quarter, d(2025, 8, 17)),
            q
        );
    }

    #[test]
    fn report_periods_accept_latest_and_fixed_forms() {
        assert_eq!("latest_quarter".parse(), Ok(ReportPeriod::LatestQuarter));
        assert_eq!("Latest_Year".parse(), Ok(ReportPeriod::LatestYear));
        // The pipeline file and the command line accept the same forms, months included.
        assert_eq!("2025-09".parse(), Ok(ReportPeriod::Fixed(fixed("2025-09"))));
        assert_eq!(ReportPeriod::Fixed(fixed("2025Q3")).to_string(), "2025Q3");
        let v: Vec<ReportPeriod> =
            serde_yaml::from_str("[latest_year, 2025, \"2025Q3\", 2025-09]").expect("yaml");
        assert_eq!(
            v,
            vec![
                ReportPeriod::LatestYear,
                ReportPeriod::Fixed(fixed("2025")),
                ReportPeriod::Fixed(fixed("2025Q3")),
                ReportPeriod::Fixed(fixed("2025-09")),
            ]
        );
    }

    #[test]
    fn rejects_with_clear_errors() {
        for bad in [
            "2025Q5", "2025Q0", "2025-13", "25Q3", "Q3", "", "2025/07", "abcd", "latest",
        ] {
            let e = bad.parse::<ReportPeriod>().expect_err(bad).to_string();
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
            assert!(
                e.contains("2025Q3"),
                "the error shows the expected forms: {e}"
            );
        }
        let q5 = "2025Q5".parse::<CalendarPeriod>().expect_err("q5");
        assert!(q5.to_string().contains("Q1 to Q4"), "{q5}");
        let m13 = "2025-13".parse::<CalendarPeriod>().expect_err("m13");
        assert!(m13.to_string().contains("01 to 12"), "{m13}");
    }
}
