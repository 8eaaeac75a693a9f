//! Patient-experience survey: who answers, when, in which language, and what.
//!
//! Each calendar quarter, a person with a (kept) ED visit in the quarter
//! answers with probability `survey_rate`, and an enrolled program
//! participant with probability `survey_rate_enrolled`; the response is
//! completed after the triggering visit (or enrolment) and before the end of
//! the quarter and death. 30% of responses are anonymous (no HCN). Answers
//! to Q1..Q6 are on a 4-point frequency scale, Q7 (overall rating of care)
//! on a 5-point rating scale and Q8 (likelihood to recommend) on a 0-10
//! scale, all driven by a per-person positivity plus item noise;
//! participants enrolled before completion answer more positively. The
//! platform sends who answered (patient, caregiver, proxy) for 90% of
//! responses.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::model::Model;
use crate::population::{Language, Person};
use crate::program::Enrolment;
use crate::utilisation::EdVisit;

/// Number of questions `Q1..Q6`.
pub const QUESTIONS: usize = 6;

/// Language of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SurveyLang {
    /// French (`Jamais`, `Parfois`, `Souvent`, `Toujours`, `S.O.`).
    Fr,
    /// English (`Never`, `Sometimes`, `Usually`, `Always`, `N/A`).
    En,
}

impl SurveyLang {
    /// `fr` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            SurveyLang::Fr => "fr",
            SurveyLang::En => "en",
        }
    }
}

/// One answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Frequency level 0 (never) ..= 3 (always).
    Level(u8),
    /// Not applicable (`N/A` / `S.O.`).
    NotApplicable,
    /// Left blank.
    Blank,
}

impl Answer {
    /// The text written in the export for a response in `lang`.
    pub fn text(self, lang: SurveyLang) -> &'static str {
        const EN: [&str; 4] = ["Never", "Sometimes", "Usually", "Always"];
        const FR: [&str; 4] = ["Jamais", "Parfois", "Souvent", "Toujours"];
        match (self, lang) {
            (Answer::Level(l), SurveyLang::En) => EN[usize::from(l.min(3))],
            (Answer::Level(l), SurveyLang::Fr) => FR[usize::from(l.min(3))],
            (Answer::NotApplicable, SurveyLang::En) => "N/A",
            (Answer::NotApplicable, SurveyLang::Fr) => "S.O.",
            (Answer::Blank, _) => "",
        }
    }
}

/// An answer to the overall rating of care (Q7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rating {
    /// Level 0 (poor) ..= 4 (excellent).
    Level(u8),
    /// Left blank.
    Blank,
}

impl Rating {
    /// The text written in the export for a response in `lang`.
    pub fn text(self, lang: SurveyLang) -> &'static str {
        const EN: [&str; 5] = ["Poor", "Fair", "Good", "Very good", "Excellent"];
        const FR: [&str; 5] = ["Mauvais", "Passable", "Bon", "Très bon", "Excellent"];
        match (self, lang) {
            (Rating::Level(l), SurveyLang::En) => EN[usize::from(l.min(4))],
            (Rating::Level(l), SurveyLang::Fr) => FR[usize::from(l.min(4))],
            (Rating::Blank, _) => "",
        }
    }
}

/// Who answered, as the platform sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Respondent {
    /// The patient.
    Patient,
    /// A caregiver, about the patient's care.
    Caregiver,
    /// A proxy, for the patient.
    Proxy,
}

impl Respondent {
    /// The text written in the export for a response in `lang`.
    pub fn text(self, lang: SurveyLang) -> &'static str {
        match (self, lang) {
            (Respondent::Patient, _) => "patient",
            (Respondent::Caregiver, SurveyLang::En) => "caregiver",
            (Respondent::Caregiver, SurveyLang::Fr) => "proche aidant",
            (Respondent::Proxy, SurveyLang::En) => "proxy",
            (Respondent::Proxy, SurveyLang::Fr) => "mandataire",
        }
    }
}

/// One survey response.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResponse {
    /// Index of the calendar quarter (see [`crate::Horizon::quarters`]).
    pub quarter: usize,
    /// Completion date.
    pub completed: NaiveDate,
    /// True when the HCN is not exported.
    pub anonymous: bool,
    /// Response language.
    pub lang: SurveyLang,
    /// Answers to Q1..Q6.
    pub answers: [Answer; QUESTIONS],
    /// Q7, the overall rating of care.
    pub rating: Rating,
    /// Q8, the likelihood to recommend the team, 0 to 10 (None: left blank).
    pub recommend: Option<u8>,
    /// Who answered (None: the platform did not say).
    pub respondent: Option<Respondent>,
    /// True when the respondent was enrolled in the program before completion.
    pub enrolled: bool,
}

