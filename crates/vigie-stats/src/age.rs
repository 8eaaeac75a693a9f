//! Age bands, each set defined once: the bands results are broken down by, and the coarser
//! bands the program evaluation adjusts on. (The 2011 Canadian standard population's
//! five-year bands, used for direct standardisation, live in [`crate::standardise`].)

/// A partition of ages into bands: band `i` holds ages from `lower_bounds[i]` up to the next
/// bound (exclusive); ages below the first bound fall in the first band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBands {
    lower_bounds: &'static [i64],
    labels: &'static [&'static str],
}

/// The bands indicators are stratified by (`age_band`): 0-17, 18-44, 45-64, 65-79, 80+.
pub const REPORTING_AGE_BANDS: AgeBands = AgeBands {
    lower_bounds: &[0, 18, 45, 65, 80],
    labels: &["0-17", "18-44", "45-64", "65-79", "80+"],
};

/// The bands the adjusted program evaluation balances participants and comparison persons
/// on: the reporting bands with the two youngest merged (high users under 45 are too few to
/// split), so every adjustment band is a union of reporting bands.
pub const ADJUSTMENT_AGE_BANDS: AgeBands = AgeBands {
    lower_bounds: &[0, 45, 65, 80],
    labels: &["<45", "45-64", "65-79", "80+"],
};

impl AgeBands {
    /// Number of bands.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.lower_bounds.len()
    }

    /// Whether there is no band (never, for the sets above).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.lower_bounds.is_empty()
    }

    /// The band (0-based) of an age in years.
    #[must_use]
    pub fn index(&self, age: i64) -> usize {
        self.lower_bounds
            .iter()
            .rposition(|lower| age >= *lower)
            .unwrap_or(0)
    }

    /// The label of the band of an age.
    #[must_use]
    pub fn label_of(&self, age: i64) -> &'static str {
        self.labels[self.index(age)]
    }

    /// The label of band `index` (`None` past the last band).
    #[must_use]
    pub fn label(&self, index: usize) -> Option<&'static str> {
        self.labels.get(index).copied()
    }

    /// Every label, youngest first.
    #[must_use]
    pub const fn labels(&self) -> &'static [&'static str] {
        self.labels
    }

    /// The lower bound of every band, youngest first.
    #[must_use]
    pub const fn lower_bounds(&self) -> &'static [i64] {
        self.lower_bounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reporting_bands_at_their_boundaries() {
        let b = REPORTING_AGE_BANDS;
        assert_eq!(
            [-3, 0, 17, 18, 44, 45, 64, 65, 79, 80, 120].map(|a| b.label_of(a)),
            [
                "0-17", "0-17", "0-17", "18-44", "18-44", "45-64", "45-64", "65-79", "65-79",
                "80+", "80+"
            ]
        );
    }

    #[test]
    fn adjustment_bands_at_their_boundaries() {
        let b = ADJUSTMENT_AGE_BANDS;
        assert_eq!(
            [-1, 44, 45, 64, 65, 79, 80, 120].map(|a| b.index(a)),
            [0, 0, 1, 1, 2, 2, 3, 3]
        );
    }

    #[test]
    fn labels_say_the_bounds() {
        for bands in [REPORTING_AGE_BANDS, ADJUSTMENT_AGE_BANDS] {
            assert_eq!(bands.labels().len(), bands.len());
            let bounds = bands.lower_bounds();
            for (i, label) in bands.labels().iter().enumerate() {
                let expected = match bounds.get(i + 1) {
                    None => format!("{}+", bounds[i]),
                    Some(next) if i == 0 && bounds[0] == 0 && label.starts_with('<') => {
                        format!("<{next}")
                    }
                    Some(next) => format!("{}-{}", bounds[i], next - 1),
                };
                assert_eq!(*label, expected);
            }
        }
    }

    #[test]
    fn every_adjustment_band_is_a_union_of_reporting_bands() {
        for bound in ADJUSTMENT_AGE_BANDS.lower_bounds() {
            assert!(
                REPORTING_AGE_BANDS.lower_bounds().contains(bound),
                "{bound} splits a reporting band"
            );
        }
    }
}
