//! Text to canonical values: code lists, formats, types, ranges, allowed values and check
//! digits. A failure names the partner column and says what was expected; identifier values
//! are never echoed.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use vigie_model::config::CheckDigit;
use vigie_model::{FieldType, PseudonymKey};

use crate::compile::{FieldPlan, Origin};
use crate::luhn::luhn_valid;
use crate::value::Value;

/// A field that failed, with what to report.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub column: String,
    pub reason: String,
    /// The offending text, `None` when it must not be shown (identifiers).
    pub value: Option<String>,
}

const ISO_DATETIMES: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// The cells a record's fields read: the record's own and, for one item of an unpivoted
/// record, the item's name (`$name`, at the header's width) and its value (`$value`, just
/// after), lent rather than copied into an extended record.
#[derive(Debug, Clone, Copy)]
pub struct Cells<'a> {
    record: &'a [String],
    item: Option<(usize, &'a str, &'a str)>,
}

impl<'a> Cells<'a> {
    /// A record's own cells.
    pub fn of(record: &'a [String]) -> Self {
        Cells { record, item: None }
    }

    /// A record's cells (`width` of them) and one unpivoted item's name and value.
    pub fn with_item(record: &'a [String], width: usize, name: &'a str, value: &'a str) -> Self {
        Cells {
            record,
            item: Some((width, name, value)),
        }
    }

    /// Cell `i`.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self.item {
            Some((width, name, _)) if i == width => Some(name),
            Some((width, _, value)) if i == width + 1 => Some(value),
            Some((width, _, _)) if i > width => None,
            _ => self.record.get(i).map(String::as_str),
        }
    }
}

fn cell<'a>(cells: Cells<'a>, i: usize, nulls: &crate::compile::NullValues) -> Option<&'a str> {
    let t = cells.get(i).map(|s| s.trim())?;
    if nulls.contains(t) { None } else { Some(t) }
}

impl FieldPlan {
    fn fail(&self, reason: impl Into<String>, value: Option<&str>) -> FieldError {
        let shown = if self.def.ty == FieldType::PersonKey {
            None
        } else {
            value.map(|v| v.chars().take(80).collect())
        };
        FieldError {
            column: self.label.clone(),
            reason: reason.into(),
            value: shown,
        }
    }

