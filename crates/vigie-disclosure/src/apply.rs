//! [`apply`]: primary suppression, then complementary suppression until no
//! additive set has exactly one suppressed cell, then withholding of every
//! field of the suppressed cells.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::sets::{AdditiveSet, additive_sets};
use crate::{Cell, DisclosureConfig, OrgLevel, SuppressionReason, is_publishable_count};

/// Applies disclosure control to a set of cells and returns them in the same
/// order, with [`Cell::suppressed`] set and numerator, denominator, value and
/// confidence bounds cleared (`None`) on every suppressed cell.
///
/// 1. Primary: a cell is suppressed with [`SuppressionReason::SmallCount`]
///    when a declared count field is not publishable (see
///    [`is_publishable_count`]: from 1 to `min_count - 1`, or negative or not
///    finite), else with [`SuppressionReason::BelowMinimumDenominator`] when
///    the indicator declares a minimum denominator and the denominator is
///    below it (or missing).
/// 2. Complementary: for additive cells, while some additive set (see the
///    crate docs) has exactly one suppressed cell, one more cell of that set
///    is suppressed with [`SuppressionReason::Complementary`]: the smallest
///    other unsuppressed member by its count (non-zero members first, since a
///    zero complement would leave the pair's sum equal to the small count;
///    ties broken on the cell key), or the total when no member is left. A
///    suppression can unbalance another set that contains the same cell;
///    this is followed until stable.
///
/// Cells already suppressed on input keep their reason, so `apply` is
/// idempotent. The output does not depend on the order of the input cells
/// (unless two cells share a key).
#[must_use]
pub fn apply(mut cells: Vec<Cell>, cfg: &DisclosureConfig) -> Vec<Cell> {
    for cell in &mut cells {
        if cell.suppressed.is_none() {
            cell.suppressed = primary_reason(cell, cfg);
        }
    }

    let sets = additive_sets(&cells);
    let mut sets_of_cell: Vec<Vec<usize>> = vec![Vec::new(); cells.len()];
    for (s, set) in sets.iter().enumerate() {
        for i in set.cells() {
            sets_of_cell[i].push(s);
        }
    }

    // Worklist of sets to (re-)examine, always taking the lowest set first so
    // the outcome is deterministic.
    let mut pending: BTreeSet<usize> = (0..sets.len()).collect();
    while let Some(s) = pending.pop_first() {
        let set = &sets[s];
        let mut suppressed = set.cells().filter(|&i| cells[i].is_suppressed());
        let (Some(only), None) = (suppressed.next(), suppressed.next()) else {
            continue;
        };
        if let Some(pick) = choose_complement(set, only, &cells) {
            cells[pick].suppressed = Some(SuppressionReason::Complementary);
            pending.extend(sets_of_cell[pick].iter().copied());
        }
    }

    for cell in &mut cells {
        if cell.is_suppressed() {
            cell.clear();
        }
    }
    cells
}

/// The primary suppression reason of a cell, if any.
fn primary_reason(cell: &Cell, cfg: &DisclosureConfig) -> Option<SuppressionReason> {
    let small = cell
        .count_fields
        .iter()
        .filter_map(|f| cell.field(f))
        .any(|count| !is_publishable_count(count, cfg));
    if small {
        return Some(SuppressionReason::SmallCount);
    }
    let min = cell.min_denominator?;
    match cell.denominator {
        Some(d) if d >= min => None,
        _ => Some(SuppressionReason::BelowMinimumDenominator),
    }
}

/// The cell to suppress alongside the only suppressed cell `only` of `set`.
fn choose_complement(set: &AdditiveSet, only: usize, cells: &[Cell]) -> Option<usize> {
    set.members
        .iter()
        .copied()
        .filter(|&i| i != only && !cells[i].is_suppressed())
        .min_by(|&a, &b| rank(cells, a, b))
        .or_else(|| (!cells[set.total].is_suppressed()).then_some(set.total))
}

/// Order of preference among complementary candidates: non-zero counts
/// (smallest first), then zero counts, then cells without a count; then the
/// cell key; then the input position.
fn rank(cells: &[Cell], a: usize, b: usize) -> Ordering {
    let class = |size: Option<f64>| match size {
        Some(s) if s.is_nan() => (2, 0.0),
        Some(0.0) => (1, 0.0),
        Some(s) => (0, s),
        None => (2, 0.0),
    };
    let (ca, sa) = class(cells[a].size());
    let (cb, sb) = class(cells[b].size());
    ca.cmp(&cb)
        .then_with(|| sa.total_cmp(&sb))
        .then_with(|| key_ref(&cells[a]).cmp(&key_ref(&cells[b])))
        .then_with(|| a.cmp(&b))
}

type KeyRef<'a> = (&'a str, &'a str, OrgLevel, &'a str, &'a str, &'a str);

fn key_ref(c: &Cell) -> KeyRef<'_> {
    (
        &c.indicator,
        &c.period,
        c.org_level,
        &c.org_unit,
        &c.stratum_dimension,
        &c.stratum_value,
    )
}
