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

use crate::config::Horizon;
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

pub(crate) fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
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
///
/// The draws happen in a fixed order (event days, then each admission with
/// its ED visit, then each other ED visit): the synthetic region depends on
/// it, so a change here changes every generated file.
pub(crate) fn candidate_events(
    model: &Model,
    person: &Person,
    rng: &mut ChaCha8Rng,
) -> (Vec<EdVisit>, Vec<Admission>) {
    let h = &model.horizon;
    let death = person.death_date.map(|d| h.offset(d));
    let (ed_days, adm_days) = event_days(model, person, death, rng);
    let draws = EventDraws {
        horizon: h,
        death,
        old: person.age_at_start >= 60,
        frail_old: person.age_at_start >= 75,
        share_a: model.cfg.hospital_a_share,
    };

    let mut admissions = Vec::with_capacity(adm_days.len());
    let mut ed = Vec::with_capacity(ed_days.len() + adm_days.len());
    for (i, &day) in adm_days.iter().enumerate() {
        let (admission, admitting_visit) = draws.admission(rng, i, day);
        ed.extend(admitting_visit);
        admissions.push(admission);
    }
    for &day in &ed_days {
        ed.push(draws.ed_visit(rng, day));
    }
    number_and_link(&mut ed, &mut admissions);
    (ed, admissions)
}

/// Draws the days (sorted day offsets) of the person's candidate ED visits
/// and admissions: Poisson counts at the person's rate times the AR(1) level
/// of each 3-month block, raised in the 90 days before death, and uniform
/// days within each span.
fn event_days(
    model: &Model,
    person: &Person,
    death: Option<i32>,
    rng: &mut ChaCha8Rng,
) -> (Vec<i32>, Vec<i32>) {
    let last = death.unwrap_or(i32::MAX).min(model.horizon.days() - 1);
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
            let ed_mean = person.ed_rate * level * m_ed * years;
            push_uniform_days(rng, ed_mean, s0, s1, &mut ed_days);
            let adm_mean = person.admission_rate * level * m_adm * years;
            push_uniform_days(rng, adm_mean, s0, s1, &mut adm_days);
        }
    }
    ed_days.sort_unstable();
    adm_days.sort_unstable();
    (ed_days, adm_days)
}

/// Appends a Poisson(`mean`) number of days drawn uniformly in `[from, to)`.
fn push_uniform_days(rng: &mut ChaCha8Rng, mean: f64, from: i32, to: i32, days: &mut Vec<i32>) {
    for _ in 0..poisson(rng, mean) {
        days.push(rng.random_range(from..to));
    }
}

/// What the draws of one person's events depend on, besides the random
/// stream.
struct EventDraws<'a> {
    horizon: &'a Horizon,
    /// Day offset of the death, if the person dies within the horizon.
    death: Option<i32>,
    /// Aged 60 or more at the start: older people's ED diagnoses.
    old: bool,
    /// Aged 75 or more at the start: more long-term care and ALC days.
    frail_old: bool,
    /// Share of ED visits at hospital A.
    share_a: f64,
}

