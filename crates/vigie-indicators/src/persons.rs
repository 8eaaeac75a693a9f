//! The evaluation's own person numbering, lean enough for a nation.
//!
//! The evaluation numbers the registry's persons 0, 1, 2… in pseudonymous-key order, so that
//! its seeded bootstrap is reproducible whatever order loads numbered persons in. Only the
//! persons some event or enrolment names are numbered ([`NumberSet`]): no one else can be
//! eligible or a participant, and a nation's registry is mostly persons without either.
//! Their relative order is the same, so are the results. Rows reach
//! it by their warehouse person number (`person_number`, given at ingest): a plain array
//! from warehouse number to evaluation number replaces hashing 64-character keys. Persons
//! are sorted by their key's first 128 bits (two keys sharing them: about one chance in
//! 10^22 among forty million persons), and keys are not kept: the worklist's few are read
//! again by number ([`keys_of`]). Rows are streamed from DataFusion rather than collected,
//! and sorted in Rust rather than by an SQL sort that a bounded memory pool would have to
//! spill.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringViewArray};
use arrow::datatypes::{DataType, Int32Type};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::error::IndicatorError;

/// The first 128 bits of a pseudonymous key, in an order that sorts as the key does.
pub(crate) type KeyPrefix = [u64; 2];

/// No evaluation number: the warehouse number names no registry person.
const ABSENT: u32 = u32::MAX;

/// A set of warehouse person numbers, one bit each (forty million persons: 5 MB).
#[derive(Default)]
pub(crate) struct NumberSet {
    bits: Vec<u64>,
    len: usize,
}

impl NumberSet {
    pub fn insert(&mut self, number: u32) {
        let (word, bit) = (number as usize / 64, number % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        if self.bits[word] & mask == 0 {
            self.bits[word] |= mask;
            self.len += 1;
        }
    }

    pub fn contains(&self, number: u32) -> bool {
        self.bits
            .get(number as usize / 64)
            .is_some_and(|w| w & (1u64 << (number % 64)) != 0)
    }

    /// How many numbers the set holds.
    pub fn len(&self) -> usize {
        self.len
    }
}

/// Warehouse person number <-> evaluation number.
#[derive(Default)]
pub(crate) struct PersonIndex {
    /// Evaluation number -> warehouse number.
    numbers: Vec<u32>,
    /// Warehouse number -> evaluation number (or [`ABSENT`]).
    by_number: Vec<u32>,
}

/// The sorting prefix of a hex key; None for text that is not a warehouse key (64
/// hexadecimal digits, all checked).
pub(crate) fn key_prefix(hex_key: &str) -> Option<KeyPrefix> {
    let raw = vigie_model::pseudonym_bytes(hex_key)?;
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&raw[at..at + 8]);
        u64::from_be_bytes(bytes)
    };
    Some([word(0), word(8)])
}

impl PersonIndex {
    /// Numbers the persons of `numbers` — warehouse numbers in key order, without
    /// duplicates — 0, 1, 2... in that order.
    pub fn from_sorted(numbers: Vec<u32>) -> Self {
        let size = numbers.iter().map(|n| *n as usize + 1).max().unwrap_or(0);
        let mut by_number = vec![ABSENT; size];
        for (i, number) in numbers.iter().enumerate() {
            by_number[*number as usize] = i as u32;
        }
        PersonIndex { numbers, by_number }
    }

    /// The evaluation number of a person, by warehouse number.
    pub fn get(&self, number: u32) -> Option<u32> {
        self.by_number
            .get(number as usize)
            .copied()
            .filter(|n| *n != ABSENT)
    }

    /// The warehouse number of an evaluation number.
    pub fn warehouse_number(&self, person: u32) -> Option<u32> {
        self.numbers.get(person as usize).copied()
    }
}

/// The pseudonymous keys of the persons `wanted` (warehouse numbers), read from `table`
/// (`person_number`, `person_key`) in one pass that keeps only theirs.
pub(crate) async fn keys_of(
    ctx: &SessionContext,
    table: &str,
    wanted: &[u32],
) -> Result<HashMap<u32, String>, IndicatorError> {
    let mut keys: HashMap<u32, String> = HashMap::with_capacity(wanted.len());
    if wanted.is_empty() {
        return Ok(keys);
    }
    let max = wanted.iter().copied().max().unwrap_or(0) as usize;
    let mut asked = vec![false; max + 1];
    for n in wanted {
        asked[*n as usize] = true;
    }
    let sql = format!("SELECT person_number, person_key FROM {table}");
    for_each_batch(ctx, "program_evaluation", &sql, |b| {
        let numbers = arrow::compute::cast(b.column(0), &DataType::Int32)?;
        let numbers = numbers.as_primitive::<Int32Type>();
        let text = Texts::of(b, 1)?;
        for i in (0..b.num_rows()).filter(|i| numbers.is_valid(*i) && !text.is_null(*i)) {
            if let Ok(n) = u32::try_from(numbers.value(i))
                && asked.get(n as usize).copied().unwrap_or(false)
            {
                keys.entry(n).or_insert_with(|| text.value(i).to_string());
            }
        }
        Ok(())
    })
    .await?;
    Ok(keys)
}

