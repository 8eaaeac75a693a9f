//! [`check`]: the last guard every output writer calls before a cell leaves
//! the warehouse. It re-derives the rules of [`apply`](crate::apply) on the
//! output and reports any cell that would disclose a small count.

use thiserror::Error;

use crate::sets::additive_sets;
use crate::{Cell, CellKey, CountField, DisclosureConfig, is_publishable_count};

/// A cell of an output set that would disclose a small count.
///
/// The message names the cell (indicator, period, org unit, stratum) and the
/// rule it breaks; it never carries the offending count or value, so the
/// error itself can be logged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("disclosure leak at ({cell}): {kind}")]
pub struct Leak {
    /// The offending cell (boxed to keep `Result<(), Leak>` small).
    pub cell: Box<CellKey>,
    /// What it leaks.
    pub kind: LeakKind,
}

/// The rule a leaking cell breaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LeakKind {
    /// An unsuppressed cell publishes a declared count field that is not
    /// publishable (from 1 to `min_count - 1`, negative or not finite).
    #[error(
        "the {field} is a count field that is published but not publishable (from 1 to the threshold minus 1, or invalid)"
    )]
    SmallCountPublished {
        /// The count field.
        field: CountField,
    },
    /// An unsuppressed cell whose denominator is below its indicator's
    /// minimum (or missing).
    #[error("the cell is published although its denominator is below the indicator's minimum")]
    BelowMinimumDenominatorPublished,
    /// A suppressed cell still publishes a numerator, denominator, value or
    /// confidence bound.
    #[error("the cell is suppressed but its {field} is published")]
    PublishedOnSuppressedCell {
        /// Name of the published field (`numerator`, `denominator`, `value`,
        /// `ci_low`, `ci_high`).
        field: &'static str,
    },
    /// The cell is the only suppressed cell of an additive set whose other
    /// cells are all published: it can be recovered by subtraction.
    #[error(
        "the cell is the only suppressed cell of an additive set (total: {total}) and can be recovered by subtraction"
    )]
    RecoverableBySubtraction {
        /// The total cell of the set.
        total: Box<CellKey>,
    },
}

/// Verifies that an output set of cells leaks nothing; returns the first leak
/// found (cell rules in input order, then additive sets).
///
/// # Errors
///
/// A [`Leak`] when an unsuppressed cell publishes a count from 1 to
/// `min_count - 1` or is below its minimum denominator, a suppressed cell
/// publishes any numerator, denominator, value or confidence bound, or an
/// additive set has exactly one suppressed cell.
pub fn check(cells: &[Cell], cfg: &DisclosureConfig) -> Result<(), Leak> {
    match leaks(cells, cfg, true).into_iter().next() {
        Some(leak) => Err(leak),
        None => Ok(()),
    }
}

/// Every leak of an output set, in the order [`check`] looks for them; empty
/// when the set is safe to publish.
#[must_use]
pub fn check_all(cells: &[Cell], cfg: &DisclosureConfig) -> Vec<Leak> {
    leaks(cells, cfg, false)
}

fn leaks(cells: &[Cell], cfg: &DisclosureConfig, first_only: bool) -> Vec<Leak> {
    let mut found = Vec::new();
    for cell in cells {
        let kind = if cell.is_suppressed() {
            cell.published_fields()
                .into_iter()
                .find(|(_, v)| v.is_some())
                .map(|(field, _)| LeakKind::PublishedOnSuppressedCell { field })
        } else {
            cell.count_fields
                .iter()
                .find(|&f| cell.field(f).is_some_and(|v| !is_publishable_count(v, cfg)))
                .map(|field| LeakKind::SmallCountPublished { field })
                .or_else(|| {
                    let min = cell.min_denominator?;
                    let ok = cell.denominator.is_some_and(|d| d >= min);
                    (!ok).then_some(LeakKind::BelowMinimumDenominatorPublished)
                })
        };
        if let Some(kind) = kind {
            found.push(Leak {
                cell: Box::new(cell.key()),
                kind,
            });
            if first_only {
                return found;
            }
        }
    }
    for set in additive_sets(cells) {
        let mut suppressed = set.cells().filter(|&i| cells[i].is_suppressed());
        if let (Some(only), None) = (suppressed.next(), suppressed.next()) {
            found.push(Leak {
                cell: Box::new(cells[only].key()),
                kind: LeakKind::RecoverableBySubtraction {
                    total: Box::new(cells[set.total].key()),
                },
            });
            if first_only {
                return found;
            }
        }
    }
    found
}
