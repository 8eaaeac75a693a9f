//! Person-level event histories in compressed sparse row (CSR) layout.
//!
//! An [`EventSeries`] holds, for `n` persons, one flat array of event days
//! (`i32`, days since 1970-01-01, see [`crate::types::day_of`]) sorted by
//! person then day, and `n + 1` offsets: person `i`'s events are
//! `days[offsets[i]..offsets[i + 1]]`. For 15 million persons and 50 million
//! events that is 60 MB of offsets and 200 MB of days, with no per-person
//! allocation. [`Events`] pairs the ED-visit and admission series.
//!
//! Several events on the same day are distinct events (two ED visits on one
//! day count twice).

use chrono::NaiveDate;

use crate::error::{EvalError, Result};
use crate::types::{Outcome, day_of};

/// One kind of event (ED visits or admissions) for every person, CSR layout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventSeries {
    offsets: Vec<u32>,
    days: Vec<i32>,
}

impl EventSeries {
    /// A series with no events for `n_persons` persons.
    #[must_use]
    pub fn empty(n_persons: usize) -> Self {
        Self {
            offsets: vec![0; n_persons + 1],
            days: Vec::new(),
        }
    }

    /// Builds the series from two parallel columns (e.g. Arrow `UInt32` and
    /// `Date32` buffers), in any order: a counting sort by person, then a sort
    /// of each person's days. O(events + persons) plus the per-person sorts.
    ///
    /// # Errors
    /// Columns of different lengths, a person index `>= n_persons`, or more
    /// than `u32::MAX` events.
    pub fn from_columns(n_persons: usize, persons: &[u32], days: &[i32]) -> Result<Self> {
        if persons.len() != days.len() {
            return Err(EvalError::LengthMismatch {
                left: "event persons",
                left_len: persons.len(),
                right: "event days",
                right_len: days.len(),
            });
        }
        if u32::try_from(days.len()).is_err() {
            return Err(EvalError::TooManyEvents(days.len()));
        }
        let mut counts = vec![0_u32; n_persons + 1];
        for &p in persons {
            if p as usize >= n_persons {
                return Err(EvalError::UnknownPerson {
                    what: "an event",
                    person: p,
                    n_persons,
                });
            }
            counts[p as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let offsets = counts.clone();
        let mut next = counts;
        let mut sorted = vec![0_i32; days.len()];
        for (&p, &d) in persons.iter().zip(days) {
            let slot = &mut next[p as usize];
            sorted[*slot as usize] = d;
            *slot += 1;
        }
        for w in offsets.windows(2) {
            sorted[w[0] as usize..w[1] as usize].sort_unstable();
        }
        Ok(Self {
            offsets,
            days: sorted,
        })
    }

    /// Builds the series from `(person, date)` pairs in any order.
    ///
    /// # Errors
    /// As [`Self::from_columns`].
    pub fn from_pairs<I>(n_persons: usize, pairs: I) -> Result<Self>
    where
        I: IntoIterator<Item = (u32, NaiveDate)>,
    {
        let (persons, days): (Vec<u32>, Vec<i32>) =
            pairs.into_iter().map(|(p, d)| (p, day_of(d))).unzip();
        Self::from_columns(n_persons, &persons, &days)
    }

    /// Takes a ready CSR layout (`offsets.len() == n_persons + 1`), checking
    /// that the offsets start at 0, never decrease and end at `days.len()`,
    /// and that each person's days are sorted.
    ///
    /// # Errors
    /// [`EvalError::BadOffsets`] when any of those checks fails.
    pub fn from_csr(offsets: Vec<u32>, days: Vec<i32>) -> Result<Self> {
        if offsets.first() != Some(&0) {
            return Err(EvalError::BadOffsets("offsets must start with 0".into()));
        }
        if offsets.last().map(|&o| o as usize) != Some(days.len()) {
            return Err(EvalError::BadOffsets(format!(
                "last offset must equal the number of events ({})",
                days.len()
            )));
        }
        for (i, w) in offsets.windows(2).enumerate() {
            if w[1] < w[0] {
                return Err(EvalError::BadOffsets(format!(
                    "offsets decrease at person {i}"
                )));
            }
            if !days[w[0] as usize..w[1] as usize].is_sorted() {
                return Err(EvalError::BadOffsets(format!(
                    "days of person {i} are not sorted"
                )));
            }
        }
        Ok(Self { offsets, days })
    }

    /// Number of persons covered.
    #[must_use]
    pub fn n_persons(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Total number of events.
    #[must_use]
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether there are no events at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Sorted event days of `person` (empty for an unknown person).
    #[must_use]
    pub fn person(&self, person: u32) -> &[i32] {
        let i = person as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.days[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Number of days of a sorted slice in `[from, to)`.
#[must_use]
pub fn count_between(sorted_days: &[i32], from: i32, to: i32) -> usize {
    if to <= from {
        return 0;
    }
    sorted_days.partition_point(|&d| d < to) - sorted_days.partition_point(|&d| d < from)
}

/// ED visits and admissions of every person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Events {
    /// ED visits (arrival dates).
    pub ed: EventSeries,
    /// Inpatient admissions (admission dates).
    pub admissions: EventSeries,
}

impl Events {
    /// Pairs two series.
    ///
    /// # Errors
    /// The two series cover different numbers of persons.
    pub fn new(ed: EventSeries, admissions: EventSeries) -> Result<Self> {
        if ed.n_persons() != admissions.n_persons() {
            return Err(EvalError::LengthMismatch {
                left: "ED-visit series persons",
                left_len: ed.n_persons(),
                right: "admission series persons",
                right_len: admissions.n_persons(),
            });
        }
        Ok(Self { ed, admissions })
    }

    /// Number of persons covered.
    #[must_use]
    pub fn n_persons(&self) -> usize {
        self.ed.n_persons()
    }

    /// The series of `outcome`.
    #[must_use]
    pub fn series(&self, outcome: Outcome) -> &EventSeries {
        match outcome {
            Outcome::EdVisits => &self.ed,
            Outcome::Admissions => &self.admissions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_grouped_and_sorted() {
        let s = EventSeries::from_columns(3, &[2, 0, 2, 2], &[30, 5, 10, 20]).expect("ok");
        assert_eq!(s.n_persons(), 3);
        assert_eq!(s.person(0), &[5]);
        assert_eq!(s.person(1), &[] as &[i32]);
        assert_eq!(s.person(2), &[10, 20, 30]);
        assert_eq!(s.person(9), &[] as &[i32]);
        assert_eq!(count_between(s.person(2), 10, 30), 2);
        assert_eq!(count_between(s.person(2), 30, 10), 0);
        assert!(EventSeries::from_columns(2, &[2], &[1]).is_err());
        assert!(EventSeries::from_columns(2, &[1], &[]).is_err());
    }

    #[test]
    fn csr_is_validated() {
        assert!(EventSeries::from_csr(vec![0, 1, 3], vec![4, 1, 2]).is_ok());
        assert!(EventSeries::from_csr(vec![0, 2, 3], vec![4, 1, 2]).is_err());
        assert!(EventSeries::from_csr(vec![1, 3], vec![1, 2]).is_err());
        assert!(EventSeries::from_csr(vec![0, 2], vec![1, 2, 3]).is_err());
        let ed = EventSeries::empty(2);
        assert!(Events::new(ed.clone(), EventSeries::empty(3)).is_err());
        assert!(Events::new(ed.clone(), ed).is_ok());
    }
}
