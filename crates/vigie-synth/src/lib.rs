//! Synthetic-region generator for vigie.
//!
//! [`generate`] writes, under an output directory, the CSV extracts that the
//! partners of an integrated-care region drop in the landing zone: the
//! population registry, two hospitals' ED / inpatient extracts (English and
//! French layouts, different encodings), the care-coordination program's
//! enrolments, a patient-experience survey and (unless turned off) the care pathway: the
//! community partner's contacts and the e-referral platform's register ([`pathway`]).
//! Layouts are described in [`layouts`].
//!
//! The region is seeded and deterministic: the same [`SynthConfig`] gives
//! byte-identical files whatever the thread count or chunk size, because every
//! person's random streams derive from `(seed, person index, stream)` only.
//! Memory is bounded (chunks of `chunk_size` persons are simulated in parallel
//! and appended in order), so it scales to millions of persons.
//!
//! The model has the properties the monitoring pipeline must cope with:
//! heavy-tailed utilisation that fluctuates over time (regression to the
//! mean, see [`utilisation`]), a program that enrols high users after a
//! baseline year and lowers their event rates by `program_effect` (see
//! [`program`] for the common-random-numbers design that makes the
//! counterfactual world reproducible: rerun with `program_effect = 0.0`), and
//! a small share of deliberately corrupted rows ([`corrupt`]).
//!
//! [`Simulator::person`] exposes the full simulated history of one person
//! (latent rates, candidate and averted events, eligibility day) for tests.

pub mod config;
pub mod corrupt;
mod error;
pub mod layouts;
pub mod luhn;
mod model;
pub mod pathway;
pub mod population;
pub mod program;
mod seeding;
pub mod survey;
pub mod utilisation;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

pub use config::{Horizon, SynthConfig};
pub use corrupt::Corruption;
pub use error::SynthError;
pub use layouts::Source;
pub use luhn::{hcn_valid, luhn_check_digit, luhn_valid};
pub use pathway::{Contact, ContactMode, ProviderType, Referral};
pub use population::{Person, hcn_for};
pub use program::Enrolment;
pub use survey::SurveyResponse;
pub use utilisation::{Admission, EdVisit};

use model::Model;
use seeding::{Stream, person_rng};

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// Partner source.
    pub source: Source,
    /// Path relative to the output directory, e.g. `hospital_a/ed_visits_202301.csv`.
    pub path: PathBuf,
    /// Data rows (header excluded), deliberately bad ones included.
    pub rows: u64,
    /// Deliberately bad rows by kind (kinds with zero rows omitted).
    pub bad_rows: BTreeMap<Corruption, u64>,
}

impl FileSummary {
    /// Total deliberately bad rows.
    pub fn bad_row_count(&self) -> u64 {
        self.bad_rows.values().sum()
    }

    /// Rows that should pass validation (`rows - bad_row_count`).
    pub fn good_row_count(&self) -> u64 {
        self.rows - self.bad_row_count()
    }
}

/// Region-level counts (the true numbers, before any corruption).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Persons in the registry.
    pub persons: u64,
    /// Persons who die within the horizon.
    pub deaths: u64,
    /// Persons who became eligible for the program.
    pub eligible: u64,
    /// Persons enrolled (rows of `programme/enrolments.csv`).
    pub enrolled: u64,
    /// ED visits written (hospital A rows + hospital B `URG` rows).
    pub ed_visits: u64,
    /// Admissions written (hospital B `HOSP` rows).
    pub admissions: u64,
    /// Candidate ED visits averted by the program (zero when
    /// `program_effect = 0`): the true effect on ED visits.
    pub averted_ed_visits: u64,
    /// Candidate admissions averted by the program.
    pub averted_admissions: u64,
    /// Survey responses written.
    pub survey_responses: u64,
    /// Contacts written (community partner), zero without the pathway.
    pub contacts: u64,
    /// Referrals written (e-referral platform), zero without the pathway.
    pub referrals: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.persons += o.persons;
        self.deaths += o.deaths;
        self.eligible += o.eligible;
        self.enrolled += o.enrolled;
        self.ed_visits += o.ed_visits;
        self.admissions += o.admissions;
        self.averted_ed_visits += o.averted_ed_visits;
        self.averted_admissions += o.averted_admissions;
        self.survey_responses += o.survey_responses;
        self.contacts += o.contacts;
        self.referrals += o.referrals;
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    /// Every file written, in order: registry, hospital A months, hospital B
    /// months, program, survey quarters, then (with the pathway) contact months and the
    /// referral register.
    pub files: Vec<FileSummary>,
    /// Region-level counts.
    pub totals: Totals,
}

