//! How long replaced data files (and so earlier table versions) are kept.

use std::time::Duration;

use crate::error::WarehouseError;

/// The shortest retention accepted without `force`: a reader that opened a version just
/// before a load replaced it (a report, `vigie query`, a dashboard refresh, an external
/// reader) must still find that version's files while it reads, and a load that is
/// waiting for the writer lock must find the files of the version it started from.
pub const MINIMUM_SAFE_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// A retention period, checked against [`MINIMUM_SAFE_RETENTION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(Duration);

impl Retention {
    /// `period`, refused when shorter than a day unless `force` is set.
    pub fn checked(period: Duration, force: bool) -> Result<Retention, WarehouseError> {
        if period < MINIMUM_SAFE_RETENTION && !force {
            return Err(WarehouseError::RetentionTooShort {
                hours: period.as_secs() / 3600,
                minimum_hours: MINIMUM_SAFE_RETENTION.as_secs() / 3600,
            });
        }
        Ok(Retention(period))
    }

    /// A retention of whole days (a pipeline's `maintenance.retention_days`).
    pub fn days(days: u32, force: bool) -> Result<Retention, WarehouseError> {
        Retention::checked(Duration::from_secs(u64::from(days) * 24 * 3600), force)
    }

    /// The period.
    pub fn period(self) -> Duration {
        self.0
    }

    /// The period as Delta table properties write it (`interval N seconds`).
    pub(crate) fn delta_interval(self) -> String {
        format!("interval {} seconds", self.0.as_secs())
    }

    /// The period for delta-rs's vacuum.
    pub(crate) fn chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
    }
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.as_secs();
        if secs.is_multiple_of(24 * 3600) {
            write!(f, "{} day(s)", secs / (24 * 3600))
        } else {
            write!(f, "{} hour(s)", secs / 3600)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_a_day_needs_force() {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        let err = Retention::checked(hours(23), false).expect_err("23 h is too short");
        assert!(
            matches!(
                err,
                WarehouseError::RetentionTooShort {
                    hours: 23,
                    minimum_hours: 24
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.kind(), vigie_model::ErrorKind::User);
        assert_eq!(
            Retention::checked(hours(0), true)
                .ok()
                .map(Retention::period),
            Some(hours(0)),
            "forced"
        );
        assert!(Retention::days(0, false).is_err());
        let month = Retention::days(30, false).expect("30 days");
        assert_eq!(month.to_string(), "30 day(s)");
        assert_eq!(month.delta_interval(), "interval 2592000 seconds");
        assert_eq!(
            Retention::checked(hours(36), false)
                .map(|r| r.to_string())
                .ok(),
            Some("36 hour(s)".to_string())
        );
    }
}
