//! Plausible dates: an event cannot happen after the load that reports it (beyond a small
//! tolerance for clocks and time zones) nor before the pipeline's earliest date; a person's
//! birth and death fall in a human range. One row dated 2099 must not become the "latest
//! period" of every report, nor 9999 make the calendar explode.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use vigie_model::{Entity, FieldDef, FieldType};

use crate::convert::days;
use crate::value::Value;

/// The earliest date a person's own dates (birth, death) may take.
const EARLIEST_HUMAN: (i32, u32, u32) = (1890, 1, 1);

/// Date bounds of one load.
#[derive(Debug, Clone, Copy)]
pub struct DateBounds {
    earliest_event: NaiveDate,
    latest: NaiveDateTime,
}

impl DateBounds {
    /// Events from `earliest_event`; nothing after `now` plus `tolerance_days`.
    pub fn new(earliest_event: NaiveDate, now: NaiveDateTime, tolerance_days: u32) -> Self {
        DateBounds {
            earliest_event,
            latest: now + chrono::Duration::days(i64::from(tolerance_days)),
        }
    }

    /// The reason a value is implausible, if it is.
    pub fn check(&self, entity: Entity, def: &FieldDef, value: &Value) -> Option<String> {
        let earliest = if entity == Entity::Person {
            NaiveDate::from_ymd_opt(EARLIEST_HUMAN.0, EARLIEST_HUMAN.1, EARLIEST_HUMAN.2)
                .unwrap_or(self.earliest_event)
        } else {
            self.earliest_event
        };
        let latest_day = self.latest.date();
        // The value's text is made only for a refusal: every date of every row is checked.
        let (date, shown) = match (def.ty, value) {
            (FieldType::Date, Value::Date(d)) => {
                let date = NaiveDate::from_num_days_from_ce_opt(d.checked_add(719_163)?)?;
                (date, Shown::Date(date))
            }
            (FieldType::DateTime, Value::DateTime(us)) => {
                let dt = chrono::DateTime::from_timestamp_micros(*us)?.naive_utc();
                if dt > self.latest {
                    return Some(future(&dt.to_string(), self.latest));
                }
                (dt.date(), Shown::DateTime(dt))
            }
            (FieldType::Int, Value::Int(year)) if def.name == "birth_year" => {
                if *year > latest_day.year() {
                    return Some(format!(
                        "birth year in the future: {year} is after the year of the load ({}); check the column or the partner's extract",
                        latest_day.year()
                    ));
                }
                return None;
            }
            _ => return None,
        };
        if days(date) > days(latest_day) {
            return Some(future(&shown.to_string(), self.latest));
        }
        if date < earliest {
            let whose = if entity == Entity::Person {
                "the earliest plausible date of a person's life"
            } else {
                "the pipeline's `earliest_date`"
            };
            return Some(format!(
                "date too early: {shown} is before {earliest} ({whose}); a typing error or a default date such as 1900-01-01"
            ));
        }
        None
    }
}

/// A checked value as a refusal shows it.
enum Shown {
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Date(d) => d.fmt(f),
            Shown::DateTime(dt) => dt.fmt(f),
        }
    }
}

fn future(shown: &str, latest: NaiveDateTime) -> String {
    format!(
        "date in the future: {shown} is after {} (the time of the load plus the source's `future_tolerance_days`); a typing error or a placeholder date",
        latest.format("%Y-%m-%d %H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> DateBounds {
        let now = NaiveDate::from_ymd_opt(2026, 3, 15)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("valid");
        DateBounds::new(NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid"), now, 1)
    }

    fn date(y: i32, m: u32, d: u32) -> Value {
        Value::Date(days(NaiveDate::from_ymd_opt(y, m, d).expect("valid")))
    }

    #[test]
    fn event_dates_between_the_earliest_date_and_the_load() {
        let b = bounds();
        let admit = Entity::Admission.field("admit_date").expect("field");
        assert_eq!(b.check(Entity::Admission, admit, &date(2026, 3, 16)), None);
        assert!(
            b.check(Entity::Admission, admit, &date(2026, 3, 17))
                .is_some()
        );
        assert!(
            b.check(Entity::Admission, admit, &date(2099, 1, 1))
                .is_some()
        );
        assert!(
            b.check(Entity::Admission, admit, &date(9999, 12, 31))
                .is_some()
        );
        assert_eq!(b.check(Entity::Admission, admit, &date(2000, 1, 1)), None);
        let msg = b
            .check(Entity::Admission, admit, &date(1900, 1, 1))
            .expect("too early");
        assert!(msg.contains("earliest_date"), "{msg}");
        let arrival = Entity::EdVisit.field("arrival").expect("field");
        let at = |h: u32| {
            Value::DateTime(
                NaiveDate::from_ymd_opt(2026, 3, 16)
                    .and_then(|d| d.and_hms_opt(h, 0, 0))
                    .expect("valid")
                    .and_utc()
                    .timestamp_micros(),
            )
        };
        assert_eq!(b.check(Entity::EdVisit, arrival, &at(11)), None);
        assert!(b.check(Entity::EdVisit, arrival, &at(13)).is_some());
    }

    #[test]
    fn a_persons_dates_span_a_human_life() {
        let b = bounds();
        let death = Entity::Person.field("death_date").expect("field");
        assert_eq!(b.check(Entity::Person, death, &date(1995, 6, 1)), None);
        assert!(b.check(Entity::Person, death, &date(1850, 6, 1)).is_some());
        let birth = Entity::Person.field("birth_year").expect("field");
        assert_eq!(b.check(Entity::Person, birth, &Value::Int(2026)), None);
        assert!(b.check(Entity::Person, birth, &Value::Int(2027)).is_some());
    }
}

/// What the unit tests of the crate load with: events from 2000 to now, Ontario health
/// card numbers as the pipeline's identifiers.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::LazyLock;

    use vigie_model::{IdScheme, IdentifierDetector};

    use super::DateBounds;

    /// Events from 2000-01-01 to the time of the test.
    pub fn dates() -> DateBounds {
        DateBounds::new(
            chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
            chrono::Utc::now().naive_utc(),
            1,
        )
    }

    /// A detector of Ontario health card numbers.
    pub fn ontario() -> &'static IdentifierDetector {
        static DETECTOR: LazyLock<IdentifierDetector> =
            LazyLock::new(|| IdentifierDetector::new(&[IdScheme::OntarioHcn]));
        &DETECTOR
    }
}