const ITEM_OFFSET: [f64; QUESTIONS] = [0.3, 0.0, -0.2, 0.1, -0.3, 0.2];
const ITEM_NA: [f64; QUESTIONS] = [0.03, 0.03, 0.03, 0.03, 0.15, 0.15];
const PROGRAM_BOOST: f64 = 0.6;

/// Survey responses of one person from its survey stream (`extra`: the stream of the rating,
/// recommendation and respondent type).
pub(crate) fn responses(
    model: &Model,
    person: &Person,
    ed: &[EdVisit],
    enrolment: Option<&Enrolment>,
    rng: &mut ChaCha8Rng,
    extra: &mut ChaCha8Rng,
) -> Vec<SurveyResponse> {
    let h = &model.horizon;
    let last_alive = person
        .death_date
        .map_or(h.days() - 1, |d| h.offset(d).min(h.days() - 1));
    let enrol_day = enrolment.map(|e| h.offset(e.enrolment));
    let positivity = 0.4 + 0.7 * rng.sample::<f64, _>(StandardNormal);
    let mut out = Vec::new();
    for (q, &(q0, q1)) in model.quarters.iter().enumerate() {
        let u: f64 = rng.random();
        let ed_trigger = ed
            .iter()
            .filter(|v| v.kept)
            .map(|v| h.offset(v.arrival))
            .find(|&d| d >= q0 && d < q1);
        let enrol_trigger = enrol_day.filter(|&e| e < q1).map(|e| e.max(q0));
        let (trigger, p) = match (ed_trigger, enrol_trigger) {
            (None, None) => continue,
            (Some(t), None) => (t, model.cfg.survey_rate),
            (None, Some(t)) => (t, model.cfg.survey_rate_enrolled),
            (Some(a), Some(b)) => (
                a.min(b),
                model.cfg.survey_rate.max(model.cfg.survey_rate_enrolled),
            ),
        };
        let until = (q1 - 1).min(last_alive);
        if u >= p || trigger + 1 > until {
            continue;
        }
        let completed = rng.random_range(trigger + 1..=until);
        let enrolled = enrol_day.is_some_and(|e| e < completed);
        let anonymous = rng.random_bool(0.30);
        let lang = match person.language {
            Language::Fr => rng.random_bool(0.95),
            Language::En => rng.random_bool(0.03),
            Language::Other => rng.random_bool(0.35),
        };
        let lang = if lang { SurveyLang::Fr } else { SurveyLang::En };
        let boost = if enrolled { PROGRAM_BOOST } else { 0.0 };
        let mut answers = [Answer::Blank; QUESTIONS];
        for (i, a) in answers.iter_mut().enumerate() {
            let noise: f64 = rng.sample(StandardNormal);
            let u: f64 = rng.random();
            *a = if u < 0.02 {
                Answer::Blank
            } else if u < 0.02 + ITEM_NA[i] {
                Answer::NotApplicable
            } else {
                let x = positivity + boost + ITEM_OFFSET[i] + 0.8 * noise;
                Answer::Level(if x < -0.9 {
                    0
                } else if x < -0.1 {
                    1
                } else if x < 0.7 {
                    2
                } else {
                    3
                })
            };
        }
        let (rating, recommend, respondent) = extra_answers(positivity + boost, extra);
        out.push(SurveyResponse {
            quarter: q,
            completed: h.date(completed),
            anonymous,
            lang,
            answers,
            rating,
            recommend,
            respondent,
            enrolled,
        });
    }
    out
}

/// Q7, Q8 and the respondent type of one response, from the respondent's positivity
/// (program boost included).
fn extra_answers(
    positivity: f64,
    rng: &mut ChaCha8Rng,
) -> (Rating, Option<u8>, Option<Respondent>) {
    let noise: f64 = rng.sample(StandardNormal);
    let rating = if rng.random::<f64>() < 0.02 {
        Rating::Blank
    } else {
        let x = positivity + 0.8 * noise;
        Rating::Level(if x < -1.2 {
            0
        } else if x < -0.5 {
            1
        } else if x < 0.2 {
            2
        } else if x < 0.9 {
            3
        } else {
            4
        })
    };
    let noise: f64 = rng.sample(StandardNormal);
    let recommend = if rng.random::<f64>() < 0.02 {
        None
    } else {
        let score = (7.0 + 2.0 * (positivity + 0.9 * noise)).round();
        Some(score.clamp(0.0, 10.0) as u8)
    };
    let u: f64 = rng.random();
    let respondent = if u < 0.10 {
        None
    } else if u < 0.78 {
        Some(Respondent::Patient)
    } else if u < 0.92 {
        Some(Respondent::Caregiver)
    } else {
        Some(Respondent::Proxy)
    };
    (rating, recommend, respondent)
}
