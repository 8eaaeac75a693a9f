//! Population model: demographics, health card numbers, death dates and each
//! person's long-run utilisation rates.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};

use crate::config::MAX_PERSONS;
use crate::luhn::luhn_check_digit;
use crate::model::Model;
use crate::seeding::{Stream, hash, person_rng};

/// Registry sex code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Female.
    F,
    /// Male.
    M,
    /// Neither / not disclosed (a tiny share).
    X,
}

impl Sex {
    /// Registry code `F`, `M` or `X`.
    pub fn code(self) -> &'static str {
        match self {
            Sex::F => "F",
            Sex::M => "M",
            Sex::X => "X",
        }
    }
}

/// Preferred language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// French (~35%).
    Fr,
    /// English (~60%).
    En,
    /// Any other language (~5%).
    Other,
}

impl Language {
    /// Registry code `fr`, `en` or `other`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
            Language::Other => "other",
        }
    }
}

/// Number of residence areas (`A01` to `A20`).
pub const AREAS: u32 = 20;

/// The deprivation quintile of area `area` (1 = most deprived): the areas are spread over
/// the quintiles, four each, urban and rural alike (7 is coprime with 20, so `7·area mod 20`
/// visits every residue once).
pub fn deprivation_quintile(area: u32) -> u32 {
    (area * 7 % AREAS) / (AREAS / 5) + 1
}

/// Rurality of the residence area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rurality {
    /// Urban.
    Urban,
    /// Rural.
    Rural,
}

impl Rurality {
    /// Registry code `urban` or `rural`.
    pub fn code(self) -> &'static str {
        match self {
            Rurality::Urban => "urban",
            Rurality::Rural => "rural",
        }
    }
}

/// One person of the registry with their latent utilisation rates.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// Global 0-based index (row order of the registry).
    pub index: u64,
    /// 10-digit health card number, Luhn-valid, unique within a region.
    pub hcn: String,
    /// Birth year.
    pub birth_year: i32,
    /// Age in completed years at the horizon start (0..=100).
    pub age_at_start: u32,
    /// Sex.
    pub sex: Sex,
    /// Preferred language.
    pub language: Language,
    /// Rurality.
    pub rurality: Rurality,
    /// Area number 1..=20 (written `A01`..`A20`).
    pub area: u32,
    /// Attributed team number 1..=teams (written `T01`..).
    pub team: u32,
    /// Death date if the person dies within the horizon.
    pub death_date: Option<NaiveDate>,
    /// Long-run mean of ED visits per year not caused by an urgent admission.
    pub ed_rate: f64,
    /// Long-run mean of admissions per year.
    pub admission_rate: f64,
}

impl Person {
    /// `A01`..`A20`.
    pub fn area_code(&self) -> String {
        format!("A{:02}", self.area)
    }

    /// `T01`..`T99`.
    pub fn team_code(&self) -> String {
        format!("T{:02}", self.team)
    }
}

/// One age band: inclusive bounds, population weight (%), relative ED rate,
/// relative admission rate.
pub(crate) struct AgeBand {
    pub lo: u32,
    pub hi: u32,
    pub weight: f64,
    pub ed: f64,
    pub adm: f64,
}

/// Roughly the Canadian age pyramid with age gradients of ED use (U-shaped)
/// and admissions (steeply increasing).
pub(crate) const AGE_BANDS: [AgeBand; 10] = [
    AgeBand {
        lo: 0,
        hi: 4,
        weight: 5.0,
        ed: 1.6,
        adm: 0.5,
    },
    AgeBand {
        lo: 5,
        hi: 14,
        weight: 11.0,
        ed: 0.7,
        adm: 0.15,
    },
    AgeBand {
        lo: 15,
        hi: 24,
        weight: 12.0,
        ed: 1.0,
        adm: 0.3,
    },
    AgeBand {
        lo: 25,
        hi: 34,
        weight: 14.0,
        ed: 0.9,
        adm: 0.45,
    },
    AgeBand {
        lo: 35,
        hi: 44,
        weight: 13.5,
        ed: 0.85,
        adm: 0.45,
    },
    AgeBand {
        lo: 45,
        hi: 54,
        weight: 12.5,
        ed: 0.85,
        adm: 0.7,
    },
    AgeBand {
        lo: 55,
        hi: 64,
        weight: 13.5,
        ed: 0.95,
        adm: 1.1,
    },
    AgeBand {
        lo: 65,
        hi: 74,
        weight: 10.5,
        ed: 1.2,
        adm: 2.0,
    },
    AgeBand {
        lo: 75,
        hi: 84,
        weight: 5.5,
        ed: 1.7,
        adm: 3.6,
    },
    AgeBand {
        lo: 85,
        hi: 100,
        weight: 2.0,
        ed: 2.4,
        adm: 5.5,
    },
];

/// Shape of the gamma frailty behind the long-run rates: small shape means a
/// heavy tail (most people rarely use the ED, a few percent use it a lot).
pub(crate) const FRAILTY_SHAPE: f64 = 0.25;