/// A text column as a scan or a function call gives it: string views read in place (casting
/// forty million keys to plain strings copies them all), anything else cast to plain
/// strings.
pub(crate) enum Texts {
    View(StringViewArray),
    Plain(StringArray),
}

impl Texts {
    /// Column `i` of `batch`.
    pub fn of(batch: &RecordBatch, i: usize) -> Result<Self, IndicatorError> {
        Ok(Self::from_array(batch.column(i))?)
    }

    /// A text array in whatever layout it comes.
    pub fn from_array(column: &ArrayRef) -> Result<Self, ArrowError> {
        Ok(match column.data_type() {
            DataType::Utf8View => Texts::View(column.as_string_view().clone()),
            _ => Texts::Plain(
                arrow::compute::cast(column, &DataType::Utf8)?
                    .as_string::<i32>()
                    .clone(),
            ),
        })
    }

    /// Row `i`, None when null.
    pub fn get(&self, i: usize) -> Option<&str> {
        (!self.is_null(i)).then(|| self.value(i))
    }

    pub fn value(&self, i: usize) -> &str {
        match self {
            Texts::View(a) => a.value(i),
            Texts::Plain(a) => a.value(i),
        }
    }

    pub fn is_null(&self, i: usize) -> bool {
        match self {
            Texts::View(a) => a.is_null(i),
            Texts::Plain(a) => a.is_null(i),
        }
    }
}

/// Runs `sql` and hands each result batch to `each` as it arrives (bounded memory).
pub(crate) async fn for_each_batch(
    ctx: &SessionContext,
    indicator: &str,
    sql: &str,
    mut each: impl FnMut(&RecordBatch) -> Result<(), IndicatorError>,
) -> Result<(), IndicatorError> {
    let err = |source| IndicatorError::Query {
        indicator: indicator.to_string(),
        source,
    };
    let mut stream = ctx
        .sql(sql)
        .await
        .map_err(err)?
        .execute_stream()
        .await
        .map_err(err)?;
    while let Some(batch) = stream.next().await {
        each(&batch.map_err(err)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persons_are_numbered_in_key_order_and_found_by_warehouse_number() {
        let a = "00".repeat(32);
        let b = format!("ff{}", "01".repeat(31));
        // Prefixes sort as the keys do, also on their second word.
        let c = format!("{}02{}", "00".repeat(8), "00".repeat(23));
        let (pa, pb, pc) = (
            key_prefix(&a).expect("hex"),
            key_prefix(&b).expect("hex"),
            key_prefix(&c).expect("hex"),
        );
        assert!(pa < pc && pc < pb, "{pa:?} {pc:?} {pb:?}");
        // Warehouse numbers in load order: b was loaded first.
        let index = PersonIndex::from_sorted(vec![7, 2]);
        assert_eq!(index.get(7), Some(0));
        assert_eq!(index.get(2), Some(1));
        assert_eq!(index.warehouse_number(1), Some(2));
        assert_eq!(index.warehouse_number(2), None);
        assert_eq!(index.get(3), None, "a number of no registry person");
        assert_eq!(index.get(8), None, "beyond every number");
        let mut set = NumberSet::default();
        for n in [0, 63, 64, 200, 64] {
            set.insert(n);
        }
        assert_eq!(set.len(), 4, "64 inserted twice counts once");
        assert!([0, 63, 64, 200].iter().all(|n| set.contains(*n)));
        assert!(
            ![1, 62, 65, 199, 201, 100_000]
                .iter()
                .any(|n| set.contains(*n))
        );
        assert_eq!(key_prefix("not hex"), None);
        // Every digit is checked, also past the kept 128 bits.
        assert_eq!(key_prefix(&format!("{}zz", "00".repeat(31))), None);
        assert_eq!(key_prefix(&"00".repeat(31)), None, "too short");
    }
}