    /// Converts this field of one (extended) record.
    pub fn convert(
        &self,
        cells: Cells<'_>,
        nulls: &crate::compile::NullValues,
        key: &PseudonymKey,
    ) -> Result<Value, FieldError> {
        // Borrowed from the record: only text values that are kept get their own copy.
        let text: Option<Cow<'_, str>> = match &self.origin {
            Origin::Absent => None,
            Origin::Const(v) => Some(Cow::Borrowed(v.as_str())),
            Origin::Column(i) => cell(cells, *i, nulls).map(Cow::Borrowed),
            Origin::DateTime(d, t) => {
                return match (cell(cells, *d, nulls), cell(cells, *t, nulls)) {
                    (None, _) => self.missing(),
                    (Some(d), t) => self.datetime_from_parts(d, t),
                };
            }
        };
        let Some(text) = text else {
            return self.missing();
        };
        let text = match self.map.as_ref().and_then(|map| map.get(text.as_ref())) {
            Some(mapped) => Cow::Borrowed(mapped.as_str()),
            None => text,
        };
        let value = match self.def.ty {
            FieldType::PersonKey => {
                if let Some(scheme) = &self.scheme {
                    // The declared format decides (length, pattern, check digit); its
                    // canonical form is what is keyed, so `1234-567-897 AB` and
                    // `1234567897` are the same person.
                    let canonical = scheme.normalise_and_check(&text).map_err(|problem| {
                        self.fail(
                            format!("identifier is not a valid {}: {problem}", scheme.label()),
                            None,
                        )
                    })?;
                    return Ok(Value::Str(key.pseudonymise(&canonical)));
                }
                if self.check == CheckDigit::Luhn && !luhn_valid(&text) {
                    return Err(self.fail("identifier fails its check digit (Luhn mod 10): a typing error or not a health card number", None));
                }
                Value::Str(key.pseudonymise(&text))
            }
            FieldType::Text => {
                if !self.allowed.is_empty() && !self.allowed.iter().any(|a| *a == *text) {
                    let hint = if self.map.is_some() {
                        "add it to the field's `map`"
                    } else {
                        "map it with `map:`"
                    };
                    return Err(self.fail(
                        format!(
                            "value not in the code list (expected {}): {hint}",
                            self.allowed.join(", ")
                        ),
                        Some(&text),
                    ));
                }
                Value::Str(text.into_owned())
            }
            FieldType::Int => {
                let n: i32 = text
                    .parse()
                    .map_err(|_| self.fail("not a whole number", Some(&text)))?;
                self.check_range(n as f64, &text)?;
                Value::Int(n)
            }
            FieldType::Float => {
                let normal = if self.decimal_comma {
                    Cow::Owned(text.replace(',', "."))
                } else {
                    Cow::Borrowed(text.as_ref())
                };
                let x: f64 = normal.parse().map_err(|_| {
                    let hint = if !self.decimal_comma && text.contains(',') {
                        " (a decimal comma? set `decimal: \",\"`)"
                    } else {
                        ""
                    };
                    self.fail(format!("not a number{hint}"), Some(&text))
                })?;
                if !x.is_finite() {
                    return Err(self.fail("not a finite number", Some(&text)));
                }
                self.check_range(x, &text)?;
                Value::Float(x)
            }
            FieldType::Date => Value::Date(self.parse_date(&text)?),
            FieldType::DateTime => self.datetime_one(&text)?,
        };
        Ok(value)
    }

    fn missing(&self) -> Result<Value, FieldError> {
        if self.required {
            Err(self.fail("required value is missing", None))
        } else {
            Ok(Value::Null)
        }
    }

    fn check_range(&self, x: f64, text: &str) -> Result<(), FieldError> {
        if let Some((lo, hi)) = self.range
            && (x < lo || x > hi)
        {
            return Err(self.fail(format!("out of range {lo}..{hi}"), Some(text)));
        }
        Ok(())
    }

    fn parse_date(&self, text: &str) -> Result<i32, FieldError> {
        let fmt = self.format.as_deref().unwrap_or("%Y-%m-%d");
        if let Some(date) = fixed_width_date(text, fmt) {
            return Ok(days(date));
        }
        let date = NaiveDate::parse_from_str(text, fmt)
            .map_err(|_| self.fail(format!("not a valid date in format {fmt}"), Some(text)))?;
        Ok(days(date))
    }

    fn datetime_one(&self, text: &str) -> Result<Value, FieldError> {
        let parsed = match &self.format {
            Some(fmt) => NaiveDateTime::parse_from_str(text, fmt).ok(),
            None => ISO_DATETIMES
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok()),
        };
        let dt = parsed.ok_or_else(|| {
            self.fail(
                format!(
                    "not a valid date-time in format {}",
                    self.format.as_deref().unwrap_or("ISO 8601")
                ),
                Some(text),
            )
        })?;
        Ok(Value::DateTime(dt.and_utc().timestamp_micros()))
    }

    fn datetime_from_parts(&self, date: &str, time: Option<&str>) -> Result<Value, FieldError> {
        let d = NaiveDate::from_num_days_from_ce_opt(self.parse_date(date)? + 719_163)
            .ok_or_else(|| self.fail("date out of range", Some(date)))?;
        let t = match time {
            None => NaiveTime::MIN,
            Some(t) => {
                let fmt = self.time_format.as_deref().unwrap_or("%H:%M");
                match fixed_width_time(t, fmt) {
                    Some(time) => time,
                    None => NaiveTime::parse_from_str(t, fmt).map_err(|_| {
                        self.fail(format!("not a valid time in format {fmt}"), Some(t))
                    })?,
                }
            }
        };
        Ok(Value::DateTime(d.and_time(t).and_utc().timestamp_micros()))
    }
}

