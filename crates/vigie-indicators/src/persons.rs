//! Dense person numbers for the person-level computations, lean enough for a province.
//!
//! A pseudonymous key is the hex form of an HMAC-SHA256: 64 characters as text, 32 bytes
//! raw. Held raw, in a table hashed by its first eight bytes (already uniformly random:
//! nobody can aim at a bucket without the pseudonymisation key), 15 million persons take
//! about 1 GiB instead of several. Rows are streamed from DataFusion rather than collected,
//! and numbered in key order in Rust rather than by an SQL sort that a bounded memory pool
//! would have to spill.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::error::IndicatorError;

/// A raw pseudonymous key.
pub(crate) type RawKey = [u8; 32];

/// Hashes a raw key by its first eight bytes (keys are HMAC outputs: uniformly random).
#[derive(Default)]
pub(crate) struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // A [u8; 32] is hashed as its length then its bytes: keep the first 8 key bytes.
        if bytes.len() >= 8 {
            let mut prefix = [0u8; 8];
            prefix.copy_from_slice(&bytes[..8]);
            self.0 = u64::from_le_bytes(prefix);
        }
    }

    fn write_usize(&mut self, _: usize) {}
}

/// Person key -> dense number, and back.
#[derive(Default)]
pub(crate) struct PersonIndex {
    keys: Vec<RawKey>,
    numbers: HashMap<RawKey, u32, BuildHasherDefault<PrefixHasher>>,
}

/// The raw form of a hex key; None for text that is not a warehouse key.
pub(crate) fn raw_key(hex_key: &str) -> Option<RawKey> {
    let mut raw = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut raw).ok()?;
    Some(raw)
}

impl PersonIndex {
    /// Numbers `keys` (sorted, without duplicates) 0, 1, 2, ... in that order.
    pub fn from_sorted(keys: Vec<RawKey>) -> Self {
        let mut numbers =
            HashMap::with_capacity_and_hasher(keys.len(), BuildHasherDefault::default());
        for (i, k) in keys.iter().enumerate() {
            numbers.insert(*k, i as u32);
        }
        PersonIndex { keys, numbers }
    }

    /// The number of a person, by hex key.
    pub fn get(&self, hex_key: &str) -> Option<u32> {
        raw_key(hex_key).and_then(|k| self.numbers.get(&k).copied())
    }

    /// The hex key of a person number.
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
    fn keys_round_trip_and_number_in_order() {
        let a = "00".repeat(32);
        let b = format!("ff{}", "01".repeat(31));
        let index =
            PersonIndex::from_sorted(vec![raw_key(&a).expect("hex"), raw_key(&b).expect("hex")]);
        assert_eq!(index.get(&a), Some(0));
        assert_eq!(index.get(&b), Some(1));
        assert_eq!(index.hex(1), b);
        assert_eq!(index.get("not hex"), None);
        assert_eq!(index.get(&"ab".repeat(32)), None);
    }
}
