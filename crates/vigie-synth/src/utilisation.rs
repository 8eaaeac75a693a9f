//! Utilisation model: candidate ED visits and inpatient admissions of one
//! person, generated at the no-program rate.
//!
//! A person's event rate is their long-run rate (see
//! [`crate::population::Person`]) times a level that fluctuates around 1: a
//! log-normal AR(1) process redrawn every 3 months (`rho = 0.3`,
//! `sigma = 0.7`). A person selected for a high-use year therefore falls back
//! toward their long-run mean in the next year without any intervention
//! (regression to the mean). Given the rate, counts are Poisson and days are
//! uniform. Rates rise in the 90 days before death (×3 ED, ×5 admissions);
//! there are no events after death.
//!
//! Urgent admissions (70%) arrive through an ED visit on the admission day
//! (disposition "admitted"); those ED visits count as ED visits. Elective
//! admissions have no ED visit. Events may overlap (an ED visit during a
//! stay): filtering overlaps would make events depend on each other and
//! break the counterfactual thinning.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

use crate::model::{Model, URGENT_SHARE};
use crate::population::Person;

const AR_RHO: f64 = 0.3;
const AR_SIGMA: f64 = 0.7;
const END_OF_LIFE_DAYS: i32 = 90;
const END_OF_LIFE_ED: f64 = 3.0;
const END_OF_LIFE_ADM: f64 = 5.0;

/// Hospital of an ED visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hospital {
    /// Hospital A (English NACRS-like extract, ~60% of ED visits).
    A,
    /// Hospital B (French combined extract; all admissions).
    B,
}

/// How an ED visit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdDisposition {
    /// Discharged home.
    Home,
    /// Left without being seen.
    LeftWithoutBeingSeen,
    /// Transferred to another facility.
    Transferred,
    /// Admitted (always paired with an urgent admission at hospital B).
    Admitted,
    /// Died in the ED (only on the person's death date).
    Died,
}

impl EdDisposition {
    /// Hospital A `DISPOSITION_CODE`.
    pub fn code_a(self) -> &'static str {
        match self {
            EdDisposition::Home => "01",
            EdDisposition::LeftWithoutBeingSeen => "02",
            EdDisposition::Transferred => "03",
            EdDisposition::Admitted => "06",
            EdDisposition::Died => "10",
        }
    }

    /// Hospital B `ORIENTATION` of a `URG` episode.
    pub fn label_b(self) -> &'static str {
        match self {
            EdDisposition::Home => "DOMICILE",
            EdDisposition::LeftWithoutBeingSeen => "PARTI SANS ÊTRE VU",
            EdDisposition::Transferred => "TRANSFERT",
            EdDisposition::Admitted => "HOSPITALISÉ",
            EdDisposition::Died => "DÉCÈS",
        }
    }
}

/// How an inpatient stay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HospOrientation {
    /// Discharged home.
    Home,
    /// Discharged to long-term care.
    LongTermCare,
    /// Died in hospital (discharge date = death date).
    Death,
}

impl HospOrientation {
    /// Hospital B `ORIENTATION` of a `HOSP` episode.
    pub fn label_b(self) -> &'static str {
        match self {
            HospOrientation::Home => "DOMICILE",
            HospOrientation::LongTermCare => "SOINS LONGUE DURÉE",
            HospOrientation::Death => "DÉCÈS",
        }
    }
}

/// One ED visit.
#[derive(Debug, Clone, PartialEq)]
pub struct EdVisit {
    /// Arrival date.
    pub arrival: NaiveDate,
    /// Arrival time in minutes after midnight.
    pub arrival_minute: u16,
    /// Date of leaving the ED (arrival day or the next).
    pub exit: NaiveDate,
    /// Hospital.
    pub hospital: Hospital,
    /// Site / facility (0 or 1): `HA-01`/`HA-02`, Site Nord/Site Sud.
    pub site: u8,
    /// CTAS triage level 1..=5.
    pub triage: u8,
    /// Disposition.
    pub disposition: EdDisposition,
    /// ICD-10-CA-like main problem.
    pub diagnosis: &'static str,
    /// Index into the admissions of the urgent admission this visit led to.
    pub admission: Option<usize>,
    /// False when the program averted this candidate visit.
    pub kept: bool,
    /// Stable ordinal among the person's candidate ED visits.
    pub(crate) ordinal: u32,
    /// Uniform draw deciding thinning (unused for admission-paired visits).
    pub(crate) keep_draw: f64,
}

