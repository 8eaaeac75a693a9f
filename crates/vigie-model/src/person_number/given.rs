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

/// A block of keys: whole while the table may still have to receive them, their first 128
/// bits alone once it holds them (see [`GivenKeys::written_before`]).
#[derive(Clone)]
enum BlockKeys {
    Whole(Vec<KeyBytes>),
    Prefixes(Vec<KeyPrefix>),
}

impl BlockKeys {
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            BlockKeys::Whole(keys) => keys.len(),
            BlockKeys::Prefixes(prefixes) => prefixes.len(),
        }
    }

    fn prefix(&self, i: usize) -> Option<KeyPrefix> {
        match self {
            BlockKeys::Whole(keys) => keys.get(i).map(prefix_of),
            BlockKeys::Prefixes(prefixes) => prefixes.get(i).copied(),
        }
    }

    fn key(&self, i: usize) -> Option<&KeyBytes> {
        match self {
            BlockKeys::Whole(keys) => keys.get(i),
            BlockKeys::Prefixes(_) => None,
        }
    }

    /// Whether keys can still be added to it.
    fn is_open(&self) -> bool {
        matches!(self, BlockKeys::Whole(keys) if keys.len() < BLOCK_KEYS)
    }
}

type Block = Arc<BlockKeys>;

/// The hash of a key in the position table: the low word of its prefix, uniform already
/// (the keys are HMAC outputs).
fn hash_of(prefix: &KeyPrefix) -> u64 {
    prefix.low
}

fn prefix_at(blocks: &[Block], position: usize) -> Option<KeyPrefix> {
    blocks
        .get(position / BLOCK_KEYS)
        .and_then(|b| b.prefix(position % BLOCK_KEYS))
}

fn key_at(blocks: &[Block], position: usize) -> Option<&KeyBytes> {
    blocks
        .get(position / BLOCK_KEYS)
        .and_then(|b| b.key(position % BLOCK_KEYS))
}

/// The keys numbered during a load, by position (0 for the load's first number).
#[derive(Default)]
pub(super) struct GivenKeys {
    blocks: Vec<Block>,
    len: usize,
    /// Each key's position, found by the key's prefix.
    index: HashTable<u32>,
    /// Blocks before this one hold prefixes alone.
    whole_from: usize,
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
                prefix_at(blocks, p as usize).is_some_and(|k| k == *prefix)
            })
            .map(|&p| p as usize)
    }

    /// Adds a key the caller found absent; returns its position. Positions stay below
    /// 2³¹ (the caller refuses numbers beyond an Int32 column's range first).
    pub(super) fn push(&mut self, key: KeyBytes) -> usize {
        let position = self.len;
        if !self.blocks.last().is_some_and(|b| b.is_open()) {
            self.blocks
                .push(Arc::new(BlockKeys::Whole(Vec::with_capacity(BLOCK_KEYS))));
        }
        if let Some(last) = self.blocks.last_mut() {
            if Arc::get_mut(last).is_none() {
                // Handed to a writer: it keeps the keys it was given, this load fills a copy.
                let mut copy = Vec::with_capacity(BLOCK_KEYS);
                if let BlockKeys::Whole(keys) = last.as_ref() {
                    copy.extend_from_slice(keys);
                }
                *last = Arc::new(BlockKeys::Whole(copy));
            }
            if let Some(BlockKeys::Whole(keys)) = Arc::get_mut(last) {
                keys.push(key);
            }
        }
        self.len += 1;
        let blocks = &self.blocks;
        self.index
            .insert_unique(hash_of(&prefix_of(&key)), position as u32, |&p| {
                prefix_at(blocks, p as usize).map_or(0, |k| hash_of(&k))
            });
        position
    }

    /// Keeps only the first 128 bits of the keys at positions before `end`, a block at a
    /// time (the block being filled stays whole): the table holds them, and finding a key
    /// needs no more. A national registry's load numbers forty million keys: 640 MB less
    /// for the rest of the load.
    pub(super) fn written_before(&mut self, end: usize) {
        let full_blocks = end.min(self.len) / BLOCK_KEYS;
        for block in self
            .blocks
            .iter_mut()
            .take(full_blocks)
            .skip(self.whole_from)
        {
            if let BlockKeys::Whole(keys) = block.as_ref() {
                let prefixes = keys.iter().map(prefix_of).collect();
                // A writer still holding the block keeps its keys until it drops them.
                *block = Arc::new(BlockKeys::Prefixes(prefixes));
            }
        }
        self.whole_from = self.whole_from.max(full_blocks);
    }

    /// Keys held whole (the others as prefixes).
    #[cfg(test)]
    pub(super) fn whole(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| matches!(b.as_ref(), BlockKeys::Whole(_)))
            .map(|b| b.len())
            .sum()
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

