//! The keys one load numbers, in number order.
//!
//! A national registry's first load numbers forty million keys at once. A hash map from
//! key prefix to number took 21 bytes a slot (and grew by doubling, with both tables held
//! while it moved), and the keys to write were a second, separate vector, also grown by
//! doubling: 2.7 GB and more for 40M keys, measured. Here each key is held once, in blocks
//! of fixed size that growing never copies, and found through a table of its position
//! alone (4 bytes and one control byte a slot): 1.6 GB for the same keys. The position is
//! the number less the load's first: the keys are the numbering's order.
//!
//! Blocks are shared with the [`SharedKeys`] a load hands to its writer, so handing out the
//! numbers given so far copies nothing but, at most, the one block still being filled.

use std::fmt;
use std::sync::Arc;

use hashbrown::HashTable;

use super::{KeyBytes, KeyPrefix, prefix_of};

/// Keys per block: 2 MiB, one huge page.
const BLOCK_KEYS: usize = 1 << 16;

type Block = Arc<Vec<KeyBytes>>;

/// The hash of a key in the position table: the low word of its prefix, uniform already
/// (the keys are HMAC outputs).
fn hash_of(prefix: &KeyPrefix) -> u64 {
    prefix.low
}

fn key_at(blocks: &[Block], position: usize) -> Option<&KeyBytes> {
    blocks
        .get(position / BLOCK_KEYS)
        .and_then(|b| b.get(position % BLOCK_KEYS))
}

/// The keys numbered during a load, by position (0 for the load's first number).
#[derive(Default)]
pub(super) struct GivenKeys {
    blocks: Vec<Block>,
    len: usize,
    /// Each key's position, found by the key's prefix.
    index: HashTable<u32>,
}

impl GivenKeys {
    /// Keys held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The position of the key with this prefix.
    pub(super) fn find(&self, prefix: &KeyPrefix) -> Option<usize> {
        let blocks = &self.blocks;
        self.index
            .find(hash_of(prefix), |&p| {
                key_at(blocks, p as usize).is_some_and(|k| prefix_of(k) == *prefix)
            })
            .map(|&p| p as usize)
    }

    /// Adds a key the caller found absent; returns its position. Positions stay below
    /// 2³¹ (the caller refuses numbers beyond an Int32 column's range first).
    pub(super) fn push(&mut self, key: KeyBytes) -> usize {
        let position = self.len;
        let full = self.blocks.last().is_none_or(|b| b.len() == BLOCK_KEYS);
        if full {
            self.blocks.push(Arc::new(Vec::with_capacity(BLOCK_KEYS)));
        }
        if let Some(last) = self.blocks.last_mut() {
            if Arc::get_mut(last).is_none() {
                // Handed to a writer: it keeps the keys it was given, this load fills a copy.
                let mut copy = Vec::with_capacity(BLOCK_KEYS);
                copy.extend_from_slice(last);
                *last = Arc::new(copy);
            }
            Arc::make_mut(last).push(key);
        }
        self.len += 1;
        let blocks = &self.blocks;
        self.index
            .insert_unique(hash_of(&prefix_of(&key)), position as u32, |&p| {
                key_at(blocks, p as usize).map_or(0, |k| hash_of(&prefix_of(k)))
            });
        position
    }

    /// The keys at positions `from..to`, shared: only the blocks are counted again.
    pub(super) fn share(&self, from: usize, to: usize) -> SharedKeys {
        let to = to.min(self.len);
        let from = from.min(to);
        let blocks = self
            .blocks
            .get(from / BLOCK_KEYS..to.div_ceil(BLOCK_KEYS))
            .unwrap_or_default();
        SharedKeys {
            blocks: blocks.to_vec(),
            skip: from % BLOCK_KEYS,
            len: to - from,
        }
    }
}

/// Keys handed out of a [`GivenKeys`]: a run of positions in its blocks.
#[derive(Clone, Default)]
pub(super) struct SharedKeys {
    blocks: Vec<Block>,
    /// Position of the first key in the first block.
    skip: usize,
    len: usize,
}

