//! Property tests over random regions of teams with random stratified
//! counts, built so that every additive set really adds up.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::{
    ALL, Cell, CellKey, CountFields, DisclosureConfig, OrgLevel, SuppressionReason, apply, check,
};

/// Counts of one team: `[sex][age]` cross-classified numerators and extra
/// denominators (denominator = numerator + extra).
type TeamCounts = Vec<Vec<(u32, u32)>>;

#[derive(Debug, Clone)]
struct Case {
    /// Regions of teams.
    regions: Vec<Vec<TeamCounts>>,
    count_fields: CountFields,
    min_denominator: Option<f64>,
    additive: bool,
    /// Seed of the input permutation for the order-independence property.
    shuffle_seed: u64,
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..=6, 0u32..50]
}

fn case(additive: bool) -> impl Strategy<Value = Case> {
    (2usize..=4, 1usize..=3).prop_flat_map(move |(sexes, ages)| {
        let team = prop::collection::vec(prop::collection::vec((count(), 0u32..30), ages), sexes);
        let region = prop::collection::vec(team, 2..=5);
        (
            prop::collection::vec(region, 1..=2),
            prop_oneof![Just(CountFields::BOTH), Just(CountFields::NUMERATOR)],
            prop_oneof![3 => Just(None), 1 => Just(Some(10.0))],
            Just(additive),
            any::<u64>(),
        )
            .prop_map(
                |(regions, count_fields, min_denominator, additive, shuffle_seed)| Case {
                    regions,
                    count_fields,
                    min_denominator,
                    additive,
                    shuffle_seed,
                },
            )
    })
}

/// A published stratum: dimension, value, and the `(sex, age)` cross cells
/// it adds up.
type Stratum = (String, String, Vec<(usize, usize)>);

/// An additive set as the test knows it from the structure: total key and
/// member keys.
type KnownSet = (CellKey, Vec<CellKey>);

fn build(case: &Case) -> (Vec<Cell>, Vec<KnownSet>) {
    let mut cells = Vec::new();
    let mut sets = Vec::new();
    let sexes = case.regions[0][0].len();
    let ages = case.regions[0][0][0].len();
    // Strata: (dimension, value, cross cells selected).
    let mut strata: Vec<Stratum> = Vec::new();
    let all_cross = (0..sexes)
        .flat_map(|s| (0..ages).map(move |a| (s, a)))
        .collect();
    strata.push((ALL.to_owned(), ALL.to_owned(), all_cross));
    for s in 0..sexes {
        strata.push((
            "sex".to_owned(),
            format!("s{s}"),
            (0..ages).map(|a| (s, a)).collect(),
        ));
    }
    if ages > 1 {
        for a in 0..ages {
            strata.push((
                "age_band".to_owned(),
                format!("a{a}"),
                (0..sexes).map(|s| (s, a)).collect(),
            ));
        }
    }
    let mk = |level, unit: &str, parent: Option<&str>, dim: &str, val: &str, num: f64, den: f64| {
        let value = if den > 0.0 { num / den } else { 0.0 };
        Cell {
            indicator: "ind".to_owned(),
            period: "2025Q1".to_owned(),
            org_level: level,
            org_unit: unit.to_owned(),
            parent_unit: parent.map(str::to_owned),
            stratum_dimension: dim.to_owned(),
            stratum_value: val.to_owned(),
            numerator: Some(num),
            denominator: Some(den),
            value: Some(value),
            ci_low: Some(value * 0.5),
            ci_high: Some(value * 1.5),
            count_fields: case.count_fields,
            min_denominator: case.min_denominator,
            additive: case.additive,
            suppressed: None,
        }
    };
    for (r, teams) in case.regions.iter().enumerate() {
        let region = format!("R{r}");
        let mut units: Vec<(OrgLevel, String, Option<String>, TeamCounts)> = Vec::new();
        let mut region_counts = vec![vec![(0, 0); ages]; sexes];
        for (t, counts) in teams.iter().enumerate() {
            for (s, row) in counts.iter().enumerate() {
                for (a, &(n, extra)) in row.iter().enumerate() {
                    region_counts[s][a].0 += n;
                    region_counts[s][a].1 += extra;
                }
            }
            units.push((
                OrgLevel::Team,
                format!("R{r}T{t}"),
                Some(region.clone()),
                counts.clone(),
            ));
        }
        units.push((OrgLevel::Region, region.clone(), None, region_counts));
        for (level, unit, parent, counts) in &units {
            for (dim, val, cross) in &strata {
                let num: u32 = cross.iter().map(|&(s, a)| counts[s][a].0).sum();
                let den: u32 = num + cross.iter().map(|&(s, a)| counts[s][a].1).sum::<u32>();
                cells.push(mk(
                    *level,
                    unit,
                    parent.as_deref(),
                    dim,
                    val,
                    f64::from(num),
                    f64::from(den),
                ));
            }
        }
        // Known sets: strata of each dimension per unit; teams per stratum.
        for (level, unit, _, _) in &units {
            let key = |dim: &str, val: &str| CellKey {
                indicator: "ind".to_owned(),
                period: "2025Q1".to_owned(),
                org_level: *level,
                org_unit: unit.clone(),
                stratum_dimension: dim.to_owned(),
                stratum_value: val.to_owned(),
            };
            for dim in ["sex", "age_band"] {
                let members: Vec<_> = strata
                    .iter()
                    .filter(|s| s.0 == dim)
                    .map(|s| key(dim, &s.1))
                    .collect();
                if !members.is_empty() {
                    sets.push((key(ALL, ALL), members));
                }
            }
        }
        for (dim, val, _) in &strata {
            let key = |level, unit: &str| CellKey {
                indicator: "ind".to_owned(),
                period: "2025Q1".to_owned(),
                org_level: level,
                org_unit: unit.to_owned(),
                stratum_dimension: dim.clone(),
                stratum_value: val.clone(),
            };
            let members = (0..teams.len())
                .map(|t| key(OrgLevel::Team, &format!("R{r}T{t}")))
                .collect();
            sets.push((key(OrgLevel::Region, &region), members));
        }
    }
    (cells, sets)
}

