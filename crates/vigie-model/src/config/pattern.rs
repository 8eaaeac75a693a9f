//! A source's `files` pattern: a glob over landing-zone keys that may also declare the
//! period each file covers through placeholders in its name — `{yyyy}` (year), `{mm}`
//! (month), `{q}` (quarter): `hospital_a/ed_visits_{yyyy}{mm}.csv`.
//!
//! A `replace` file replaces exactly its declared period, never whatever months its rows
//! happen to fall in: one straggler row from an old month must not wipe that month.

use chrono::{Datelike, NaiveDate};
use globset::{Glob, GlobMatcher};
use regex::Regex;

/// A compiled `files` pattern.
#[derive(Debug, Clone)]
pub struct FilePattern {
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// A plain glob (no period placeholders).
    Glob(GlobMatcher),
    /// A glob with placeholders, as an anchored regex with named groups.
    Period(Regex, Granularity),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Granularity {
    Year,
    Quarter,
    Month,
}

/// The months a file declares it covers, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredPeriod {
    /// First day of the first month.
    pub first: NaiveDate,
    /// Number of months (1, 3 or 12).
    pub months: u32,
}

impl DeclaredPeriod {
    /// Every month covered, as `YYYY-MM`.
    pub fn month_keys(&self) -> Vec<String> {
        (0..self.months)
            .filter_map(|i| self.first.checked_add_months(chrono::Months::new(i)))
            .map(|d| format!("{:04}-{:02}", d.year(), d.month()))
            .collect()
    }

    /// Whether `YYYY-MM` is covered. Asked of every row: compared as month numbers, without
    /// writing the period's months out.
    pub fn contains(&self, month: &str) -> bool {
        let b = month.as_bytes();
        let digits = |r: std::ops::Range<usize>| {
            b.get(r)
                .filter(|d| d.iter().all(u8::is_ascii_digit))
                .map(|d| d.iter().fold(0i64, |n, c| n * 10 + i64::from(c - b'0')))
        };
        let (Some(year), Some(m)) = (digits(0..4), digits(5..7)) else {
            return false;
        };
        if b.len() != 7 || b[4] != b'-' {
            return false;
        }
        let index = |year: i64, month: i64| year * 12 + month - 1;
        let first = index(i64::from(self.first.year()), i64::from(self.first.month()));
        (1..=12).contains(&m) && (first..first + i64::from(self.months)).contains(&index(year, m))
    }

    /// For messages: `2025-03`, `2025Q1` or `2025`.
    pub fn label(&self) -> String {
        match self.months {
            1 => format!("{:04}-{:02}", self.first.year(), self.first.month()),
            3 => format!(
                "{:04}Q{}",
                self.first.year(),
                self.first.month().div_ceil(3)
            ),
            _ => format!("{:04}", self.first.year()),
        }
    }
}

