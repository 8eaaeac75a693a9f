//! Builds the evaluation inputs from a synthetic region, in memory, through
//! `vigie_synth::Simulator::person` (no files).

#![allow(dead_code)]

use chrono::NaiveDate;
use rayon::prelude::*;
use vigie_evaluation::{Enrolment, EventSeries, Events, Population, Sex, day_of};
use vigie_synth::program::PROGRAM_CODE;
use vigie_synth::{PersonHistory, Simulator, SynthConfig};

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The inputs built from one synthetic world.
pub struct Region {
    pub population: Population,
    pub events: Events,
    pub enrolments: Vec<Enrolment>,
    /// The simulator's own eligibility date per person.
    pub synth_eligibility: Vec<Option<NaiveDate>>,
    /// Per person: (ED days, admission days) of the events that happened.
    pub kept: Vec<(Vec<i32>, Vec<i32>)>,
    /// Per person: (ED days, admission days) of all candidate events
    /// (what would have happened without the program).
    pub candidates: Vec<(Vec<i32>, Vec<i32>)>,
    pub data_start: NaiveDate,
    pub data_end: NaiveDate,
}

fn sex(s: vigie_synth::population::Sex) -> Sex {
    match s {
        vigie_synth::population::Sex::F => Sex::F,
        vigie_synth::population::Sex::M => Sex::M,
        vigie_synth::population::Sex::X => Sex::X,
    }
}

pub fn config(persons: u64, seed: u64, program_effect: f64) -> SynthConfig {
    SynthConfig {
        seed,
        persons,
        program_effect,
        enrol_probability: 0.5,
        bad_row_rate: 0.0,
        start: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN),
        months: 36,
        ..SynthConfig::default()
    }
}

pub fn region(cfg: &SynthConfig) -> Result<Region, Box<dyn std::error::Error + Send + Sync>> {
    let sim = Simulator::new(cfg)?;
    let histories: Vec<PersonHistory> = (0..cfg.persons)
        .into_par_iter()
        .map(|i| sim.person(i))
        .collect();
    let mut population = Population::new();
    let mut enrolments = Vec::new();
    let (mut ed_p, mut ed_d, mut adm_p, mut adm_d) = (vec![], vec![], vec![], vec![]);
    let mut kept = Vec::with_capacity(histories.len());
    let mut candidates = Vec::with_capacity(histories.len());
    for h in &histories {
        let p = &h.person;
        let key = population.push(p.birth_year, sex(p.sex), Some(&p.team_code()), p.death_date);
        let ked: Vec<i32> = h
            .ed_visits
            .iter()
            .filter(|v| v.kept)
            .map(|v| day_of(v.arrival))
            .collect();
        let kadm: Vec<i32> = h
            .admissions
            .iter()
            .filter(|a| a.kept)
            .map(|a| day_of(a.admit))
            .collect();
        for &d in &ked {
            ed_p.push(key);
            ed_d.push(d);
        }
        for &d in &kadm {
            adm_p.push(key);
            adm_d.push(d);
        }
        kept.push((ked, kadm));
        candidates.push((
            h.ed_visits.iter().map(|v| day_of(v.arrival)).collect(),
            h.admissions.iter().map(|a| day_of(a.admit)).collect(),
        ));
        if let Some(e) = &h.enrolment {
            enrolments.push(Enrolment {
                person: key,
                program: PROGRAM_CODE.to_owned(),
                team: p.team_code(),
                enrolment_date: e.enrolment,
            });
        }
    }
    let n = population.len();
    let events = Events::new(
        EventSeries::from_columns(n, &ed_p, &ed_d)?,
        EventSeries::from_columns(n, &adm_p, &adm_d)?,
    )?;
    Ok(Region {
        population,
        events,
        enrolments,
        synth_eligibility: histories.iter().map(|h| h.eligibility).collect(),
        kept,
        candidates,
        data_start: sim.horizon().start(),
        data_end: sim.horizon().end(),
    })
}
