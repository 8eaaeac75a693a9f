//! Deliberately bad rows, so the ingest quarantine is exercised.
//!
//! Whether a row is corrupted, and how, is a pure hash of the seed, the row
//! kind, the person and the event ordinal, so the same event is corrupted the
//! same way in the world with and without the program effect. A corrupted
//! row keeps the right number of fields; the header is never corrupted.

use chrono::{Datelike, NaiveDate};

use crate::seeding::{hash, unit};

/// The ways a row can be corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Corruption {
    /// The HCN's last digit is not its Luhn check digit.
    InvalidHcn,
    /// A required date is empty (arrival, episode start, enrolment, completion).
    EmptyRequiredDate,
    /// Triage level outside 1..=5 (`7`, `0` or `9`).
    TriageOutOfRange,
    /// A date that does not exist: `2024-13-05`, `2024-02-30`, `31/02/2024`,
    /// `05/13/2024` (the main date of the row, or the death date).
    UnparseableDate,
    /// Hospital B `HOSP` stay whose `DATE_FIN` is 1-5 days before `DATE_DEBUT`.
    DischargeBeforeAdmission,
}

impl Corruption {
    /// All kinds, in summary order.
    pub const ALL: [Corruption; 5] = [
        Corruption::InvalidHcn,
        Corruption::EmptyRequiredDate,
        Corruption::TriageOutOfRange,
        Corruption::UnparseableDate,
        Corruption::DischargeBeforeAdmission,
    ];

    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Corruption::InvalidHcn => "invalid_hcn",
            Corruption::EmptyRequiredDate => "empty_required_date",
            Corruption::TriageOutOfRange => "triage_out_of_range",
            Corruption::UnparseableDate => "unparseable_date",
            Corruption::DischargeBeforeAdmission => "discharge_before_admission",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kinds of rows, part of the corruption hash key.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum RowKind {
    Registry = 11,
    EdVisit = 12,
    Stay = 13,
    Enrolment = 14,
    Survey = 15,
    Contact = 16,
    Referral = 17,
}

/// A decided corruption and a hash for choosing its variant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bad {
    pub kind: Corruption,
    pub variant: u64,
}

/// Decides whether row (`kind`, `person`, `ordinal`) is corrupted, choosing
/// uniformly among `allowed`.
pub(crate) fn decide(
    seed: u64,
    rate: f64,
    kind: RowKind,
    person: u64,
    ordinal: u64,
    allowed: &[Corruption],
) -> Option<Bad> {
    if rate <= 0.0 || allowed.is_empty() {
        return None;
    }
    let h = hash(&[seed, kind as u64, person, ordinal]);
    if unit(h) >= rate {
        return None;
    }
    let v = hash(&[h, 0xBAD]);
    Some(Bad {
        kind: allowed[(v % allowed.len() as u64) as usize],
        variant: v >> 8,
    })
}

/// `hcn` with a wrong last digit (never Luhn-valid).
pub(crate) fn invalid_hcn(hcn: &str, variant: u64) -> String {
    let (payload, check) = hcn.split_at(hcn.len().saturating_sub(1));
    let c = check
        .bytes()
        .next()
        .map_or(0, |b| u64::from(b.wrapping_sub(b'0')) % 10);
    let wrong = (c + 1 + variant % 9) % 10;
    format!("{payload}{wrong}")
}

/// An impossible ISO date near `d`.
pub(crate) fn bad_iso_date(d: NaiveDate, variant: u64) -> String {
    if variant.is_multiple_of(2) {
        format!("{:04}-13-{:02}", d.year(), d.day())
    } else {
        format!("{:04}-02-30", d.year())
    }
}

/// An impossible DD/MM/YYYY date near `d`.
pub(crate) fn bad_fr_date(d: NaiveDate, variant: u64) -> String {
    if variant.is_multiple_of(2) {
        format!("31/02/{:04}", d.year())
    } else {
        format!("{:02}/13/{:04}", d.day(), d.year())
    }
}

/// An impossible compact date (`YYYYMMDD`).
pub(crate) fn bad_compact_date(d: NaiveDate, variant: u64) -> String {
    if variant.is_multiple_of(2) {
        format!("{:04}13{:02}", d.year(), d.day())
    } else {
        format!("{:04}0230", d.year())
    }
}

/// An out-of-range triage level.
pub(crate) fn bad_triage(variant: u64) -> &'static str {
    ["7", "0", "9"][(variant % 3) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::luhn::luhn_valid;

    #[test]
    fn invalid_hcn_is_invalid() {
        for v in 0..50 {
            assert!(!luhn_valid(&invalid_hcn("1234567897", v)));
        }
    }

    #[test]
    fn bad_dates_do_not_parse() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 31).expect("valid");
        for v in 0..4 {
            assert!(bad_iso_date(d, v).parse::<NaiveDate>().is_err());
            assert!(NaiveDate::parse_from_str(&bad_fr_date(d, v), "%d/%m/%Y").is_err());
        }
    }

    #[test]
    fn rate_is_respected() {
        let n = 200_000u64;
        let bad = (0..n)
            .filter(|&i| {
                decide(1, 0.01, RowKind::EdVisit, i, 0, &[Corruption::InvalidHcn]).is_some()
            })
            .count() as f64;
        assert!((bad / n as f64 - 0.01).abs() < 0.002);
    }
}
