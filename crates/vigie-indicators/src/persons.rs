//! The evaluation's own person numbering, lean enough for a province.
//!
//! The evaluation numbers the registry's persons 0, 1, 2… in pseudonymous-key order, so that
//! its seeded bootstrap is reproducible whatever order loads numbered persons in. Rows reach
//! it by their warehouse person number (`person_number`, given at ingest): a plain array
//! from warehouse number to evaluation number replaces hashing 64-character keys. Keys are
//! held raw (32 bytes) only to sort persons and to write the worklist. Rows are streamed
//! from DataFusion rather than collected, and sorted in Rust rather than by an SQL sort that
//! a bounded memory pool would have to spill.

use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::error::IndicatorError;

/// A raw pseudonymous key.
pub(crate) type RawKey = [u8; 32];

/// No evaluation number: the warehouse number names no registry person.
const ABSENT: u32 = u32::MAX;

/// Warehouse person number -> evaluation number, and evaluation number -> key.
#[derive(Default)]
pub(crate) struct PersonIndex {
    keys: Vec<RawKey>,
    by_number: Vec<u32>,
}

/// The raw form of a hex key; None for text that is not a warehouse key.
pub(crate) fn raw_key(hex_key: &str) -> Option<RawKey> {
    let mut raw = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut raw).ok()?;
    Some(raw)
}

impl PersonIndex {
    /// Numbers `persons` — (key, warehouse number), sorted by key, without duplicates —
    /// 0, 1, 2... in that order.
    pub fn from_sorted(persons: Vec<(RawKey, u32)>) -> Self {
        let size = persons
            .iter()
            .map(|(_, n)| *n as usize + 1)
            .max()
            .unwrap_or(0);
        let mut by_number = vec![ABSENT; size];
        let mut keys = Vec::with_capacity(persons.len());
        for (i, (key, number)) in persons.into_iter().enumerate() {
            by_number[number as usize] = i as u32;
            keys.push(key);
        }
        PersonIndex { keys, by_number }
    }

    /// The evaluation number of a person, by warehouse number.
    pub fn get(&self, number: i32) -> Option<u32> {
        let at = usize::try_from(number).ok()?;
        self.by_number.get(at).copied().filter(|n| *n != ABSENT)
    }

    /// The hex key of an evaluation number.
    pub fn hex(&self, person: u32) -> String {
        self.keys
            .get(person as usize)
            .map(hex::encode)
            .unwrap_or_default()
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
        // Warehouse numbers in load order: b was loaded first.
        let index = PersonIndex::from_sorted(vec![
            (raw_key(&a).expect("hex"), 7),
            (raw_key(&b).expect("hex"), 2),
        ]);
        assert_eq!(index.get(7), Some(0));
        assert_eq!(index.get(2), Some(1));
        assert_eq!(index.hex(1), b);
        assert_eq!(index.get(3), None, "a number of no registry person");
        assert_eq!(index.get(8), None, "beyond every number");
        assert_eq!(index.get(-1), None);
        assert_eq!(raw_key("not hex"), None);
    }
}