impl SharedKeys {
    /// A run of keys held on its own.
    #[cfg(test)]
    pub(super) fn from_keys(keys: Vec<KeyBytes>) -> Self {
        let len = keys.len();
        let blocks = keys
            .chunks(BLOCK_KEYS)
            .map(|c| Arc::new(c.to_vec()))
            .collect();
        SharedKeys {
            blocks,
            skip: 0,
            len,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The key at `i` in the run.
    pub(super) fn get(&self, i: usize) -> Option<&KeyBytes> {
        if i < self.len {
            key_at(&self.blocks, self.skip + i)
        } else {
            None
        }
    }

    /// The keys `from..to` of the run, in order.
    pub(super) fn range(&self, from: usize, to: usize) -> impl Iterator<Item = &KeyBytes> + '_ {
        (from..to.min(self.len)).filter_map(|i| key_at(&self.blocks, self.skip + i))
    }
}

impl PartialEq for SharedKeys {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.range(0, self.len).eq(other.range(0, other.len))
    }
}

impl Eq for SharedKeys {}

impl fmt::Debug for SharedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedKeys({} keys)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key whose prefix's words are `high` and `low`.
    fn key_of(high: u64, low: u64) -> KeyBytes {
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&high.to_be_bytes());
        k[8..16].copy_from_slice(&low.to_be_bytes());
        k[31] = 0xAB;
        k
    }

    /// Distinct keys with uniform low words, as HMAC outputs have.
    fn key(i: u64) -> KeyBytes {
        key_of(i, i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    #[test]
    fn keys_of_one_hash_are_told_apart_by_their_prefix() {
        let mut given = GivenKeys::default();
        let same_hash: Vec<KeyBytes> = (1..=3).map(|high| key_of(high, 42)).collect();
        for (i, k) in same_hash.iter().enumerate() {
            assert_eq!(given.find(&prefix_of(k)), None);
            assert_eq!(given.push(*k), i);
        }
        for (i, k) in same_hash.iter().enumerate() {
            assert_eq!(given.find(&prefix_of(k)), Some(i));
        }
        assert_eq!(given.find(&prefix_of(&key_of(4, 42))), None);
    }

    #[test]
    fn keys_are_found_at_their_position_across_blocks() {
        let mut given = GivenKeys::default();
        let count = 2 * BLOCK_KEYS as u64 + 17;
        for i in 0..count {
            assert_eq!(given.find(&prefix_of(&key(i))), None);
            assert_eq!(given.push(key(i)), i as usize);
        }
        assert_eq!(given.len(), count as usize);
        for i in (0..count).step_by(997).chain([count - 1]) {
            assert_eq!(given.find(&prefix_of(&key(i))), Some(i as usize));
        }
        assert_eq!(given.find(&prefix_of(&key(count))), None);
        let last = given.share(count as usize - 2, usize::MAX);
        let last: Vec<_> = last.range(0, usize::MAX).copied().collect();
        assert_eq!(last, vec![key(count - 2), key(count - 1)]);
    }

    #[test]
    fn shared_keys_stay_as_handed_out_while_the_load_goes_on() {
        let mut given = GivenKeys::default();
        let start = BLOCK_KEYS as u64 - 3;
        for i in 0..start {
            given.push(key(i));
        }
        let shared = given.share(5, usize::MAX);
        assert_eq!(shared.len(), start as usize - 5);
        // The block being filled is shared: the next keys go to a copy of it.
        for i in start..start + 10 {
            given.push(key(i));
        }
        assert_eq!(shared.len(), start as usize - 5);
        let handed: Vec<_> = shared.range(0, usize::MAX).copied().collect();
        let expected: Vec<_> = (5..start).map(key).collect();
        assert_eq!(handed, expected);
        let later = given.share(start as usize, usize::MAX);
        let later: Vec<_> = later.range(0, usize::MAX).copied().collect();
        assert_eq!(later, (start..start + 10).map(key).collect::<Vec<_>>());
        // And every key is still found where it was put.
        for i in 0..start + 10 {
            assert_eq!(given.find(&prefix_of(&key(i))), Some(i as usize));
        }
        assert_eq!(SharedKeys::from_keys((5..start).map(key).collect()), shared);
        // A run ending inside a block, and one across a block's end.
        let inner = given.share(3, 6);
        assert_eq!(inner.len(), 3);
        assert_eq!(inner.get(0), Some(&key(3)));
        assert_eq!(inner.get(2), Some(&key(5)));
        assert_eq!(inner.get(3), None);
        let across = given.share(start as usize - 2, start as usize + 5);
        let across: Vec<_> = across.range(0, usize::MAX).copied().collect();
        assert_eq!(across, (start - 2..start + 5).map(key).collect::<Vec<_>>());
    }
}
