//! The disclosure gate over a run's rows: primary and complementary suppression over every
//! cell at once, by `vigie-disclosure` (the only place the rule lives).

use std::collections::BTreeMap;

use vigie_disclosure::{DisclosureConfig, SuppressionReason};

use crate::results::{IndicatorResult, to_cell};

/// Marks the suppressed rows with their reason; returns how many are suppressed.
/// `small_unit_count[i]` says the units behind row `i` (e.g. the stays behind a sum of days)
/// are too few to publish, which the row's own fields cannot show the gate.
pub(super) fn apply_gate(
    rows: &mut [IndicatorResult],
    small_unit_count: &[bool],
    disclosure: &DisclosureConfig,
) -> usize {
    let cells: Vec<_> = rows
        .iter()
        .zip(small_unit_count)
        .map(|(r, small)| {
            let mut c = to_cell(r);
            if *small {
                c.suppressed = Some(SuppressionReason::SmallCount);
            }
            c
        })
        .collect();
    let gated = vigie_disclosure::apply(cells, disclosure);
    let verdicts: BTreeMap<_, _> = gated.iter().map(|c| (c.key(), c.suppressed)).collect();
    let mut suppressed = 0;
    for r in rows.iter_mut() {
        if let Some(Some(reason)) = verdicts.get(&to_cell(r).key()) {
            r.suppression_reason = Some(*reason);
            suppressed += 1;
        }
    }
    suppressed
}
