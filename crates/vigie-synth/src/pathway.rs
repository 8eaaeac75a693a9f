//! The care pathway between hospital visits: primary-care, home-care, community and program
//! contacts, and referrals to specialists with their loop (accepted, first appointment,
//! report returned to the referring clinician).
//!
//! Everything here is drawn from the person's own pathway stream after the rest of their
//! history is known, so adding the pathway changed no other file: the registry, hospital,
//! program and survey extracts are byte-identical with or without it.
//!
//! **Primary care.** 85 % of persons are attached to a primary-care practice (their team's).
//! Attached persons see it at a Poisson rate of `1.5 + 1.5 × ED rate + 5 × admission rate`
//! visits a year (at most 24), on uniform days while alive; 85 % with the family physician,
//! 15 % with the nurse practitioner.
//!
//! **After a discharge home** (a kept admission whose orientation is home, discharged while
//! alive), a primary-care follow-up visit happens with probability 0.45 when attached (0.10
//! when not), 0.35 more for program participants enrolled by then (at most 0.9), 0 to 14
//! days after discharge, skewed toward short delays. Persons of 70 or more also receive
//! home-care visits after such a discharge with probability 0.35 (2 to 8 visits, the first 1
//! to 3 days after discharge, then every 3 to 7 days).
//!
//! **Program participants** are called by their coordinator on the first-contact day, then
//! every 14 to 35 days from enrolment until the program ends (or death, or the horizon's
//! end); 60 % meet a social worker within 5 to 80 days of enrolment, 55 % are linked to home
//! care (first visit 3 to 90 days after enrolment, then 2 to 6 weekly visits) and 40 % to a
//! community agency (10 to 120 days).
//!
//! **Referrals.** Each primary-care visit leads to a specialist referral with probability
//! 0.06. A referral is accepted with probability 0.88 within 0 to 10 days; the first
//! appointment follows 3 to 153 days after acceptance (skewed short) and is a specialist
//! contact answering the referral; the report comes back to the referring practice with
//! probability 0.8, 1 to 46 days after the appointment. Steps falling after the horizon's
//! last day (or after death) have not happened yet and are left empty.

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::Model;
use crate::population::Person;
use crate::program::Enrolment;
use crate::utilisation::{Admission, HospOrientation, poisson};

/// Share of persons attached to a primary-care practice.
const ATTACHED_SHARE: f64 = 0.85;
/// Most primary-care visits a year.
const MAX_PRIMARY_CARE_RATE: f64 = 24.0;
/// Probability that a primary-care visit leads to a referral.
const REFERRAL_RATE: f64 = 0.06;

/// Who a contact is with, in the community partner's own codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderType {
    /// Family physician (`MF`, médecin de famille).
    FamilyPhysician,
    /// Nurse practitioner (`IPS`, infirmière praticienne spécialisée).
    NursePractitioner,
    /// Specialist seen on referral (`SPEC`).
    Specialist,
    /// Home-care worker (`SAD`, soutien à domicile).
    HomeCare,
    /// Community agency (`ORG`, organisme communautaire).
    CommunityAgency,
    /// Social worker (`TS`, travailleur social).
    SocialWorker,
    /// The care-coordination program's coordinator (`COORD`).
    ProgramCoordinator,
}

impl ProviderType {
    /// The code written in the contacts extract.
    pub fn code(self) -> &'static str {
        match self {
            ProviderType::FamilyPhysician => "MF",
            ProviderType::NursePractitioner => "IPS",
            ProviderType::Specialist => "SPEC",
            ProviderType::HomeCare => "SAD",
            ProviderType::CommunityAgency => "ORG",
            ProviderType::SocialWorker => "TS",
            ProviderType::ProgramCoordinator => "COORD",
        }
    }

    /// Whether the contact is primary care (a follow-up after discharge counts only these).
    pub fn is_primary_care(self) -> bool {
        matches!(
            self,
            ProviderType::FamilyPhysician | ProviderType::NursePractitioner
        )
    }
}

/// How a contact took place, in the partner's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactMode {
    /// `P`, présence.
    InPerson,
    /// `T`, téléphone.
    Phone,
    /// `V`, vidéo.
    Video,
    /// `D`, à domicile.
    HomeVisit,
}