/// One inpatient stay (always at hospital B).
#[derive(Debug, Clone, PartialEq)]
pub struct Admission {
    /// Admission date.
    pub admit: NaiveDate,
    /// Discharge date (`admit` + 1..=30 days, or the death date).
    pub discharge: NaiveDate,
    /// Urgent (through the ED) or elective.
    pub urgent: bool,
    /// Discharge destination.
    pub orientation: HospOrientation,
    /// ICD-10-CA-like main diagnosis.
    pub diagnosis: &'static str,
    /// Hospital B site (0 = Site Nord, 1 = Site Sud); the ED visit of an
    /// urgent admission uses the same site number.
    pub site: u8,
    /// Alternate-level-of-care days times two (half-day precision), never
    /// more than the length of stay.
    pub alc_half_days: u32,
    /// Index into the ED visits of the visit that led to an urgent admission.
    pub ed_visit: Option<usize>,
    /// False when the program averted this candidate admission (its ED
    /// visit is averted with it).
    pub kept: bool,
    pub(crate) ordinal: u32,
    pub(crate) keep_draw: f64,
}

const ED_DX_YOUNG: [&str; 14] = [
    "R10.4", "S93.4", "J06.9", "N39.0", "R51", "L03.1", "S61.0", "T78.4", "F41.9", "R07.4",
    "K59.0", "S01.8", "J45.9", "F10.0",
];
const ED_DX_OLD: [&str; 10] = [
    "R07.4", "J44.1", "I50.0", "J18.9", "N39.0", "R55", "I48.9", "R10.4", "S72.0", "E11.9",
];
const ADM_DX_URGENT: [&str; 10] = [
    "I50.0", "J44.1", "J18.9", "N39.0", "I21.4", "I63.9", "A41.9", "S72.0", "K56.6", "F20.9",
];
const ADM_DX_ELECTIVE: [&str; 6] = ["M17.1", "K80.2", "Z51.1", "C34.9", "I25.1", "C18.7"];

/// Relative ED arrivals by hour of day.
const HOUR_WEIGHTS: [f64; 24] = [
    1.2, 1.0, 0.8, 0.6, 0.5, 0.5, 0.7, 1.2, 2.2, 3.0, 3.3, 3.3, 3.2, 3.1, 3.0, 3.0, 3.0, 3.0, 3.0,
    2.8, 2.5, 2.2, 1.8, 1.5,
];

fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        // Knuth's multiplication method: exact and fast for small means.
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p: f64 = rng.random();
        while p > limit {
            k += 1;
            p *= rng.random::<f64>();
        }
        k
    } else {
        Poisson::new(lambda).map_or(0, |d| d.sample(rng) as u32)
    }
}

