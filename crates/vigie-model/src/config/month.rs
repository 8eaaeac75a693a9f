//! A calendar month written `YYYY-MM`: the pipeline's `indicators.from` and the
//! `--from`/`--to` of `vigie compute`, parsed in one place.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

/// A calendar month (`2025-07`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(NaiveDate);

impl Month {
    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    /// The first day of the next month.
    pub fn next_first_day(self) -> NaiveDate {
        self.0
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(self.0)
    }
}

/// A value that is not a month written `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a month: use YYYY-MM, e.g. 2024-01 / pas un mois : utilisez AAAA-MM, p. ex. 2024-01"
)]
pub struct MonthError(pub String);

impl FromStr for Month {
    type Err = MonthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MonthError(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) || m.is_empty() || m.len() > 2 {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(y, m, 1).map(Month).ok_or_else(bad)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.0.year(), self.0.month())
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_year_and_month() {
        let m: Month = "2025-07".parse().expect("month");
        assert_eq!(
            m.first_day(),
            NaiveDate::from_ymd_opt(2025, 7, 1).expect("d")
        );
        assert_eq!(
            m.next_first_day(),
            NaiveDate::from_ymd_opt(2025, 8, 1).expect("d")
        );
        assert_eq!(m.to_string(), "2025-07");
        assert_eq!("2025-7".parse::<Month>(), Ok(m));
        for bad in [
            "2025",
            "2025-13",
            "2025-00",
            "25-07",
            "2025-07-01",
            "juillet",
            "",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }
}