impl ContactMode {
    /// The code written in the contacts extract.
    pub fn code(self) -> &'static str {
        match self {
            ContactMode::InPerson => "P",
            ContactMode::Phone => "T",
            ContactMode::Video => "V",
            ContactMode::HomeVisit => "D",
        }
    }
}

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Day of the contact.
    pub date: NaiveDate,
    /// Start time in minutes after midnight.
    pub minute: u16,
    /// Who the contact was with.
    pub provider: ProviderType,
    /// How.
    pub mode: ContactMode,
    /// The organisation providing it.
    pub organisation: &'static str,
    /// Whether the contact belongs to the care-coordination program.
    pub program: bool,
    /// Index into the person's referrals of the referral this contact answers.
    pub referral: Option<usize>,
}

/// One referral to a specialist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// Stable ordinal among the person's referrals.
    pub ordinal: u32,
    /// Day the referral was sent.
    pub date: NaiveDate,
    /// The referring practice.
    pub from: &'static str,
    /// The specialist clinic referred to.
    pub to: &'static str,
    /// The reason, an ICD-10-CA code.
    pub reason: &'static str,
    /// Day the clinic accepted it, if it has.
    pub accepted: Option<NaiveDate>,
    /// Day of the first appointment, if it has taken place.
    pub appointment: Option<NaiveDate>,
    /// Day the report came back to the referring practice, if it has.
    pub report_returned: Option<NaiveDate>,
}

/// Primary-care practices, by team (team number modulo their count).
pub const PRIMARY_CARE_ORGANISATIONS: [&str; 3] = [
    "CSC Rivière-Nord",
    "Clinique Saint-Laurent",
    "ESF Les Érables",
];
/// The home-care provider.
pub const HOME_CARE_ORGANISATION: &str = "Soins à domicile régionaux";
/// The community agency.
pub const COMMUNITY_ORGANISATION: &str = "Centre communautaire Le Pont";
/// The care-coordination program's team (also where its social worker sits).
pub const PROGRAM_ORGANISATION: &str = "Programme PSM";
/// Specialist clinics and the reason each is referred for.
pub const SPECIALIST_CLINICS: [(&str, &str); 4] = [
    ("Cardiologie - Hôpital B", "I50.0"),
    ("Pneumologie - Hôpital B", "J44.1"),
    ("Psychiatry - Hospital A", "F32.9"),
    ("Endocrinology - Hospital A", "E11.9"),
];

/// The primary-care practice of a person's team.
pub fn practice_of(person: &Person) -> &'static str {
    PRIMARY_CARE_ORGANISATIONS[person.team as usize % PRIMARY_CARE_ORGANISATIONS.len()]
}

/// A person's contacts (in date order) and referrals (in referral order).
pub(crate) fn simulate(
    model: &Model,
    person: &Person,
    admissions: &[Admission],
    enrolment: Option<&Enrolment>,
    rng: &mut ChaCha8Rng,
) -> (Vec<Contact>, Vec<Referral>) {
    let h = &model.horizon;
    let first = h.start();
    let last = person
        .death_date
        .map_or(h.last_day(), |d| d.min(h.last_day()));
    let mut out = Pathway {
        contacts: Vec::new(),
        referrals: Vec::new(),
        last,
    };
    if last < first {
        return (out.contacts, out.referrals);
    }
    let attached = rng.random_bool(ATTACHED_SHARE);
    if attached {
        out.primary_care(person, first, rng);
    }
    for a in admissions.iter().filter(|a| a.kept) {
        out.after_discharge(person, a, attached, enrolment, rng);
    }
    if let Some(e) = enrolment {
        out.program(e, rng);
    }
    // A partner records a contact once: two draws landing on the same day, minute, provider
    // and organisation are one contact (the ingest would reject the second as a duplicate).
    out.contacts.sort_by_key(|c| {
        (
            c.date,
            c.minute,
            c.provider.code(),
            c.mode.code(),
            c.organisation,
            c.program,
            c.referral,
        )
    });
    out.contacts.dedup();
    (out.contacts, out.referrals)
}

