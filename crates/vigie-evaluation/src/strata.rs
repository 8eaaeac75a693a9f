//! Strata of the adjusted estimand: baseline ED-visit band × age band at
//! time zero × sex, 4 × 4 × 3 = [`N_STRATA`] cells.
//!
//! * baseline ED visits (in the baseline window `[e - baseline_days, e)`):
//!   `0-4`, `5-6`, `7-9`, `10+`;
//! * age at `e`, computed as `year(e) - birth_year` (only the birth year is
//!   held), in `vigie_stats::ADJUSTMENT_AGE_BANDS`: `<45`, `45-64`, `65-79`, `80+`;
//! * sex `F`, `M`, `X`.

use serde::{Deserialize, Serialize};
use vigie_stats::ADJUSTMENT_AGE_BANDS;

use crate::types::Sex;

/// Number of ED bands.
pub const N_ED_BANDS: usize = 4;
/// Number of age bands (the adjustment bands of `vigie-stats`).
pub const N_AGE_BANDS: usize = ADJUSTMENT_AGE_BANDS.len();
/// Number of sexes.
pub const N_SEXES: usize = 3;
/// Number of strata.
pub const N_STRATA: usize = N_ED_BANDS * N_AGE_BANDS * N_SEXES;

const ED_LABELS: [&str; N_ED_BANDS] = ["0-4", "5-6", "7-9", "10+"];
const SEX_LABELS: [&str; N_SEXES] = ["F", "M", "X"];

/// Band (0..4) of a baseline ED-visit count.
#[must_use]
pub fn ed_band(baseline_ed_visits: u32) -> usize {
    match baseline_ed_visits {
        0..=4 => 0,
        5..=6 => 1,
        7..=9 => 2,
        _ => 3,
    }
}

/// Adjustment band (0..4) of an age in years (negative ages fall in the first band).
#[must_use]
pub fn age_band(age: i32) -> usize {
    ADJUSTMENT_AGE_BANDS.index(i64::from(age))
}

/// One stratum, an index in `0..N_STRATA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stratum(pub u8);

impl Stratum {
    /// The stratum of a baseline ED count, an age and a sex.
    #[must_use]
    pub fn of(baseline_ed_visits: u32, age: i32, sex: Sex) -> Self {
        let i = (ed_band(baseline_ed_visits) * N_AGE_BANDS + age_band(age)) * N_SEXES + sex.index();
        Stratum(i as u8)
    }

    /// Index in `0..N_STRATA`.
    #[must_use]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// Human-readable label, e.g. `"ED 5-6, age 65-79, F"`.
    #[must_use]
    pub fn label(self) -> String {
        let i = self.index();
        let sex = i % N_SEXES;
        let age = (i / N_SEXES) % N_AGE_BANDS;
        let ed = (i / (N_SEXES * N_AGE_BANDS)) % N_ED_BANDS;
        format!(
            "ED {}, age {}, {}",
            ED_LABELS[ed],
            ADJUSTMENT_AGE_BANDS.label(age).unwrap_or("?"),
            SEX_LABELS[sex]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_labels() {
        assert_eq!(
            [0, 4, 5, 6, 7, 9, 10, 99].map(ed_band),
            [0, 0, 1, 1, 2, 2, 3, 3]
        );
        assert_eq!(
            [-1, 44, 45, 64, 65, 79, 80, 120].map(age_band),
            [0, 0, 1, 1, 2, 2, 3, 3]
        );
        let all: std::collections::HashSet<Stratum> = (0..20u32)
            .flat_map(|ed| {
                [30, 50, 70, 90]
                    .into_iter()
                    .flat_map(move |age| [Sex::F, Sex::M, Sex::X].map(|s| Stratum::of(ed, age, s)))
            })
            .collect();
        assert_eq!(all.len(), N_STRATA);
        assert!(all.iter().all(|s| s.index() < N_STRATA));
        assert_eq!(Stratum::of(5, 70, Sex::F).label(), "ED 5-6, age 65-79, F");
        assert_eq!(Stratum::of(12, 30, Sex::X).label(), "ED 10+, age <45, X");
    }
}