fn weighted_index(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if u < w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

fn arrival_minute(rng: &mut ChaCha8Rng) -> u16 {
    let hour = weighted_index(rng, &HOUR_WEIGHTS) as u16;
    hour * 60 + rng.random_range(0..60u16)
}

fn choose<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// Generates the candidate (no-program) events of `person` from its event
/// stream. All events are marked kept; [`crate::program`] thins them.
pub(crate) fn candidate_events(
    model: &Model,
    person: &Person,
    rng: &mut ChaCha8Rng,
) -> (Vec<EdVisit>, Vec<Admission>) {
    let h = &model.horizon;
    let death = person.death_date.map(|d| h.offset(d));
    let last = death.unwrap_or(i32::MAX).min(h.days() - 1);
    let eol_from = death.map(|d| d - END_OF_LIFE_DAYS + 1);

    let mut ed_days = Vec::new();
    let mut adm_days = Vec::new();
    let mut z: f64 = rng.sample(StandardNormal);
    for (bi, &(b0, b1)) in model.blocks.iter().enumerate() {
        if bi > 0 {
            let eps: f64 = rng.sample(StandardNormal);
            z = AR_RHO * z + (1.0 - AR_RHO * AR_RHO).sqrt() * eps;
        }
        let level = (AR_SIGMA * z - AR_SIGMA * AR_SIGMA / 2.0).exp();
        let end = b1.min(last + 1);
        if end <= b0 {
            break;
        }
        let cut = eol_from.map_or(end, |e| e.clamp(b0, end));
        for (s0, s1, m_ed, m_adm) in [
            (b0, cut, 1.0, 1.0),
            (cut, end, END_OF_LIFE_ED, END_OF_LIFE_ADM),
        ] {
            if s1 <= s0 {
                continue;
            }
            let years = f64::from(s1 - s0) / 365.25;
            for _ in 0..poisson(rng, person.ed_rate * level * m_ed * years) {
                ed_days.push(rng.random_range(s0..s1));
            }
            for _ in 0..poisson(rng, person.admission_rate * level * m_adm * years) {
                adm_days.push(rng.random_range(s0..s1));
            }
        }
    }
    ed_days.sort_unstable();
    adm_days.sort_unstable();

    let old = person.age_at_start >= 60;
    let frail_old = person.age_at_start >= 75;
    let share_a = model.cfg.hospital_a_share;
    let hospital = |rng: &mut ChaCha8Rng| {
        if rng.random_bool(share_a) {
            Hospital::A
        } else {
            Hospital::B
        }
    };

    let mut admissions = Vec::with_capacity(adm_days.len());
    let mut ed = Vec::with_capacity(ed_days.len() + adm_days.len());
    for (i, &day) in adm_days.iter().enumerate() {
        let urgent = rng.random_bool(URGENT_SHARE);
        let ln: f64 = rng.sample(StandardNormal);
        let los = ((1.1 + 0.75 * ln).exp().round() as i32).clamp(1, 30);
        let mut discharge = day + los;
        let mut orientation = if rng.random_bool(if frail_old { 0.08 } else { 0.02 }) {
            HospOrientation::LongTermCare
        } else {
            HospOrientation::Home
        };
        if let Some(d) = death.filter(|&d| d <= discharge) {
            discharge = d;
            orientation = HospOrientation::Death;
        }
        let stay = discharge - day;
        let alc_p = if frail_old { 0.25 } else { 0.10 };
        let alc_draw: f64 = rng.random();
        let alc_len = rng.random_range(1..=60u32);
        let alc_half_days = if stay >= 3 && alc_draw < alc_p {
            alc_len.min(stay as u32 * 2)
        } else {
            0
        };
        let diagnosis = if urgent {
            choose(rng, &ADM_DX_URGENT)
        } else {
            choose(rng, &ADM_DX_ELECTIVE)
        };
        let keep_draw = rng.random();
        let site = rng.random_range(0..2u8);
        if urgent {
            let minute = arrival_minute(rng);
            let hosp = hospital(rng);
            let triage = [1u8, 2, 2, 3, 3, 2, 3, 1, 2, 3][rng.random_range(0..10)];
            ed.push(EdVisit {
                arrival: h.date(day),
                arrival_minute: minute,
                exit: h.date(day),
                hospital: hosp,
                site,
                triage,
                disposition: EdDisposition::Admitted,
                diagnosis,
                admission: Some(i),
                kept: true,
                ordinal: 0,
                keep_draw: 1.0,
            });
        }
        admissions.push(Admission {
            admit: h.date(day),
            discharge: h.date(discharge),
            urgent,
            orientation,
            diagnosis,
            site,
            alc_half_days,
            ed_visit: None,
            kept: true,
            ordinal: i as u32,
            keep_draw,
        });
    }

    for &day in &ed_days {
        let minute = arrival_minute(rng);
        let hosp = hospital(rng);
        let site = rng.random_range(0..2u8);
        let mut triage = 1 + weighted_index(rng, &[0.01, 0.12, 0.42, 0.33, 0.12]) as u8;
        let diagnosis = if old && rng.random_bool(0.7) {
            choose(rng, &ED_DX_OLD)
        } else {
            choose(rng, &ED_DX_YOUNG)
        };
        let lwbs_p = match triage {
            4 | 5 => 0.12,
            3 => 0.05,
            _ => 0.01,
        };
        let u: f64 = rng.random();
        let mut disposition = if u < lwbs_p {
            EdDisposition::LeftWithoutBeingSeen
        } else if u < lwbs_p + 0.03 {
            EdDisposition::Transferred
        } else {
            EdDisposition::Home
        };
        let late = minute >= 20 * 60;
        let next_day = rng.random_bool(if late { 0.5 } else { 0.08 });
        let mut exit =
            day + i32::from(next_day && disposition != EdDisposition::LeftWithoutBeingSeen);
        if death == Some(day) {
            disposition = EdDisposition::Died;
            triage = 1;
            exit = day;
        }
        let keep_draw = rng.random();
        ed.push(EdVisit {
            arrival: h.date(day),
            arrival_minute: minute,
            exit: h.date(exit),
            hospital: hosp,
            site,
            triage,
            disposition,
            diagnosis,
            admission: None,
            kept: true,
            ordinal: 0,
            keep_draw,
        });
    }

    ed.sort_by_key(|v| (v.arrival, v.arrival_minute));
    for (i, v) in ed.iter_mut().enumerate() {
        v.ordinal = i as u32;
        if let Some(a) = v.admission {
            admissions[a].ed_visit = Some(i);
        }
    }
    (ed, admissions)
}