/// What is being drawn for one person.
struct Pathway {
    contacts: Vec<Contact>,
    referrals: Vec<Referral>,
    /// The last day anything can happen: death or the horizon's last day.
    last: NaiveDate,
}

impl Pathway {
    fn push(
        &mut self,
        date: NaiveDate,
        provider: ProviderType,
        mode: ContactMode,
        org: &'static str,
        program: bool,
        rng: &mut ChaCha8Rng,
    ) {
        let minute = office_minute(rng);
        if date <= self.last {
            self.contacts.push(Contact {
                date,
                minute,
                provider,
                mode,
                organisation: org,
                program,
                referral: None,
            });
        }
    }

    fn primary_care(&mut self, person: &Person, first: NaiveDate, rng: &mut ChaCha8Rng) {
        let days = (self.last - first).num_days() + 1;
        let rate =
            (1.5 + 1.5 * person.ed_rate + 5.0 * person.admission_rate).min(MAX_PRIMARY_CARE_RATE);
        let visits = poisson(rng, rate * days as f64 / 365.25);
        let practice = practice_of(person);
        for _ in 0..visits {
            let date = first + Duration::days(rng.random_range(0..days));
            let provider = if rng.random_bool(0.85) {
                ProviderType::FamilyPhysician
            } else {
                ProviderType::NursePractitioner
            };
            let u: f64 = rng.random();
            let mode = if u < 0.75 {
                ContactMode::InPerson
            } else if u < 0.92 {
                ContactMode::Phone
            } else {
                ContactMode::Video
            };
            self.push(date, provider, mode, practice, false, rng);
            if rng.random_bool(REFERRAL_RATE) {
                self.referral(date, practice, rng);
            }
        }
    }

    fn referral(&mut self, date: NaiveDate, from: &'static str, rng: &mut ChaCha8Rng) {
        // A fixed number of draws per referral, whatever is reached.
        let (to, reason) = SPECIALIST_CLINICS[rng.random_range(0..SPECIALIST_CLINICS.len())];
        let accepted_p = rng.random_bool(0.88);
        let accept_delay = rng.random_range(0..=10i64);
        let wait = 3 + (150.0 * rng.random::<f64>().powi(2)).round() as i64;
        let report_p = rng.random_bool(0.8);
        let report_delay = 1 + (45.0 * rng.random::<f64>().powf(1.5)).round() as i64;
        let minute = office_minute(rng);
        let seen = |d: NaiveDate| Some(d).filter(|&d| d <= self.last);
        let accepted = seen(date + Duration::days(accept_delay)).filter(|_| accepted_p);
        let appointment = accepted.and_then(|a| seen(a + Duration::days(wait)));
        let report_returned = appointment
            .and_then(|a| seen(a + Duration::days(report_delay)))
            .filter(|_| report_p);
        let index = self.referrals.len();
        self.referrals.push(Referral {
            ordinal: index as u32,
            date,
            from,
            to,
            reason,
            accepted,
            appointment,
            report_returned,
        });
        if let Some(day) = appointment {
            self.contacts.push(Contact {
                date: day,
                minute,
                provider: ProviderType::Specialist,
                mode: ContactMode::InPerson,
                organisation: to,
                program: false,
                referral: Some(index),
            });
        }
    }

    fn after_discharge(
        &mut self,
        person: &Person,
        a: &Admission,
        attached: bool,
        enrolment: Option<&Enrolment>,
        rng: &mut ChaCha8Rng,
    ) {
        let u_follow: f64 = rng.random();
        let delay = (15.0 * rng.random::<f64>().powf(1.6)).floor() as i64;
        let u_home: f64 = rng.random();
        let home_visits = rng.random_range(2..=8u32);
        let home_start = rng.random_range(1..=3i64);
        if a.orientation != HospOrientation::Home || a.discharge > self.last {
            return;
        }
        let enrolled = enrolment.is_some_and(|e| e.enrolment <= a.discharge);
        let p: f64 = if attached { 0.45 } else { 0.10 } + if enrolled { 0.35 } else { 0.0 };
        if u_follow < p.min(0.9) {
            let provider = if attached && rng.random_bool(0.15) {
                ProviderType::NursePractitioner
            } else {
                ProviderType::FamilyPhysician
            };
            let date = a.discharge + Duration::days(delay);
            self.push(
                date,
                provider,
                ContactMode::InPerson,
                practice_of(person),
                false,
                rng,
            );
        }
        let age = a.discharge.year() - person.birth_year;
        if age >= 70 && u_home < 0.35 {
            let first = a.discharge + Duration::days(home_start);
            self.home_care(first, home_visits, |rng| rng.random_range(3..=7i64), rng);
        }
    }