/// Keys handed out of a [`GivenKeys`]: a run of positions in its blocks. Those written to
/// the table before may be held as prefixes alone.
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
            .map(|c| Arc::new(BlockKeys::Whole(c.to_vec())))
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

    /// The key at `i` in the run (None beyond the run, or held as a prefix alone).
    pub(super) fn get(&self, i: usize) -> Option<&KeyBytes> {
        if i < self.len {
            key_at(&self.blocks, self.skip + i)
        } else {
            None
        }
    }

    /// The prefix of the key at `i` in the run.
    pub(super) fn prefix(&self, i: usize) -> Option<KeyPrefix> {
        if i < self.len {
            prefix_at(&self.blocks, self.skip + i)
        } else {
            None
        }
    }

    /// The keys `from..to` of the run, in order (None for a key held as a prefix alone).
    pub(super) fn range(
        &self,
        from: usize,
        to: usize,
    ) -> impl Iterator<Item = Option<&KeyBytes>> + '_ {
        (from..to.min(self.len)).map(|i| key_at(&self.blocks, self.skip + i))
    }
}

impl PartialEq for SharedKeys {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && (0..self.len)
                .all(|i| self.prefix(i) == other.prefix(i) && self.get(i) == other.get(i))
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
        let last: Vec<_> = last
            .range(0, usize::MAX)
            .map(|k| k.copied())
            .collect::<Option<_>>()
            .expect("whole keys");
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
        let handed: Vec<_> = shared
            .range(0, usize::MAX)
            .map(|k| k.copied())
            .collect::<Option<_>>()
            .expect("whole keys");
        let expected: Vec<_> = (5..start).map(key).collect();
        assert_eq!(handed, expected);
        let later = given.share(start as usize, usize::MAX);
        let later: Vec<_> = later
            .range(0, usize::MAX)
            .map(|k| k.copied())
            .collect::<Option<_>>()
            .expect("whole keys");
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
        let across: Vec<_> = across
            .range(0, usize::MAX)
            .map(|k| k.copied())
            .collect::<Option<_>>()
            .expect("whole keys");
        assert_eq!(across, (start - 2..start + 5).map(key).collect::<Vec<_>>());
    }

    #[test]
    fn written_keys_are_found_by_their_prefix_and_writers_keep_theirs_whole() {
        let mut given = GivenKeys::default();
        let count = 2 * BLOCK_KEYS as u64 + 17;
        for i in 0..count {
            given.push(key(i));
        }
        // A writer holding the first keys while they are forgotten keeps them whole.
        let writing = given.share(0, BLOCK_KEYS + 5);
        given.written_before(BLOCK_KEYS + 5);
        assert_eq!(given.whole(), count as usize - BLOCK_KEYS);
        assert_eq!(writing.get(0), Some(&key(0)));
        assert_eq!(
            writing.get(BLOCK_KEYS + 4),
            Some(&key(BLOCK_KEYS as u64 + 4))
        );
        // Shared afterwards: prefixes alone where forgotten.
        let after = given.share(BLOCK_KEYS - 1, BLOCK_KEYS + 1);
        assert_eq!(after.get(0), None);
        assert_eq!(
            after.prefix(0),
            Some(prefix_of(&key(BLOCK_KEYS as u64 - 1)))
        );
        assert_eq!(after.get(1), Some(&key(BLOCK_KEYS as u64)));
        assert_eq!(after.range(0, 2).filter(Option::is_none).count(), 1);
        // Every key is found where it was put; new keys go on from there.
        for i in (0..count).step_by(499).chain([count - 1]) {
            assert_eq!(given.find(&prefix_of(&key(i))), Some(i as usize));
        }
        assert_eq!(given.push(key(count)), count as usize);
        // An end within the block being filled, or before what was forgotten: whole blocks
        // only, nothing given back.
        given.written_before(given.len());
        assert_eq!(given.whole(), 18);
        given.written_before(3);
        assert_eq!(given.whole(), 18);
        for i in (0..=count).step_by(211).chain([count]) {
            assert_eq!(given.find(&prefix_of(&key(i))), Some(i as usize));
        }
    }
}