impl SynthSummary {
    /// The file at `rel` (relative path with `/` separators).
    pub fn file(&self, rel: &str) -> Option<&FileSummary> {
        self.files.iter().find(|f| f.path == Path::new(rel))
    }

    /// Data rows of all files of `source`.
    pub fn rows(&self, source: Source) -> u64 {
        self.files
            .iter()
            .filter(|f| f.source == source)
            .map(|f| f.rows)
            .sum()
    }

    /// Deliberately bad rows of all files of `source`.
    pub fn bad_rows(&self, source: Source) -> u64 {
        self.files
            .iter()
            .filter(|f| f.source == source)
            .map(FileSummary::bad_row_count)
            .sum()
    }
}

/// The complete simulated history of one person.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonHistory {
    /// Registry attributes and latent rates.
    pub person: Person,
    /// Candidate ED visits in arrival order; `kept == false` for averted ones.
    pub ed_visits: Vec<EdVisit>,
    /// Candidate admissions in admission order; `kept == false` for averted ones.
    pub admissions: Vec<Admission>,
    /// First eligible day, if any.
    pub eligibility: Option<NaiveDate>,
    /// Enrolment, if enrolled.
    pub enrolment: Option<Enrolment>,
    /// Survey responses.
    pub surveys: Vec<SurveyResponse>,
    /// Contacts in date order (empty without the pathway).
    pub contacts: Vec<Contact>,
    /// Referrals in referral order (empty without the pathway).
    pub referrals: Vec<Referral>,
}

/// Person-level access to the model (what [`generate`] writes, unencoded).
#[derive(Debug, Clone)]
pub struct Simulator {
    model: Model,
}

impl Simulator {
    /// Validates `cfg` and prepares the model.
    pub fn new(cfg: &SynthConfig) -> Result<Self, SynthError> {
        Ok(Simulator {
            model: Model::new(cfg)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SynthConfig {
        &self.model.cfg
    }

    /// The horizon.
    pub fn horizon(&self) -> &Horizon {
        &self.model.horizon
    }

    /// Simulates person `index` (0-based; any index below
    /// [`config::MAX_PERSONS`] works, not only those below `persons`).
    pub fn person(&self, index: u64) -> PersonHistory {
        let model = &self.model;
        let seed = model.cfg.seed;
        let person = population::draw_person(model, index);
        let mut rng = person_rng(seed, index, Stream::Events);
        let (mut ed_visits, mut admissions) =
            utilisation::candidate_events(model, &person, &mut rng);
        let mut rng = person_rng(seed, index, Stream::Program);
        let (eligibility, enrolment) =
            program::apply(model, &person, &mut ed_visits, &mut admissions, &mut rng);
        let mut rng = person_rng(seed, index, Stream::Survey);
        let mut extra = person_rng(seed, index, Stream::SurveyExtra);
        let surveys = survey::responses(
            model,
            &person,
            &ed_visits,
            enrolment.as_ref(),
            &mut rng,
            &mut extra,
        );
        let (contacts, referrals) = if model.cfg.pathway {
            let mut rng = person_rng(seed, index, Stream::Pathway);
            pathway::simulate(model, &person, &admissions, enrolment.as_ref(), &mut rng)
        } else {
            (Vec::new(), Vec::new())
        };
        PersonHistory {
            person,
            ed_visits,
            admissions,
            eligibility,
            enrolment,
            surveys,
            contacts,
            referrals,
        }
    }
}

/// Generates a region under `out_dir` (created if needed; existing files of
/// the same names are overwritten). Uses the current rayon thread pool.
pub fn generate(cfg: &SynthConfig, out_dir: &Path) -> Result<SynthSummary, SynthError> {
    generate_with_progress(cfg, out_dir, &|_| {})
}

/// [`generate`] with a progress callback, called on the calling thread with
/// the number of persons written so far (after each batch of chunks, and
/// finally with `cfg.persons`).
pub fn generate_with_progress(
    cfg: &SynthConfig,
    out_dir: &Path,
    progress: &dyn Fn(u64),
) -> Result<SynthSummary, SynthError> {
    let sim = Simulator::new(cfg)?;
    std::fs::create_dir_all(out_dir).map_err(|e| SynthError::io(out_dir, e))?;
    writer::run(&sim, out_dir, progress)
}
