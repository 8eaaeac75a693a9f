//! An indicator cell as it leaves the warehouse: one indicator x period x org
//! unit x stratum, with its counts, value and confidence interval.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::SuppressionReason;

/// The stratum dimension and value of the total ("all") stratum.
pub const ALL: &str = "all";

/// The org unit code of the whole region (the top of the org hierarchy).
pub const REGION: &str = "region";

/// Level of an org unit. Ordered from the top: `Region < Team < Site`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    /// A health region.
    Region,
    /// A care team within a region.
    Team,
    /// A site within a team.
    Site,
}

impl OrgLevel {
    /// Lower-case name, as in serialised form.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Team => "team",
            Self::Site => "site",
        }
    }

    /// The level a stored code names (the inverse of [`as_str`](Self::as_str)); `None` for
    /// a code this version does not know.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Region, Self::Team, Self::Site]
            .into_iter()
            .find(|l| l.as_str() == code)
    }
}

impl fmt::Display for OrgLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of a cell that may hold a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountField {
    /// The numerator (e.g. events).
    Numerator,
    /// The denominator (e.g. persons).
    Denominator,
}

impl fmt::Display for CountField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Numerator => "numerator",
            Self::Denominator => "denominator",
        })
    }
}

/// Which fields of a cell are counts of persons or events, declared per
/// indicator. Only declared count fields are tested against the threshold: a
/// person-time denominator, a cost or a score is not a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CountFields {
    /// The numerator is a count.
    pub numerator: bool,
    /// The denominator is a count.
    pub denominator: bool,
}

impl CountFields {
    /// No count field (e.g. a mean cost over person-time): no primary
    /// small-count suppression.
    pub const NONE: Self = Self {
        numerator: false,
        denominator: false,
    };
    /// Only the numerator is a count (e.g. events per 1,000 person-years).
    pub const NUMERATOR: Self = Self {
        numerator: true,
        denominator: false,
    };
    /// Numerator and denominator are both counts (e.g. a proportion of persons).
    pub const BOTH: Self = Self {
        numerator: true,
        denominator: true,
    };

    /// Whether `field` is declared a count.
    #[must_use]
    pub const fn contains(self, field: CountField) -> bool {
        match field {
            CountField::Numerator => self.numerator,
            CountField::Denominator => self.denominator,
        }
    }

    /// The declared count fields, numerator first.
    pub fn iter(self) -> impl Iterator<Item = CountField> {
        [CountField::Numerator, CountField::Denominator]
            .into_iter()
            .filter(move |f| self.contains(*f))
    }
}

/// One published indicator cell.
///
/// The stratum total has `stratum_dimension == "all"` and
/// `stratum_value == "all"` ([`ALL`]); the strata of one dimension (e.g.
/// `"sex"` = `F`, `M`, `X`) add up to it. A child org unit names its parent in
/// `parent_unit`; the children of one parent add up to the parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Indicator code.
    pub indicator: String,
    /// Reporting period (e.g. `2025Q1`).
    pub period: String,
    /// Level of the org unit.
    pub org_level: OrgLevel,
    /// Org unit code.
    pub org_unit: String,
    /// Code of the parent org unit (a team's region, a site's team).
    pub parent_unit: Option<String>,
    /// Stratum dimension: `"all"`, `"sex"`, `"age_band"`, ...
    pub stratum_dimension: String,
    /// Stratum value; `"all"` for the total.
    pub stratum_value: String,
    /// Numerator (events, persons, or a sum of values).
    pub numerator: Option<f64>,
    /// Denominator (persons, person-time, responses, ...).
    pub denominator: Option<f64>,
    /// The indicator value (rate, percentage, ratio, mean, median, ...).
    pub value: Option<f64>,
    /// Lower confidence bound.
    pub ci_low: Option<f64>,
    /// Upper confidence bound.
    pub ci_high: Option<f64>,
    /// Which of numerator and denominator are counts.
    pub count_fields: CountFields,
    /// Minimum denominator below which the indicator is not reported.
    pub min_denominator: Option<f64>,
    /// Whether counts add up across strata and child org units (false for
    /// medians, percentiles and other non-additive statistics).
    pub additive: bool,
    /// Why the cell is suppressed, if it is.
    pub suppressed: Option<SuppressionReason>,
}

impl Cell {
    /// The cell's identity (no counts or values).
    #[must_use]
    pub fn key(&self) -> CellKey {
        CellKey {
            indicator: self.indicator.clone(),
            period: self.period.clone(),
            org_level: self.org_level,
            org_unit: self.org_unit.clone(),
            stratum_dimension: self.stratum_dimension.clone(),
            stratum_value: self.stratum_value.clone(),
        }
    }

    /// Whether the cell is the total ("all") stratum of its org unit.
    #[must_use]
    pub fn is_total_stratum(&self) -> bool {
        self.stratum_dimension == ALL
    }

    /// Whether the cell is suppressed.
    #[must_use]
    pub const fn is_suppressed(&self) -> bool {
        self.suppressed.is_some()
    }

    /// The value of a count-capable field.
    #[must_use]
    pub const fn field(&self, field: CountField) -> Option<f64> {
        match field {
            CountField::Numerator => self.numerator,
            CountField::Denominator => self.denominator,
        }
    }

    /// The fields that carry information and must be withheld when the cell
    /// is suppressed, with their names.
    pub(crate) fn published_fields(&self) -> [(&'static str, Option<f64>); 5] {
        [
            ("numerator", self.numerator),
            ("denominator", self.denominator),
            ("value", self.value),
            ("ci_low", self.ci_low),
            ("ci_high", self.ci_high),
        ]
    }

    /// Withholds everything derived from the cell's counts.
    pub(crate) fn clear(&mut self) {
        self.numerator = None;
        self.denominator = None;
        self.value = None;
        self.ci_low = None;
        self.ci_high = None;
    }

    /// The count by which complementary candidates are ranked: the first
    /// declared count field, else the numerator, else the denominator.
    pub(crate) fn size(&self) -> Option<f64> {
        self.count_fields
            .iter()
            .next()
            .map_or(self.numerator.or(self.denominator), |f| self.field(f))
    }
}

/// Identity of a cell: indicator x period x org unit x stratum. Holds no count,
/// value or person data; used to name cells in [`Leak`](crate::Leak) errors
/// and as the stable tie-break key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    /// Indicator code.
    pub indicator: String,
    /// Reporting period.
    pub period: String,
    /// Level of the org unit.
    pub org_level: OrgLevel,
    /// Org unit code.
    pub org_unit: String,
    /// Stratum dimension.
    pub stratum_dimension: String,
    /// Stratum value.
    pub stratum_value: String,
}

impl fmt::Display for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "indicator {}, period {}, {} {}, stratum {}={}",
            self.indicator,
            self.period,
            self.org_level,
            self.org_unit,
            self.stratum_dimension,
            self.stratum_value
        )
    }
}
