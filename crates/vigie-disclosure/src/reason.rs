//! Why a cell was suppressed, with the bilingual text shown in its place.

use serde::{Deserialize, Serialize};

use crate::DisclosureConfig;

pub use crate::lang::Lang;

/// Why a cell was suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// Primary: a declared count field is from 1 to `min_count - 1`.
    SmallCount,
    /// Primary: the denominator is below the indicator's declared minimum
    /// (e.g. fewer than 10 valid responses to a patient-experience survey).
    BelowMinimumDenominator,
    /// Secondary: suppressed so that another suppressed cell of an additive
    /// set cannot be recovered by subtraction.
    Complementary,
    /// A measure derived from other cells (a disparity between strata: rate ratio, slope
    /// index, ...) one of which is suppressed: publishing it could reveal that cell.
    SuppressedInput,
}

impl SuppressionReason {
    /// Every reason, in a stable order.
    pub const ALL: [Self; 4] = [
        Self::SmallCount,
        Self::BelowMinimumDenominator,
        Self::Complementary,
        Self::SuppressedInput,
    ];

    /// The code stored in `indicator_results.suppression_reason` (and its serde spelling).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::SmallCount => "small_count",
            Self::BelowMinimumDenominator => "below_minimum_denominator",
            Self::Complementary => "complementary",
            Self::SuppressedInput => "suppressed_input",
        }
    }

    /// The reason a stored code names; `None` for a code this version does not know (never
    /// a default: an unknown reason must not read as a known one).
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether this is a primary (rather than complementary) suppression.
    #[must_use]
    pub const fn is_primary(self) -> bool {
        !matches!(self, Self::Complementary | Self::SuppressedInput)
    }

    /// Short label that does not depend on the threshold, e.g. for a table
    /// cell or a metric label.
    #[must_use]
    pub const fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::SmallCount, Lang::Fr) => "Cellule supprimée : petit effectif",
            (Self::SmallCount, Lang::En) => "Suppressed: small count",
            (Self::BelowMinimumDenominator, Lang::Fr) => {
                "Cellule supprimée : dénominateur inférieur au minimum requis"
            }
            (Self::BelowMinimumDenominator, Lang::En) => {
                "Suppressed: denominator below the reporting minimum"
            }
            (Self::Complementary, Lang::Fr) => {
                "Cellule supprimée pour empêcher le calcul d'une autre cellule supprimée"
            }
            (Self::Complementary, Lang::En) => {
                "Suppressed to prevent the calculation of another suppressed cell"
            }
            (Self::SuppressedInput, Lang::Fr) => {
                "Mesure supprimée : calculée à partir d'une cellule supprimée"
            }
            (Self::SuppressedInput, Lang::En) => "Suppressed: computed from a suppressed cell",
        }
    }

    /// Footnote text stating the threshold in force, e.g. "Cellule supprimée
    /// : effectif de 1 à 5" / "Suppressed: count from 1 to 5" for the small
    /// count reason; the other reasons give their [`label`](Self::label).
    #[must_use]
    pub fn footnote(self, lang: Lang, cfg: &DisclosureConfig) -> String {
        match (self, cfg.max_suppressed()) {
            (Self::SmallCount, Some(1)) => match lang {
                Lang::Fr => "Cellule supprimée : effectif égal à 1".to_owned(),
                Lang::En => "Suppressed: count of 1".to_owned(),
            },
            (Self::SmallCount, Some(max)) => match lang {
                Lang::Fr => format!("Cellule supprimée : effectif de 1 à {max}"),
                Lang::En => format!("Suppressed: count from 1 to {max}"),
            },
            _ => self.label(lang).to_owned(),
        }
    }
}