/// The common fixed-width layouts read without chrono's format interpreter, which is the
/// costliest step of a row. Only text that chrono would read the same way takes this path
/// (every digit in place, a real calendar date); anything else, valid or not, falls back
/// to chrono, so the accepted dates and the messages are unchanged.
fn fixed_width_date(text: &str, fmt: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let num = |r| digits(b, r);
    let (y, m, d) = match (fmt, b.len()) {
        ("%Y-%m-%d", 10) if b[4] == b'-' && b[7] == b'-' => (num(0..4)?, num(5..7)?, num(8..10)?),
        ("%d/%m/%Y", 10) if b[2] == b'/' && b[5] == b'/' => (num(6..10)?, num(3..5)?, num(0..2)?),
        ("%Y%m%d", 8) => (num(0..4)?, num(4..6)?, num(6..8)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// [`fixed_width_date`] for the common time layouts (every row of an extract with the time
/// of arrival in its own column reads one).
fn fixed_width_time(text: &str, fmt: &str) -> Option<NaiveTime> {
    let b = text.as_bytes();
    let num = |r| digits(b, r);
    let (h, m, s) = match (fmt, b.len()) {
        ("%H%M", 4) => (num(0..2)?, num(2..4)?, 0),
        ("%H:%M", 5) if b[2] == b':' => (num(0..2)?, num(3..5)?, 0),
        ("%H:%M:%S", 8) if b[2] == b':' && b[5] == b':' => (num(0..2)?, num(3..5)?, num(6..8)?),
        _ => return None,
    };
    NaiveTime::from_hms_opt(h, m, s)
}

/// The number the ASCII digits at `range` of `b` write (None: not all digits, or too short).
fn digits(b: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
    b.get(range)?.iter().try_fold(0u32, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// Days since 1970-01-01.
pub fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - 719_163
}

use chrono::Datelike;

/// An event's month as its `YYYY-MM` text, held without an allocation (every event row
/// has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMonth([u8; 7]);

impl EventMonth {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and a dash are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The month of a date value or a date-time value (years 0 to 9999: accepted rows' dates
/// lie between the pipeline's earliest date and the load).
pub fn event_month(v: &Value) -> Option<EventMonth> {
    let date = match v {
        Value::Date(d) => NaiveDate::from_num_days_from_ce_opt(d + 719_163)?,
        Value::DateTime(us) => chrono::DateTime::from_timestamp_micros(*us)?.date_naive(),
        _ => return None,
    };
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let month = date.month();
    Some(EventMonth([
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_dates_agree_with_chrono() {
        let cases = [
            ("2024-02-29", "%Y-%m-%d"),
            ("2023-02-29", "%Y-%m-%d"),
            ("2024-13-01", "%Y-%m-%d"),
            ("2024-1-01", "%Y-%m-%d"),
            ("2024-01-1 ", "%Y-%m-%d"),
            ("+024-01-01", "%Y-%m-%d"),
            ("31/12/2025", "%d/%m/%Y"),
            ("31/11/2025", "%d/%m/%Y"),
            ("1/12/2025", "%d/%m/%Y"),
            ("20250101", "%Y%m%d"),
            ("20250230", "%Y%m%d"),
            ("0000-01-01", "%Y-%m-%d"),
        ];
        for (text, fmt) in cases {
            let chrono = NaiveDate::parse_from_str(text, fmt).ok();
            if let Some(fast) = fixed_width_date(text, fmt) {
                assert_eq!(Some(fast), chrono, "{text} {fmt}");
            }
            // Whatever the fast path declines, chrono still decides.
            if chrono.is_none() {
                assert_eq!(fixed_width_date(text, fmt), None, "{text} {fmt}");
            }
        }
    }

    #[test]
    fn fixed_width_times_agree_with_chrono() {
        // Every four-character digit string, and each with its separators, so every hour
        // and minute out of range (24, 60, 99) is met.
        for n in 0..10_000u32 {
            let hhmm = format!("{n:04}");
            let (h, m) = (&hhmm[..2], &hhmm[2..]);
            for (text, fmt) in [
                (hhmm.clone(), "%H%M"),
                (format!("{h}:{m}"), "%H:%M"),
                (format!("{h}:{m}:{m}"), "%H:%M:%S"),
                (format!("{h}:{m}:60"), "%H:%M:%S"),
            ] {
                let chrono = NaiveTime::parse_from_str(&text, fmt).ok();
                let fast = fixed_width_time(&text, fmt);
                if fast.is_some() {
                    assert_eq!(fast, chrono, "{text} {fmt}");
                }
                // Every valid time of these layouts takes the fast path (a leap second,
                // which chrono reads, is left to it).
                if chrono.is_some() && !text.ends_with(":60") {
                    assert!(fast.is_some(), "{text} {fmt}: not read directly");
                }
            }
        }
        // Shapes the fast path declines, left to chrono.
        for (text, fmt) in [
            ("930", "%H%M"),
            ("9:30", "%H:%M"),
            ("09h30", "%H:%M"),
            ("0930 ", "%H%M"),
            ("+930", "%H%M"),
            ("09:30", "%H%M"),
            ("0930", "%I%M"),
        ] {
            assert_eq!(fixed_width_time(text, fmt), None, "{text} {fmt}");
        }
        assert_eq!(
            fixed_width_time("2359", "%H%M"),
            NaiveTime::from_hms_opt(23, 59, 0)
        );
    }

    #[test]
    fn day_numbers_match_the_epoch() {
        assert_eq!(
            days(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()),
            0
        );
        assert_eq!(
            days(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default()),
            19783
        );
        let month = |v: Value| event_month(&v).map(|m| m.as_str().to_string());
        assert_eq!(month(Value::Date(19783)).as_deref(), Some("2024-03"));
        assert_eq!(
            month(Value::DateTime(19783i64 * 86_400_000_000 + 1)).as_deref(),
            Some("2024-03")
        );
        // December, and a year before 1000 (zero-padded as `format!("{:04}")` did).
        let day = |y, m, d| days(NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default());
        assert_eq!(
            month(Value::Date(day(2025, 12, 31))).as_deref(),
            Some("2025-12")
        );
        assert_eq!(
            month(Value::Date(day(987, 10, 1))).as_deref(),
            Some("0987-10")
        );
        assert_eq!(month(Value::Str("2024-03-01".into())), None);
    }
}