    /// `visits` home-care visits from `first`, `days_to_next` apart.
    fn home_care(
        &mut self,
        first: NaiveDate,
        visits: u32,
        days_to_next: impl Fn(&mut ChaCha8Rng) -> i64,
        rng: &mut ChaCha8Rng,
    ) {
        let mut day = first;
        for _ in 0..visits {
            self.push(
                day,
                ProviderType::HomeCare,
                ContactMode::HomeVisit,
                HOME_CARE_ORGANISATION,
                false,
                rng,
            );
            day += Duration::days(days_to_next(rng));
        }
    }

    fn program(&mut self, e: &Enrolment, rng: &mut ChaCha8Rng) {
        let until = e.end.map_or(self.last, |end| end.min(self.last));
        self.push(
            e.first_contact,
            ProviderType::ProgramCoordinator,
            ContactMode::Phone,
            PROGRAM_ORGANISATION,
            true,
            rng,
        );
        let mut day = e.enrolment;
        while day <= until {
            let u: f64 = rng.random();
            let mode = if u < 0.55 {
                ContactMode::Phone
            } else if u < 0.85 {
                ContactMode::InPerson
            } else {
                ContactMode::HomeVisit
            };
            self.push(
                day,
                ProviderType::ProgramCoordinator,
                mode,
                PROGRAM_ORGANISATION,
                true,
                rng,
            );
            day += Duration::days(rng.random_range(14..=35i64));
        }
        let social = rng.random_bool(0.6);
        let social_day = e.enrolment + Duration::days(rng.random_range(5..=80i64));
        if social {
            self.push(
                social_day,
                ProviderType::SocialWorker,
                ContactMode::InPerson,
                PROGRAM_ORGANISATION,
                true,
                rng,
            );
        }
        let home = rng.random_bool(0.55);
        let home_day = e.enrolment + Duration::days(rng.random_range(3..=90i64));
        let home_visits = rng.random_range(2..=6u32);
        if home {
            self.home_care(home_day, home_visits, |_| 7, rng);
        }
        let community = rng.random_bool(0.4);
        let community_day = e.enrolment + Duration::days(rng.random_range(10..=120i64));
        if community {
            self.push(
                community_day,
                ProviderType::CommunityAgency,
                ContactMode::InPerson,
                COMMUNITY_ORGANISATION,
                false,
                rng,
            );
        }
    }
}

/// A start time during office hours (08:00 to 16:55, on five-minute marks).
fn office_minute(rng: &mut ChaCha8Rng) -> u16 {
    8 * 60 + 5 * rng.random_range(0..108u16)
}

/// The referral's id as the platform writes it: `RF` then 14 capital letters. It is a
/// bijection of (seed, person, ordinal), so two referrals never share an id, and it has no
/// digit, so no part of it can look like a health card number.
pub fn referral_id(seed: u64, person: u64, ordinal: u32) -> String {
    let mut x = crate::seeding::splitmix64((person << 16 | u64::from(ordinal & 0xFFFF)) ^ seed);
    let mut id = String::with_capacity(16);
    id.push_str("RF");
    for _ in 0..14 {
        id.push(char::from(b'A' + (x % 26) as u8));
        x /= 26;
    }
    id
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn referral_ids_are_distinct_and_have_no_digit() {
        let mut seen = HashSet::new();
        for person in (0..2_000u64).chain([899_999_999]) {
            for ordinal in 0..20 {
                let id = referral_id(42, person, ordinal);
                assert_eq!(id.len(), 16);
                assert!(!id.bytes().any(|b| b.is_ascii_digit()), "{id}");
                assert!(seen.insert(id), "person {person} ordinal {ordinal}");
            }
        }
    }
}
