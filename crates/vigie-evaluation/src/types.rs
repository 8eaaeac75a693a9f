//! Input types: the population ([`Population`], [`PersonRecord`]), program
//! enrolments ([`Enrolment`]), the outcome selector ([`Outcome`]) and the
//! day numbering shared by every module.
//!
//! **Days.** Internally a date is an `i32` day number counted from
//! 1970-01-01 (day 0), exactly Arrow's `Date32`, so a caller holding Arrow
//! arrays can pass their buffers without conversion. [`day_of`] and
//! [`date_of`] convert.
//!
//! **Persons** are dense indices `0..n` (`u32`); the caller keeps the map
//! from index to pseudonymous key. Team names are interned once in the
//! [`Population`] so that a 15-million-person region does not hold 15
//! million `String`s.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const UNIX_EPOCH_CE: i32 = 719_163;

/// Day number of `date` (days since 1970-01-01, Arrow `Date32`).
#[must_use]
pub fn day_of(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_CE
}

/// The date of day number `day` (days since 1970-01-01).
///
/// # Errors
/// [`EvalError::DateOutOfRange`] when `day` is outside chrono's range.
pub fn date_of(day: i32) -> Result<NaiveDate> {
    day.checked_add(UNIX_EPOCH_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| EvalError::DateOutOfRange(format!("day number {day}")))
}

/// Registry sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    /// Female.
    F,
    /// Male.
    M,
    /// Neither / not disclosed.
    X,
}

impl Sex {
    /// 0, 1, 2 for F, M, X (used by [`crate::strata`]).
    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Sex::F => 0,
            Sex::M => 1,
            Sex::X => 2,
        }
    }
}

/// Interned team id: an index into [`Population::teams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TeamId(pub u32);

/// One person of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// Dense person index; must equal the record's position in the population.
    pub key: u32,
    /// Birth year (age at a date is `year(date) - birth_year`).
    pub birth_year: i32,
    /// Sex.
    pub sex: Sex,
    /// Attributed care team, if any.
    pub team: Option<TeamId>,
    /// Death date, if known. A person is alive (and at risk) on the day of death.
    pub death: Option<NaiveDate>,
}

/// The persons of a region, indexed by their dense key, with interned team names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Population {
    persons: Vec<PersonRecord>,
    teams: Vec<String>,
    team_index: HashMap<String, TeamId>,
}

impl Population {
    /// An empty population.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A population from ready-made records and team names.
    ///
    /// # Errors
    /// A record whose key is not its position, or whose team id is not an
    /// index into `teams`.
    pub fn from_records(teams: Vec<String>, persons: Vec<PersonRecord>) -> Result<Self> {
        for (position, p) in persons.iter().enumerate() {
            if p.key as usize != position {
                return Err(EvalError::KeyNotDense {
                    position,
                    key: p.key,
                });
            }
            if let Some(TeamId(t)) = p.team
                && t as usize >= teams.len()
            {
                return Err(EvalError::UnknownTeam {
                    person: p.key,
                    team: t,
                    n_teams: teams.len(),
                });
            }
        }
        let team_index = teams
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), TeamId(i as u32)))
            .collect();
        Ok(Self {
            persons,
            teams,
            team_index,
        })
    }

    /// The id of team `name`, interning it if new.
    pub fn intern_team(&mut self, name: &str) -> TeamId {
        if let Some(&id) = self.team_index.get(name) {
            return id;
        }
        let id = TeamId(self.teams.len() as u32);
        self.teams.push(name.to_owned());
        self.team_index.insert(name.to_owned(), id);
        id
    }

    /// Appends a person and returns their key (the next dense index).
    pub fn push(
        &mut self,
        birth_year: i32,
        sex: Sex,
        team: Option<&str>,
        death: Option<NaiveDate>,
    ) -> u32 {
        let team = team.map(|t| self.intern_team(t));
        let key = self.persons.len() as u32;
        self.persons.push(PersonRecord {
            key,
            birth_year,
            sex,
            team,
            death,
        });
        key
    }

    /// Number of persons.
    #[must_use]
    pub fn len(&self) -> usize {
        self.persons.len()
    }

    /// Whether there are no persons.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.persons.is_empty()
    }

    /// All person records, in key order.
    #[must_use]
    pub fn persons(&self) -> &[PersonRecord] {
        &self.persons
    }

    /// Person `key`, if present.
    #[must_use]
    pub fn get(&self, key: u32) -> Option<&PersonRecord> {
        self.persons.get(key as usize)
    }

    /// Interned team names, indexed by [`TeamId`].
    #[must_use]
    pub fn teams(&self) -> &[String] {
        &self.teams
    }

    /// Name of team `id`, if defined.
    #[must_use]
    pub fn team_name(&self, id: TeamId) -> Option<&str> {
        self.teams.get(id.0 as usize).map(String::as_str)
    }
}

/// One enrolment of a person in a program. Only a person's first (earliest)
/// enrolment in each program counts; its team is the team of that enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// Dense person index.
    pub person: u32,
    /// Program code, e.g. `"PSM"`.
    pub program: String,
    /// Team that enrolled the person.
    pub team: String,
    /// Enrolment date.
    pub enrolment_date: NaiveDate,
}

/// Which events an estimate counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Outcome {
    /// Emergency-department visits.
    EdVisits,
    /// Inpatient admissions.
    Admissions,
}

impl Outcome {
    /// Both outcomes, ED visits first.
    pub const ALL: [Outcome; 2] = [Outcome::EdVisits, Outcome::Admissions];
}

/// The group of persons a summary or estimate covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TeamScope {
    /// Everyone (the region, or the whole program).
    All,
    /// One team (attributed team in case finding, enrolling team in the estimands).
    Team(String),
    /// Persons with no attributed team (case finding only).
    Unattributed,
}

/// Person-years of `days` days (`days / 365.25`).
#[must_use]
pub fn person_years(days: i64) -> f64 {
    days as f64 / 365.25
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_match_arrow_date32() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("valid");
        assert_eq!(day_of(d(1970, 1, 1)), 0);
        assert_eq!(day_of(d(1970, 1, 2)), 1);
        assert_eq!(day_of(d(1969, 12, 31)), -1);
        assert_eq!(day_of(d(2024, 1, 1)), 19_723);
        assert_eq!(date_of(19_723), Ok(d(2024, 1, 1)));
        assert!(date_of(i32::MAX).is_err());
    }

    #[test]
    fn population_interns_teams_and_checks_keys() {
        let mut pop = Population::new();
        let a = pop.push(1950, Sex::F, Some("T01"), None);
        let b = pop.push(1960, Sex::M, Some("T01"), None);
        let c = pop.push(1970, Sex::X, None, None);
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(pop.teams(), ["T01".to_string()]);
        assert_eq!(pop.get(1).and_then(|p| p.team), Some(TeamId(0)));
        let mut bad = pop.persons().to_vec();
        bad.swap(0, 1);
        assert!(Population::from_records(vec!["T01".into()], bad).is_err());
        let mut bad_team = pop.persons().to_vec();
        bad_team[2].team = Some(TeamId(5));
        assert!(Population::from_records(vec!["T01".into()], bad_team).is_err());
    }
}