impl EventDraws<'_> {
    fn hospital(&self, rng: &mut ChaCha8Rng) -> Hospital {
        if rng.random_bool(self.share_a) {
            Hospital::A
        } else {
            Hospital::B
        }
    }

    /// Draws the admission number `index` (admitted on `day`) and, when it
    /// is urgent, the ED visit it came through.
    fn admission(
        &self,
        rng: &mut ChaCha8Rng,
        index: usize,
        day: i32,
    ) -> (Admission, Option<EdVisit>) {
        let urgent = rng.random_bool(URGENT_SHARE);
        let (discharge, orientation) = self.stay_end(rng, day);
        let alc_half_days = self.alc_half_days(rng, discharge - day);
        let diagnosis = if urgent {
            choose(rng, &ADM_DX_URGENT)
        } else {
            choose(rng, &ADM_DX_ELECTIVE)
        };
        let keep_draw = rng.random();
        let site = rng.random_range(0..2u8);
        let admitting_visit =
            urgent.then(|| self.admitting_visit(rng, index, day, site, diagnosis));
        let admission = Admission {
            admit: self.horizon.date(day),
            discharge: self.horizon.date(discharge),
            urgent,
            orientation,
            diagnosis,
            site,
            alc_half_days,
            ed_visit: None,
            kept: true,
            ordinal: index as u32,
            keep_draw,
        };
        (admission, admitting_visit)
    }

    /// Draws the discharge day (log-normal length of stay, 1..=30 days, cut
    /// at the death) and where the stay ended.
    fn stay_end(&self, rng: &mut ChaCha8Rng, day: i32) -> (i32, HospOrientation) {
        let ln: f64 = rng.sample(StandardNormal);
        let los = ((1.1 + 0.75 * ln).exp().round() as i32).clamp(1, 30);
        let discharge = day + los;
        let orientation = if rng.random_bool(if self.frail_old { 0.08 } else { 0.02 }) {
            HospOrientation::LongTermCare
        } else {
            HospOrientation::Home
        };
        match self.death.filter(|&d| d <= discharge) {
            Some(d) => (d, HospOrientation::Death),
            None => (discharge, orientation),
        }
    }

    /// Draws the alternate-level-of-care half-days of a stay of `stay` days
    /// (both draws always happen, so the stream does not depend on the stay).
    fn alc_half_days(&self, rng: &mut ChaCha8Rng, stay: i32) -> u32 {
        let alc_p = if self.frail_old { 0.25 } else { 0.10 };
        let alc_draw: f64 = rng.random();
        let alc_len = rng.random_range(1..=60u32);
        if stay >= 3 && alc_draw < alc_p {
            alc_len.min(stay as u32 * 2)
        } else {
            0
        }
    }

    /// Draws the ED visit through which the urgent admission `admission`
    /// arrived: same day, same site and diagnosis, disposition "admitted".
    fn admitting_visit(
        &self,
        rng: &mut ChaCha8Rng,
        admission: usize,
        day: i32,
        site: u8,
        diagnosis: &'static str,
    ) -> EdVisit {
        let minute = arrival_minute(rng);
        let hospital = self.hospital(rng);
        let triage = [1u8, 2, 2, 3, 3, 2, 3, 1, 2, 3][rng.random_range(0..10)];
        EdVisit {
            arrival: self.horizon.date(day),
            arrival_minute: minute,
            exit: self.horizon.date(day),
            hospital,
            site,
            triage,
            disposition: EdDisposition::Admitted,
            diagnosis,
            admission: Some(admission),
            kept: true,
            ordinal: 0,
            keep_draw: 1.0,
        }
    }

    /// Draws an ED visit on `day` that did not lead to an admission.
    fn ed_visit(&self, rng: &mut ChaCha8Rng, day: i32) -> EdVisit {
        let minute = arrival_minute(rng);
        let hospital = self.hospital(rng);
        let site = rng.random_range(0..2u8);
        let mut triage = 1 + weighted_index(rng, &[0.01, 0.12, 0.42, 0.33, 0.12]) as u8;
        let diagnosis = if self.old && rng.random_bool(0.7) {
            choose(rng, &ED_DX_OLD)
        } else {
            choose(rng, &ED_DX_YOUNG)
        };
        let mut disposition = ed_disposition(rng, triage);
        let late = minute >= 20 * 60;
        let next_day = rng.random_bool(if late { 0.5 } else { 0.08 });
        let mut exit =
            day + i32::from(next_day && disposition != EdDisposition::LeftWithoutBeingSeen);
        if self.death == Some(day) {
            disposition = EdDisposition::Died;
            triage = 1;
            exit = day;
        }
        let keep_draw = rng.random();
        EdVisit {
            arrival: self.horizon.date(day),
            arrival_minute: minute,
            exit: self.horizon.date(exit),
            hospital,
            site,
            triage,
            disposition,
            diagnosis,
            admission: None,
            kept: true,
            ordinal: 0,
            keep_draw,
        }
    }
}

/// Draws how an ED visit not leading to an admission ended: less urgent
/// triage levels leave without being seen more often.
fn ed_disposition(rng: &mut ChaCha8Rng, triage: u8) -> EdDisposition {
    let lwbs_p = match triage {
        4 | 5 => 0.12,
        3 => 0.05,
        _ => 0.01,
    };
    let u: f64 = rng.random();
    if u < lwbs_p {
        EdDisposition::LeftWithoutBeingSeen
    } else if u < lwbs_p + 0.03 {
        EdDisposition::Transferred
    } else {
        EdDisposition::Home
    }
}

/// Sorts the ED visits by arrival, numbers them in that order and points
/// each urgent admission at its ED visit.
fn number_and_link(ed: &mut [EdVisit], admissions: &mut [Admission]) {
    ed.sort_by_key(|v| (v.arrival, v.arrival_minute));
    for (i, v) in ed.iter_mut().enumerate() {
        v.ordinal = i as u32;
        if let Some(a) = v.admission {
            admissions[a].ed_visit = Some(i);
        }
    }
}
