//! Validated, person-indexed view of program enrolments ([`Enrolments`]).
//!
//! Rows are sorted by person, then date, so a person's enrolments are a
//! contiguous slice found by binary search. Program codes and team names are
//! interned. A person's *first* enrolment in a program is the one that
//! counts (earliest date; ties broken by input order).

use std::collections::HashMap;

use crate::error::{EvalError, Result};
use crate::types::{Enrolment, day_of};

/// One enrolment, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EnrolmentRow {
    pub person: u32,
    pub day: i32,
    pub program: u32,
    pub team: u32,
}

/// Enrolments indexed by person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Enrolments {
    rows: Vec<EnrolmentRow>,
    programs: Vec<String>,
    teams: Vec<String>,
    n_persons: usize,
}

fn intern(names: &mut Vec<String>, index: &mut HashMap<String, u32>, name: &str) -> u32 {
    if let Some(&i) = index.get(name) {
        return i;
    }
    let i = names.len() as u32;
    names.push(name.to_owned());
    index.insert(name.to_owned(), i);
    i
}

impl Enrolments {
    /// Indexes `enrolments` for a population of `n_persons`.
    ///
    /// # Errors
    /// An enrolment of a person index `>= n_persons`.
    pub fn new(enrolments: &[Enrolment], n_persons: usize) -> Result<Self> {
        let mut programs = Vec::new();
        let mut teams = Vec::new();
        let mut program_index = HashMap::new();
        let mut team_index = HashMap::new();
        let mut rows = Vec::with_capacity(enrolments.len());
        for e in enrolments {
            if e.person as usize >= n_persons {
                return Err(EvalError::UnknownPerson {
                    what: "an enrolment",
                    person: e.person,
                    n_persons,
                });
            }
            rows.push(EnrolmentRow {
                person: e.person,
                day: day_of(e.enrolment_date),
                program: intern(&mut programs, &mut program_index, &e.program),
                team: intern(&mut teams, &mut team_index, &e.team),
            });
        }
        // Stable: equal (person, day) keep input order.
        rows.sort_by_key(|r| (r.person, r.day));
        Ok(Self {
            rows,
            programs,
            teams,
            n_persons,
        })
    }

    /// Size of the population the enrolments were checked against.
    #[must_use]
    pub fn n_persons(&self) -> usize {
        self.n_persons
    }

    /// Program codes in order of first appearance.
    #[must_use]
    pub fn programs(&self) -> &[String] {
        &self.programs
    }

    /// Number of enrolment rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no enrolments.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn program_id(&self, program: &str) -> Option<u32> {
        self.programs
            .iter()
            .position(|p| p == program)
            .map(|i| i as u32)
    }

    pub(crate) fn team_name(&self, team: u32) -> &str {
        self.teams.get(team as usize).map_or("", String::as_str)
    }

    /// All rows, sorted by person then day.
    pub(crate) fn rows(&self) -> &[EnrolmentRow] {
        &self.rows
    }

    /// Enrolments of `person`, sorted by day.
    pub(crate) fn for_person(&self, person: u32) -> &[EnrolmentRow] {
        let a = self.rows.partition_point(|r| r.person < person);
        let b = self.rows.partition_point(|r| r.person <= person);
        &self.rows[a..b]
    }

    /// First enrolment of `person` in `program`.
    pub(crate) fn first_in(&self, person: u32, program: u32) -> Option<EnrolmentRow> {
        self.for_person(person)
            .iter()
            .find(|r| r.program == program)
            .copied()
    }

    /// Whether `person` has an enrolment in any program on day `from` or later.
    pub(crate) fn any_on_or_after(&self, person: u32, from: i64) -> bool {
        self.for_person(person)
            .iter()
            .any(|r| i64::from(r.day) >= from)
    }

    /// Day of `person`'s earliest enrolment in any program.
    pub(crate) fn first_any(&self, person: u32) -> Option<i32> {
        self.for_person(person).first().map(|r| r.day)
    }
}