/// The health card number of person `index` in a region seeded with `seed`.
///
/// The 9-digit payload is an affine bijection of the index on
/// `[100_000_000, 1_000_000_000)` (multiplier coprime with 9·10⁸, offset
/// derived from the seed), so HCNs are unique for up to 900 million persons
/// and look unordered; the 10th digit is the Luhn check digit.
pub fn hcn_for(seed: u64, index: u64) -> String {
    const SPACE: u64 = MAX_PERSONS;
    const MULT: u64 = 618_033_989; // odd, not a multiple of 3 or 5
    let offset = hash(&[seed, 0x0048_434E]) % SPACE;
    let payload = 100_000_000 + ((index % SPACE) * MULT + offset) % SPACE;
    let first9 = payload.to_string();
    let check = luhn_check_digit(&first9);
    format!("{first9}{check}")
}

/// Annual probability of death at `age` (Gompertz-like).
fn annual_mortality(age: f64) -> f64 {
    (0.000_04 * (0.088 * age).exp()).min(0.5)
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut u = rng.random::<f64>() * total;
    for &(item, w) in items {
        if u < w {
            return item;
        }
        u -= w;
    }
    items[items.len() - 1].0
}

/// Draws person `index` from its population stream.
pub(crate) fn draw_person(model: &Model, index: u64) -> Person {
    let cfg = &model.cfg;
    let mut rng = person_rng(cfg.seed, index, Stream::Population);

    let band_weights: Vec<(usize, f64)> = AGE_BANDS
        .iter()
        .enumerate()
        .map(|(i, b)| (i, b.weight))
        .collect();
    let band = &AGE_BANDS[pick(&mut rng, &band_weights)];
    let age = rng.random_range(band.lo..=band.hi);
    let birth_year = model.horizon.start().year() - age as i32;

    let sex = pick(&mut rng, &[(Sex::F, 50.4), (Sex::M, 49.3), (Sex::X, 0.3)]);
    let language = pick(
        &mut rng,
        &[
            (Language::Fr, 35.0),
            (Language::En, 60.0),
            (Language::Other, 5.0),
        ],
    );
    let area = rng.random_range(1..=AREAS);
    let rural_p = if area >= 15 { 0.75 } else { 0.08 };
    let rurality = if rng.random_bool(rural_p) {
        Rurality::Rural
    } else {
        Rurality::Urban
    };
    // Teams cover contiguous blocks of areas; 15% are attributed elsewhere.
    let home_team = (area - 1) * cfg.teams / 20 + 1;
    let team = if rng.random_bool(0.85) {
        home_team
    } else {
        rng.random_range(1..=cfg.teams)
    };

    // Heavy-tailed frailty shared by ED use and admissions (correlation),
    // plus an independent component for admissions. Both have mean 1.
    let g1 = model.frailty.sample(&mut rng);
    let g2 = model.frailty.sample(&mut rng);
    let ed_rate = model.ed_indep_mean * band.ed / model.ed_norm * g1;
    let admission_rate =
        cfg.admission_rate_mean * band.adm / model.adm_norm * (0.6 * g1 + 0.4 * g2);

    // Death: yearly Bernoulli by age, more likely for frail persons.
    let frailty_factor = 0.8 + 0.2 * g1.min(5.0);
    let days = model.horizon.days();
    let mut death_date = None;
    let mut year_start = 0;
    let mut year = 0.0;
    while year_start < days {
        let q = (annual_mortality(f64::from(age) + year) * frailty_factor).min(0.9);
        let u: f64 = rng.random();
        let day = year_start + rng.random_range(0..365);
        if u < q && day < days {
            death_date = Some(model.horizon.date(day));
            break;
        }
        year_start += 365;
        year += 1.0;
    }

    Person {
        index,
        hcn: hcn_for(cfg.seed, index),
        birth_year,
        age_at_start: age,
        sex,
        language,
        rurality,
        area,
        team,
        death_date,
        ed_rate,
        admission_rate,
    }
}

/// Population-weighted mean of the relative age factors (ED, admissions), used
/// to normalise rates so the configured means hold on average.
pub(crate) fn age_norms() -> (f64, f64) {
    let w: f64 = AGE_BANDS.iter().map(|b| b.weight).sum();
    let ed = AGE_BANDS.iter().map(|b| b.weight * b.ed).sum::<f64>() / w;
    let adm = AGE_BANDS.iter().map(|b| b.weight * b.adm).sum::<f64>() / w;
    (ed, adm)
}

/// The mean-1 gamma frailty distribution.
pub(crate) fn frailty() -> Result<Gamma<f64>, rand_distr::GammaError> {
    Gamma::new(FRAILTY_SHAPE, 1.0 / FRAILTY_SHAPE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::luhn::hcn_valid;
    use std::collections::HashSet;

    #[test]
    fn hcns_are_unique_and_valid() {
        let mut seen = HashSet::new();
        for i in 0..100_000 {
            let h = hcn_for(7, i);
            assert_eq!(h.len(), 10);
            assert!(hcn_valid(&h), "{h}");
            assert!(seen.insert(h));
        }
        assert_ne!(hcn_for(7, 0), hcn_for(8, 0));
    }
}
