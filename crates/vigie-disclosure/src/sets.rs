//! Additive sets: groups of cells whose counts add up to a total cell, so
//! that one suppressed cell of the group could be recovered by subtraction.
//!
//! 1. Within one indicator x period x org unit, the strata of one dimension
//!    (e.g. `sex` = F, M, X) add up to the `"all"` stratum of that org unit.
//! 2. Within one indicator x period x stratum, the child org units of a parent
//!    (the teams of a region, the sites of a team) add up to the parent; the
//!    parent cell is the one with that unit code at the nearest level above.
//!
//! Only cells flagged [`additive`](crate::Cell::additive) take part. A group
//! without its total cell gives no equation and is not a set.

use std::collections::BTreeMap;

use crate::{Cell, OrgLevel};

/// One additive set: `total = sum(members)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdditiveSet {
    /// Index of the total cell.
    pub(crate) total: usize,
    /// Indices of the member cells (never empty, never containing `total`).
    pub(crate) members: Vec<usize>,
}

impl AdditiveSet {
    /// Indices of all cells of the set, total first.
    pub(crate) fn cells(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.total).chain(self.members.iter().copied())
    }
}

/// Stratum totals: indicator, period, level, unit.
type UnitKey<'a> = (&'a str, &'a str, OrgLevel, &'a str);
/// Strata of one dimension: indicator, period, level, unit, dimension.
type StrataKey<'a> = (&'a str, &'a str, OrgLevel, &'a str, &'a str);
/// Org totals: indicator, period, dimension, value, unit.
type OrgKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);
/// Children of one parent: org key of the parent, child level.
type ChildrenKey<'a> = (OrgKey<'a>, OrgLevel);

/// All additive sets of `cells`, in a deterministic order (strata sets then
/// org sets, each sorted by key). When several cells share a key (which
/// should not happen) the first in input order is taken as the total.
pub(crate) fn additive_sets(cells: &[Cell]) -> Vec<AdditiveSet> {
    let mut stratum_totals: BTreeMap<UnitKey<'_>, usize> = BTreeMap::new();
    let mut strata: BTreeMap<StrataKey<'_>, Vec<usize>> = BTreeMap::new();
    let mut org_totals: BTreeMap<OrgKey<'_>, BTreeMap<OrgLevel, usize>> = BTreeMap::new();
    let mut children: BTreeMap<ChildrenKey<'_>, Vec<usize>> = BTreeMap::new();

    for (i, c) in cells.iter().enumerate().filter(|(_, c)| c.additive) {
        let (ind, per, unit) = (c.indicator.as_str(), c.period.as_str(), c.org_unit.as_str());
        let (dim, val) = (c.stratum_dimension.as_str(), c.stratum_value.as_str());
        if c.is_total_stratum() {
            stratum_totals
                .entry((ind, per, c.org_level, unit))
                .or_insert(i);
        } else {
            strata
                .entry((ind, per, c.org_level, unit, dim))
                .or_default()
                .push(i);
        }
        org_totals
            .entry((ind, per, dim, val, unit))
            .or_default()
            .entry(c.org_level)
            .or_insert(i);
        if let Some(parent) = c.parent_unit.as_deref() {
            children
                .entry(((ind, per, dim, val, parent), c.org_level))
                .or_default()
                .push(i);
        }
    }

    let mut sets = Vec::new();
    for ((ind, per, level, unit, _), members) in strata {
        if let Some(&total) = stratum_totals.get(&(ind, per, level, unit)) {
            push_set(&mut sets, total, members);
        }
    }
    for ((parent_key, child_level), members) in children {
        let total = org_totals
            .get(&parent_key)
            .and_then(|by_level| by_level.range(..child_level).next_back())
            .map(|(_, &i)| i);
        if let Some(total) = total {
            push_set(&mut sets, total, members);
        }
    }
    sets
}

fn push_set(sets: &mut Vec<AdditiveSet>, total: usize, mut members: Vec<usize>) {
    members.retain(|&m| m != total);
    if !members.is_empty() {
        sets.push(AdditiveSet { total, members });
    }
}