/// A deterministic Fisher-Yates shuffle (splitmix64).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let j = usize::try_from(z % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}

fn is_small(v: f64) -> bool {
    v > 0.0 && v < 6.0
}

fn sorted(mut cells: Vec<Cell>) -> Vec<Cell> {
    cells.sort_by_key(Cell::key);
    cells
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn additive_outputs_are_safe(case in case(true)) {
        let cfg = DisclosureConfig::default();
        let (input, sets) = build(&case);
        let out = apply(input.clone(), &cfg);

        // The last guard passes.
        prop_assert_eq!(check(&out, &cfg), Ok(()));

        // No published count from 1 to 5; suppressed cells publish nothing;
        // published cells are unchanged.
        for (before, after) in input.iter().zip(&out) {
            prop_assert_eq!(before.key(), after.key());
            match after.suppressed {
                None => {
                    prop_assert_eq!(before, after);
                    for f in after.count_fields.iter() {
                        prop_assert!(!after.field(f).is_some_and(is_small));
                    }
                }
                Some(_) => {
                    prop_assert!(after.published_fields().iter().all(|(_, v)| v.is_none()));
                }
            }
            // Primary suppression is exactly the small counts.
            let small = before.count_fields.iter().any(|f| before.field(f).is_some_and(is_small));
            prop_assert_eq!(after.suppressed == Some(SuppressionReason::SmallCount), small);
        }

        // No additive set (as known from the structure) has exactly one
        // suppressed cell while its total and other members are published.
        let by_key: HashMap<CellKey, &Cell> = out.iter().map(|c| (c.key(), c)).collect();
        for (total, members) in &sets {
            let n = std::iter::once(total)
                .chain(members)
                .filter(|k| by_key[*k].is_suppressed())
                .count();
            prop_assert_ne!(n, 1, "recoverable cell in the set of {}", total);
        }

        // Idempotent.
        prop_assert_eq!(&apply(out.clone(), &cfg), &out);

        // Independent of input order.
        let mut shuffled = input;
        shuffle(&mut shuffled, case.shuffle_seed);
        prop_assert_eq!(sorted(apply(shuffled, &cfg)), sorted(out));
    }

    #[test]
    fn non_additive_outputs_get_primary_suppression_only(case in case(false)) {
        let cfg = DisclosureConfig::default();
        let (input, _) = build(&case);
        let out = apply(input.clone(), &cfg);
        prop_assert_eq!(check(&out, &cfg), Ok(()));
        for (before, after) in input.iter().zip(&out) {
            prop_assert_ne!(after.suppressed, Some(SuppressionReason::Complementary));
            let small = before.count_fields.iter().any(|f| before.field(f).is_some_and(is_small));
            let low = before.min_denominator.is_some_and(|m| before.denominator.is_some_and(|d| d < m));
            prop_assert_eq!(after.is_suppressed(), small || low);
        }
        prop_assert_eq!(&apply(out.clone(), &cfg), &out);
    }

    #[test]
    fn check_catches_a_primary_cell_published_back(case in case(true), pick in any::<prop::sample::Index>()) {
        // Publishing back any primarily suppressed cell of a safe output is
        // caught. (Not so for every complementary cell: once a set holds
        // three suppressed cells, one of them may be redundant.)
        let cfg = DisclosureConfig::default();
        let (input, _) = build(&case);
        let out = apply(input.clone(), &cfg);
        let suppressed: Vec<usize> = (0..out.len())
            .filter(|&i| out[i].suppressed.is_some_and(SuppressionReason::is_primary))
            .collect();
        prop_assume!(!suppressed.is_empty());
        let i = suppressed[pick.index(suppressed.len())];
        let mut leaky = out;
        leaky[i] = input[i].clone();
        prop_assert!(check(&leaky, &cfg).is_err());
    }
}