impl FilePattern {
    /// Compiles a pattern; the error says what is wrong in words for `vigie validate`.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if !pattern.contains("{yyyy}") && !pattern.contains("{mm}") && !pattern.contains("{q}") {
            let glob = Glob::new(pattern).map_err(|e| format!("invalid file pattern: {e}"))?;
            return Ok(FilePattern {
                matcher: Matcher::Glob(glob.compile_matcher()),
            });
        }
        let count = |p: &str| pattern.matches(p).count();
        let (y, m, q) = (count("{yyyy}"), count("{mm}"), count("{q}"));
        if y != 1 || m > 1 || q > 1 || (m == 1 && q == 1) {
            return Err(
                "a period in the file name needs exactly one {yyyy}, with at most one {mm} (monthly files) or {q} (quarterly files)"
                    .into(),
            );
        }
        let granularity = match (m, q) {
            (1, _) => Granularity::Month,
            (_, 1) => Granularity::Quarter,
            _ => Granularity::Year,
        };
        let mut re = String::from("^");
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("{yyyy}") {
                re.push_str("(?P<yyyy>[0-9]{4})");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{mm}") {
                re.push_str("(?P<mm>0[1-9]|1[0-2])");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("{q}") {
                re.push_str("(?P<q>[1-4])");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("**/") {
                re.push_str("(?:.*/)?");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("**") {
                re.push_str(".*");
                rest = after;
            } else {
                match c {
                    '*' => re.push_str("[^/]*"),
                    '?' => re.push_str("[^/]"),
                    '[' | ']' | '{' | '}' => {
                        return Err(format!(
                            "`{c}` cannot be combined with {{yyyy}}/{{mm}}/{{q}} placeholders: use `*` and `?` only"
                        ));
                    }
                    other => re.push_str(&regex::escape(&other.to_string())),
                }
                rest = &rest[c.len_utf8()..];
            }
        }
        re.push('$');
        let regex = Regex::new(&re).map_err(|e| format!("invalid file pattern: {e}"))?;
        Ok(FilePattern {
            matcher: Matcher::Period(regex, granularity),
        })
    }

    /// Whether the pattern declares a period in file names.
    pub fn declares_period(&self) -> bool {
        matches!(self.matcher, Matcher::Period(..))
    }

    /// Whether a landing key matches.
    pub fn is_match(&self, key: &str) -> bool {
        match &self.matcher {
            Matcher::Glob(g) => g.is_match(key),
            Matcher::Period(re, _) => re.is_match(key),
        }
    }

    /// The period a matching key declares (None: no placeholders, or no match).
    pub fn period(&self, key: &str) -> Option<DeclaredPeriod> {
        let Matcher::Period(re, granularity) = &self.matcher else {
            return None;
        };
        let caps = re.captures(key)?;
        let year: i32 = caps.name("yyyy")?.as_str().parse().ok()?;
        let (month, months) = match granularity {
            Granularity::Month => (caps.name("mm")?.as_str().parse().ok()?, 1),
            Granularity::Quarter => {
                let q: u32 = caps.name("q")?.as_str().parse().ok()?;
                (3 * q - 2, 3)
            }
            Granularity::Year => (1, 12),
        };
        Some(DeclaredPeriod {
            first: NaiveDate::from_ymd_opt(year, month, 1)?,
            months,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_glob_declares_nothing() {
        let p = FilePattern::parse("hospital_a/ed_visits_*.csv").expect("valid");
        assert!(p.is_match("hospital_a/ed_visits_202503.csv"));
        assert!(!p.is_match("hospital_b/ed_visits_202503.csv"));
        assert_eq!(p.period("hospital_a/ed_visits_202503.csv"), None);
        assert!(!p.declares_period());
    }

    #[test]
    fn monthly_quarterly_and_yearly_names() {
        let p = FilePattern::parse("hospital_a/ed_visits_{yyyy}{mm}.csv").expect("valid");
        let period = p
            .period("hospital_a/ed_visits_202503.csv")
            .expect("declared");
        assert_eq!(period.label(), "2025-03");
        assert_eq!(period.month_keys(), vec!["2025-03"]);
        assert!(!p.is_match("hospital_a/ed_visits_202513.csv"), "month 13");
        assert!(!p.is_match("hospital_a/ed_visits_2025031.csv"));
        assert!(!p.is_match("hospital_a/ed_visits_202503.csv.done"));
        let q = FilePattern::parse("sondage/survey_{yyyy}Q{q}.csv").expect("valid");
        let period = q.period("sondage/survey_2024Q4.csv").expect("declared");
        assert_eq!(period.month_keys(), vec!["2024-10", "2024-11", "2024-12"]);
        assert_eq!(period.label(), "2024Q4");
        let y = FilePattern::parse("**/registre_{yyyy}_*.csv").expect("valid");
        let period = y.period("a/b/registre_2023_v2.csv").expect("declared");
        assert_eq!(period.months, 12);
        assert!(period.contains("2023-07") && !period.contains("2024-01"));
        assert!(y.is_match("registre_2023_x.csv"));
        // `contains` agrees with the months written out, at the edges and on odd text.
        for period in [
            period,
            q.period("sondage/survey_2024Q4.csv").expect("declared"),
            p.period("hospital_a/ed_visits_202503.csv")
                .expect("declared"),
        ] {
            let keys = period.month_keys();
            for year in [2022, 2023, 2024, 2025] {
                for month in 0..=13 {
                    let key = format!("{year:04}-{month:02}");
                    assert_eq!(period.contains(&key), keys.contains(&key), "{key}");
                }
            }
            for odd in [
                "",
                "2024-1",
                "2024/10",
                "2024-10-01",
                "20241-0",
                "+024-10",
                "2024-+1",
                "2025-+3",
                "2023-+7",
                "2024-1\u{0}",
            ] {
                assert!(!period.contains(odd), "{odd}");
            }
        }
    }

    #[test]
    fn ambiguous_placeholders_are_refused() {
        for bad in [
            "x_{mm}.csv",
            "x_{yyyy}{mm}{q}.csv",
            "x_{yyyy}_{yyyy}.csv",
            "x_{yyyy}_[ab].csv",
        ] {
            assert!(FilePattern::parse(bad).is_err(), "{bad}");
        }
    }
}
