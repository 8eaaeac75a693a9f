//! When `vigie serve` runs a pipeline: a cron expression in a time zone, parsed when the
//! pipeline file is loaded so that `vigie validate` catches a bad one.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;

/// A cron schedule in a time zone, both parsed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Cron expression (5 fields: minute hour day-of-month month day-of-week).
    #[serde(deserialize_with = "de_cron")]
    pub cron: Cron,
    /// IANA time zone, e.g. `America/Toronto` (the default).
    #[serde(default = "default_timezone", deserialize_with = "de_timezone")]
    pub timezone: Tz,
}

fn default_timezone() -> Tz {
    chrono_tz::America::Toronto
}

/// Parses a cron expression: the one parser of the configuration and the scheduler.
pub fn parse_cron(text: &str) -> Result<Cron, String> {
    Cron::from_str(text).map_err(|e| {
        format!(
            "invalid cron expression \"{text}\": {e} (5 fields: minute hour day-of-month month day-of-week, e.g. \"0 6 * * MON\") / expression cron invalide"
        )
    })
}

/// Parses an IANA time-zone name.
pub fn parse_timezone(text: &str) -> Result<Tz, String> {
    text.parse().map_err(|_| {
        format!(
            "unknown time zone \"{text}\" (use an IANA name such as America/Toronto or America/Moncton) / fuseau horaire inconnu"
        )
    })
}

fn de_cron<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Cron, D::Error> {
    parse_cron(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn de_timezone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    parse_timezone(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

impl ScheduleSpec {
    /// Parses a schedule from its two texts (as written in a pipeline file).
    pub fn parse(cron: &str, timezone: &str) -> Result<Self, String> {
        Ok(ScheduleSpec {
            cron: parse_cron(cron)?,
            timezone: parse_timezone(timezone)?,
        })
    }

    /// The next occurrence strictly after `after`, in the schedule's time zone.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.timezone), false)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                format!(
                    "\"{}\" has no next occurrence: {e} / aucune prochaine exécution",
                    self.cron.as_str()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn weekly_schedule_in_toronto_follows_daylight_saving() {
        // Monday 06:00 in Toronto is 11:00 UTC in winter (EST) and 10:00 UTC in summer (EDT).
        let s = ScheduleSpec::parse("0 6 * * MON", "America/Toronto").expect("valid");
        assert_eq!(
            s.next_after(utc("2025-01-01T00:00:00Z")),
            Ok(utc("2025-01-06T11:00:00Z"))
        );
        assert_eq!(
            s.next_after(utc("2025-07-01T00:00:00Z")),
            Ok(utc("2025-07-07T10:00:00Z"))
        );
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_still_runs_that_day() {
        // 2025-03-09 02:30 does not exist in Toronto (clocks jump from 02:00 to 03:00);
        // the daily run must not skip the day.
        let s = ScheduleSpec::parse("30 2 * * *", "America/Toronto").expect("valid");
        let next = s.next_after(utc("2025-03-09T05:00:00Z")).map(|t| {
            t.with_timezone(&chrono_tz::America::Toronto)
                .date_naive()
                .to_string()
        });
        assert_eq!(next.as_deref(), Ok("2025-03-09"));
    }

    #[test]
    fn yaml_defaults_the_time_zone_and_explains_bad_values() {
        let s: ScheduleSpec = serde_yaml::from_str("cron: \"0 6 * * MON\"").expect("yaml");
        assert_eq!(s.timezone, chrono_tz::America::Toronto);
        let e = serde_yaml::from_str::<ScheduleSpec>("cron: \"0 6 * * MONDAY\"")
            .expect_err("bad cron")
            .to_string();
        assert!(e.contains("invalid cron expression"), "{e}");
        let e =
            serde_yaml::from_str::<ScheduleSpec>("cron: \"0 6 * * MON\"\ntimezone: Mars/Olympus")
                .expect_err("bad zone")
                .to_string();
        assert!(e.contains("unknown time zone"), "{e}");
    }
}
