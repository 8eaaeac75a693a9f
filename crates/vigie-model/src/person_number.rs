//! Dense integer person numbers.
//!
//! Every pseudonymous key (64 hexadecimal digits of HMAC-SHA256) gets a number at ingest:
//! 0, 1, 2… in the order keys are first seen, never renumbered. The warehouse keeps the
//! key-to-number table (`person_number`), extended in the same commit group as the rows
//! that use the new numbers; every row naming a person carries its number beside its key,
//! so joins, groups and distinct counts on persons compare 4-byte integers instead of
//! 64-byte strings. The key stays for linkage and export.
//!
//! In memory the numbering indexes keys by their first 128 bits: HMAC outputs are uniform,
//! so two of 40 million keys share a 128-bit prefix with probability about 2.4e-24 — far
//! below the odds of a hardware fault — while an entry takes 20 bytes instead of 68.
//!
//! The stored numbering is sorted arrays with a directory on the prefix's leading bits
//! ([`SortedNumbers`]), not a hash map: filling a province's 15M-entry hash map was 12 of a
//! weekly load's 16 seconds (one random memory access per insert), where reading the pairs
//! into arrays and sorting them is sequential work — 256 arrays by the key's first byte,
//! each small enough to sort in cache. Uniform prefixes make the directory's buckets a few
//! entries each, so a lookup costs about what a hash probe does, and takes no lock: only
//! keys new to the load go through the lock (shared to find them, alone to add one).

#[cfg(test)]
use std::sync::Mutex;
use std::sync::{Arc, RwLock};

use arrow::array::Int32Array;
#[cfg(test)]
use arrow::array::StringArray;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

mod encoded;
mod given;

use given::{GivenKeys, SharedKeys};

/// Name of the warehouse table mapping each pseudonymous key to its number, and of the
/// column carrying the number on every row that names a person.
pub const PERSON_NUMBER: &str = "person_number";

/// Why a key cannot be numbered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNumberError {
    /// The key is not a pseudonym vigie wrote (64 hexadecimal digits).
    #[error(
        "a person_key of {length} characters is not a 64-hex-digit pseudonym (the value is not shown: it may be an identifier): was the table written by vigie ingest?"
    )]
    NotAPseudonym {
        /// Its length in characters (the value itself may be a raw identifier written by
        /// another tool: never shown).
        length: usize,
    },
    /// Two numbers for one key, or one number for two keys, in the stored table.
    #[error(
        "the person_number table is inconsistent: {message} (restore the warehouse from a backup: numbers are never reassigned)"
    )]
    Inconsistent {
        /// What is wrong.
        message: String,
    },
    /// A copy of the numbering kept beside the table is damaged (the table itself is
    /// intact: the copy is read again from it).
    #[error("the stored copy of the person numbering is damaged: {message}")]
    Damaged {
        /// What is wrong with it.
        message: String,
    },
    /// More persons than an Int32 column can number.
    #[error("more than {} persons: person numbers are exhausted", i32::MAX)]
    Exhausted,
}

/// The first 128 bits of a pseudonymous key (ordered as the key is: `high` first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C, packed)]
struct KeyPrefix {
    high: u64,
    low: u64,
}

/// The 32 bytes of a pseudonymous key, checked to be 64 hexadecimal digits (either case).
///
/// Branch-free over the whole key, so that the compiler turns it into vector code: every
/// row of a load decodes its key, and reading a province's stored numbering decodes 15M of
/// them (a table lookup per digit was 8% of a weekly load's CPU).
fn key_bytes(key: &str) -> Result<KeyBytes, PersonNumberError> {
    let refuse = || PersonNumberError::NotAPseudonym {
        length: key.chars().count(),
    };
    let digits: &[u8; 64] = key.as_bytes().try_into().map_err(|_| refuse())?;
    let mut nibbles = [0u8; 64];
    let mut invalid = 0u8;
    for (nibble, &c) in nibbles.iter_mut().zip(digits) {
        let decimal = c.wrapping_sub(b'0') < 10;
        let letter = (c | 0x20).wrapping_sub(b'a') < 6;
        invalid |= u8::from(!(decimal | letter));
        // '0'..'9' are 0x30..0x39 and 'a'..'f' / 'A'..'F' are 0x61..0x66 / 0x41..0x46: the
        // low four bits give the digit, plus 9 for a letter (bit 6 set).
        *nibble = (c & 0x0F) + 9 * ((c >> 6) & 1);
    }
    if invalid != 0 {
        return Err(refuse());
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(nibbles.chunks_exact(2)) {
        *byte = (pair[0] << 4) | pair[1];
    }
    Ok(out)
}

/// The 32 bytes of a pseudonymous key (64 hexadecimal digits, every one checked), or None:
/// vector code, for readers of millions of keys.
pub fn pseudonym_bytes(key: &str) -> Option<[u8; 32]> {
    key_bytes(key).ok()
}

/// The first 128 bits of a key's bytes.
fn prefix_of(bytes: &KeyBytes) -> KeyPrefix {
    let word = |from: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[from..from + 8]);
        u64::from_be_bytes(w)
    };
    KeyPrefix {
        high: word(0),
        low: word(8),
    }
}

/// One stored key's prefix and its number: 20 bytes.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed)]
struct StoredEntry {
    prefix: KeyPrefix,
    number: u32,
}

/// Bits of a prefix that choose its segment: the stored numbering is read into 256
/// segments by the key's first byte, each sorted on its own (in cache, in parallel) rather
/// than the whole numbering at once (sorting a province's 15M pairs in one array was 14% of
/// a weekly load's CPU).
const SEGMENT_BITS: u32 = 8;
const SEGMENTS: usize = 1 << SEGMENT_BITS;

/// The segment of a prefix whose first word is `high`.
fn segment_of(high: u64) -> usize {
    (high >> (64 - SEGMENT_BITS)) as usize
}

/// The stored entries whose keys share their first byte, sorted by prefix, found through a
/// directory of the prefixes' next bits.
struct Segment {
    entries: Entries,
    /// Bucket `b` holds entries `starts[b]..starts[b + 1]`.
    starts: Vec<u32>,
}

/// A segment's sorted entries: sorted here from the table's pairs, or read as they were
/// written by [`PersonNumbers::encode`] (records decoded on lookup: a province's numbering
/// is then one read of its bytes, without a copy, a decode of its keys or a sort).
enum Entries {
    Sorted(Vec<StoredEntry>),
    Encoded(bytes::Bytes),
}

impl Entries {
    fn len(&self) -> usize {
        match self {
            Entries::Sorted(entries) => entries.len(),
            Entries::Encoded(records) => records.len() / encoded::RECORD_BYTES,
        }
    }

    fn get(&self, i: usize) -> Option<StoredEntry> {
        match self {
            Entries::Sorted(entries) => entries.get(i).copied(),
            Entries::Encoded(records) => {
                let from = i.checked_mul(encoded::RECORD_BYTES)?;
                encoded::decode_record(records.get(from..from + encoded::RECORD_BYTES)?)
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = StoredEntry> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// One layer of the stored numbering: segments by the keys' first byte, each sorted, with a
/// directory of the bits that follow (about four entries per bucket).
#[derive(Default)]
struct SortedNumbers {
    /// Empty, or one per first byte.
    segments: Vec<Segment>,
    /// Bits after the segment's that choose the bucket within it (0: one bucket).
    bits: u32,
    len: usize,
}

/// Directory bits for a layer of `len` entries: about four entries per bucket.
fn directory_bits(len: usize) -> u32 {
    (len / 4 / SEGMENTS).max(1).ilog2().min(24)
}

impl SortedNumbers {
    /// Sorts each segment, refuses a key stored twice, and builds the directories.
    fn build(segments: Vec<Vec<StoredEntry>>) -> Result<Self, PersonNumberError> {
        use rayon::iter::{IntoParallelIterator, ParallelIterator};
        let len: usize = segments.iter().map(Vec::len).sum();
        let bits = directory_bits(len);
        let built: Vec<Result<Segment, PersonNumberError>> = segments
            .into_par_iter()
            .map(|entries| Segment::build(entries, bits))
            .collect();
        // The first fault in key order, whichever thread met it first.
        let segments = built.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(SortedNumbers {
            segments,
            bits,
            len,
        })
    }

    fn get(&self, prefix: &KeyPrefix) -> Option<u32> {
        let high = prefix.high;
        let segment = self.segments.get(segment_of(high))?;
        let b = bucket(high << SEGMENT_BITS, self.bits);
        let (from, to) = (*segment.starts.get(b)?, *segment.starts.get(b + 1)?);
        (from as usize..to as usize)
            .filter_map(|i| segment.entries.get(i))
            .find(|e| e.prefix == *prefix)
            .map(|e| e.number)
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Every entry, in key order.
    fn entries(&self) -> impl Iterator<Item = StoredEntry> + '_ {
        self.segments.iter().flat_map(|s| s.entries.iter())
    }

    /// The entries of one segment, in key order (none if the layer is empty).
    fn segment_entries(&self, segment: usize) -> impl Iterator<Item = StoredEntry> + '_ {
        self.segments
            .get(segment)
            .into_iter()
            .flat_map(|s| s.entries.iter())
    }
}

impl Segment {
    fn build(mut entries: Vec<StoredEntry>, bits: u32) -> Result<Self, PersonNumberError> {
        entries.sort_unstable_by_key(|e| e.prefix);
        if let Some(pair) = entries.windows(2).find(|w| w[0].prefix == w[1].prefix) {
            return Err(key_twice(pair[0].number, pair[1].number));
        }
        let starts = directory(entries.iter().map(|e| e.prefix.high), bits);
        Ok(Segment {
            entries: Entries::Sorted(entries),
            starts,
        })
    }
}

/// The error for one key found with numbers `a` and `b`.
fn key_twice(a: u32, b: u32) -> PersonNumberError {
    PersonNumberError::Inconsistent {
        message: if a == b {
            format!("the key of number {a} is stored twice")
        } else {
            format!("one key holds the numbers {} and {}", a.min(b), a.max(b))
        },
    }
}

/// The bucket starts of a segment whose sorted prefixes begin with the words `highs`.
fn directory(highs: impl Iterator<Item = u64>, bits: u32) -> Vec<u32> {
    let mut starts = vec![0u32; (1usize << bits) + 1];
    for high in highs {
        count_in_directory(&mut starts, high, bits);
    }
    accumulate(&mut starts);
    starts
}

/// Counts a prefix whose first word is `high` in a directory being built (its bucket's
/// count is kept one slot further, so that [`accumulate`] turns counts into starts).
fn count_in_directory(counts: &mut [u32], high: u64, bits: u32) {
    if let Some(count) = counts.get_mut(bucket(high << SEGMENT_BITS, bits) + 1) {
        *count += 1;
    }
}

/// Turns a directory's counts into bucket starts (running sums).
fn accumulate(counts: &mut [u32]) {
    for b in 1..counts.len() {
        counts[b] += counts[b - 1];
    }
}

/// The directory bucket of a prefix whose first word, less the bits already used, is
/// `high`.
fn bucket(high: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (high >> (64 - bits)) as usize
    }
}

/// What a load adds to the stored numbering, behind the lock.
struct Inner {
    /// Keys numbered during this load, in number order from `first`.
    given: GivenKeys,
    /// The number of the load's first new key.
    first: u32,
    /// The first number not yet handed out by [`PersonNumbers::take_new`].
    new_from: u32,
}

impl Inner {
    fn starting_at(first: u32) -> Self {
        Inner {
            given: GivenKeys::default(),
            first,
            new_from: first,
        }
    }

    /// The next number to give (numbers stay below 2³¹: see [`PersonNumbers::number`]).
    fn next(&self) -> u32 {
        self.first + self.given.len() as u32
    }

    /// The keys numbered during this load and handed out by [`PersonNumbers::take_new`]
    /// (so written to the table), from the number `first`.
    fn taken(&self) -> SharedKeys {
        self.given.share(0, (self.new_from - self.first) as usize)
    }
}

/// The numbering of one load: the numbers already stored, plus those given during the load.
/// Shared by the parsing threads: stored keys are found without a lock, keys this load
/// numbered under a shared lock; only a key new to the warehouse takes the lock alone.
pub struct PersonNumbers {
    /// The stored numbering: one layer, or two when an encoded copy was read and the pairs
    /// stored since were read from the table (see [`StoredNumbers::from_encoded`]).
    stored: Vec<SortedNumbers>,
    /// Entries that came from an encoded copy.
    encoded: usize,
    inner: RwLock<Inner>,
}

/// A pseudonymous key as its 32 bytes: half the size of its hexadecimal text and no
/// allocation of its own (a province's registry numbers ten million keys in one load).
type KeyBytes = [u8; 32];

/// Numbers given since the previous call, to be written with the rows that use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNumbers {
    /// The number of the first key; the others follow.
    pub first: u32,
    /// The keys, in number order.
    keys: SharedKeys,
}

/// Rows per batch when the new numbers are written.
const NEW_NUMBERS_BATCH_ROWS: usize = 65_536;

/// Schema of the `person_number` table: one row per pseudonymous key.
pub fn person_number_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("person_key", DataType::Utf8, false),
        Field::new(PERSON_NUMBER, DataType::Int32, false),
    ]))
}

impl NewNumbers {
    /// The rows the `person_number` table receives, in batches of bounded size: built one
    /// at a time as the writer asks for them, so the keys are never all held as text.
    pub fn batches(self: Arc<Self>) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> {
        let chunks = self.keys.len().div_ceil(NEW_NUMBERS_BATCH_ROWS);
        (0..chunks).map(move |chunk| {
            let from = chunk * NEW_NUMBERS_BATCH_ROWS;
            let to = (from + NEW_NUMBERS_BATCH_ROWS).min(self.keys.len());
            self.batch(from, to)
        })
    }

    /// The rows of keys `from..to`.
    fn batch(&self, from: usize, to: usize) -> Result<RecordBatch, ArrowError> {
        let keys = self.keys.range(from, to);
        let numbers = (from..to)
            .map(|i| {
                u32::try_from(i)
                    .ok()
                    .and_then(|i| self.first.checked_add(i))
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| {
                        ArrowError::InvalidArgumentError(PersonNumberError::Exhausted.to_string())
                    })
            })
            .collect::<Result<Int32Array, _>>()?;
        let rows = to.saturating_sub(from);
        let mut text = arrow::array::StringBuilder::with_capacity(rows, rows * 64);
        let mut hex = [0u8; 64];
        for key in keys {
            // Keys are kept whole until the table holds them (see `written_before`).
            let key = key.ok_or_else(|| {
                ArrowError::InvalidArgumentError(
                    "internal error: a new person number's key was forgotten before it was written (please report)"
                        .into(),
                )
            })?;
            text.append_value(hex_of(key, &mut hex));
        }
        RecordBatch::try_new(
            person_number_schema(),
            vec![Arc::new(text.finish()), Arc::new(numbers)],
        )
    }

    /// Every row at once.
    #[cfg(test)]
    fn to_batch(&self) -> Result<RecordBatch, ArrowError> {
        let len = self.keys.len();
        self.batch(0, len)
    }

    /// Whether no number was given.
    pub fn is_empty(&self) -> bool {
        self.keys.len() == 0
    }

    /// The number after the last one given (`first` when none was).
    pub fn end(&self) -> u32 {
        self.first.saturating_add(self.keys.len() as u32)
    }

    /// How many numbers were given.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Each key (lowercase hexadecimal) with its number.
    #[cfg(test)]
    fn pairs(&self) -> impl Iterator<Item = (String, u32)> + '_ {
        let mut hex = [0u8; 64];
        self.keys
            .range(0, self.keys.len())
            .zip(self.first..)
            .map(move |(k, n)| {
                (
                    k.map(|k| hex_of(k, &mut hex).to_string())
                        .unwrap_or_default(),
                    n,
                )
            })
    }
}

/// The lowercase hexadecimal text of a key, written into `buf`.
fn hex_of<'a>(key: &KeyBytes, buf: &'a mut [u8; 64]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in buf.chunks_exact_mut(2).zip(key) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    // Only ASCII digits were written.
    std::str::from_utf8(buf).unwrap_or_default()
}

/// The stored numbering, read pair by pair (a table of millions of rows is read in batches,
/// never held whole as text), checked one-to-one when it is finished. It may start from an
/// encoded copy ([`StoredNumbers::from_encoded`]), the pairs added then being those stored
/// since the copy was written.
pub struct StoredNumbers {
    /// One per first byte of the key.
    segments: Vec<Vec<StoredEntry>>,
    /// The encoded copy the pairs add to.
    encoded: Option<SortedNumbers>,
    next: u32,
}

impl Default for StoredNumbers {
    fn default() -> Self {
        StoredNumbers::with_capacity(0)
    }
}

impl StoredNumbers {
    /// Room for `persons` pairs.
    pub fn with_capacity(persons: usize) -> Self {
        // Uniform keys spread evenly: a segment holds its share give or take a standard
        // deviation of about 0.4% of it at a province's 15M. The room adds 1/64 (about four
        // deviations there); a segment that needs more grows.
        let share = persons / SEGMENTS;
        let room = if share == 0 {
            0
        } else {
            share + share / 64 + 64
        };
        StoredNumbers {
            segments: (0..SEGMENTS).map(|_| Vec::with_capacity(room)).collect(),
            encoded: None,
            next: 0,
        }
    }

    /// The numbering [`PersonNumbers::encode`] wrote, with the label it was given; pairs
    /// added next are the ones stored since. Refused whole if a byte of it is damaged (its
    /// checksum), if its keys are out of order or repeated, or if a number is out of range.
    pub fn from_encoded(bytes: bytes::Bytes) -> Result<(Self, String), PersonNumberError> {
        let decoded = encoded::decode(bytes)?;
        let mut stored = StoredNumbers::with_capacity(0);
        stored.next = decoded.next;
        stored.encoded = Some(decoded.numbers);
        Ok((stored, decoded.label))
    }

    /// The number that follows the highest one read so far: pairs stored after an encoded
    /// copy carry this number or higher.
    pub fn next(&self) -> u32 {
        self.next
    }

    /// Pairs read so far.
    pub fn len(&self) -> usize {
        self.encoded.as_ref().map_or(0, SortedNumbers::len)
            + self.segments.iter().map(Vec::len).sum::<usize>()
    }

    /// Whether no pair was read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One stored pair.
    pub fn add(&mut self, key: &str, number: i32) -> Result<(), PersonNumberError> {
        let number = u32::try_from(number).map_err(|_| PersonNumberError::Inconsistent {
            message: format!("negative person number {number}"),
        })?;
        let prefix = prefix_of(&key_bytes(key)?);
        self.segments[segment_of(prefix.high)].push(StoredEntry { prefix, number });
        self.next = self.next.max(number.saturating_add(1));
        Ok(())
    }

    /// The numbering: the stored numbers, new ones following the highest.
    ///
    /// # Errors
    /// A key stored twice, or a number given to two keys.
    pub fn finish(self) -> Result<PersonNumbers, PersonNumberError> {
        let added = SortedNumbers::build(self.segments)?;
        let mut stored = Vec::with_capacity(2);
        if let Some(encoded) = self.encoded {
            // A key of the copy stored again since.
            for e in added.entries() {
                if let Some(number) = encoded.get(&e.prefix) {
                    return Err(key_twice(number, e.number));
                }
            }
            stored.push(encoded);
        }
        let encoded = stored.first().map_or(0, SortedNumbers::len);
        if added.len() > 0 || stored.is_empty() {
            stored.push(added);
        }
        // One bit per number: a number given to two keys.
        let mut taken = vec![0u64; (self.next as usize).div_ceil(64)];
        for e in stored.iter().flat_map(SortedNumbers::entries) {
            let number = e.number;
            let (word, bit) = ((number / 64) as usize, number % 64);
            let Some(slot) = taken.get_mut(word) else {
                return Err(PersonNumberError::Inconsistent {
                    message: format!("the number {number} is beyond the highest read"),
                });
            };
            if *slot & (1 << bit) != 0 {
                return Err(PersonNumberError::Inconsistent {
                    message: format!("the number {number} is given to two keys"),
                });
            }
            *slot |= 1 << bit;
        }
        Ok(PersonNumbers {
            stored,
            encoded,
            inner: RwLock::new(Inner::starting_at(self.next)),
        })
    }
}

impl Default for PersonNumbers {
    fn default() -> Self {
        PersonNumbers::new()
    }
}

impl PersonNumbers {
    /// An empty numbering (a warehouse that numbered nobody yet).
    pub fn new() -> Self {
        PersonNumbers {
            stored: Vec::new(),
            encoded: 0,
            inner: RwLock::new(Inner::starting_at(0)),
        }
    }

    /// The numbering the stored table holds, read as (key, number) pairs. Numbers given next
    /// follow the highest stored one.
    pub fn from_stored<'a>(
        pairs: impl IntoIterator<Item = (&'a str, i32)>,
    ) -> Result<Self, PersonNumberError> {
        let mut stored = StoredNumbers::default();
        for (key, number) in pairs {
            stored.add(key, number)?;
        }
        stored.finish()
    }

    /// The stored number of a prefix, without the lock.
    fn stored_number(&self, prefix: &KeyPrefix) -> Option<u32> {
        self.stored.iter().find_map(|layer| layer.get(prefix))
    }

    /// Entries read from an encoded copy (see [`StoredNumbers::from_encoded`]): the rest
    /// were read from the table or given by this load.
    pub fn encoded_len(&self) -> usize {
        self.encoded
    }

    fn lock(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-updated (every update is
        // one insert and one push), so a poisoned lock is still consistent.
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The number of `key`, given now if the key is new (see [`PersonNumbers::number_all`],
    /// which the parsing threads use).
    pub fn number(&self, key: &str) -> Result<u32, PersonNumberError> {
        self.number_all(&[key])
            .map_err(|(_, e)| e)?
            .into_iter()
            .next()
            .ok_or_else(|| PersonNumberError::Inconsistent {
                message: "no number for the one key asked (please report)".into(),
            })
    }

    /// The numbers of `keys`, in their order, each given now if its key is new; on error,
    /// the position of the key at fault.
    ///
    /// The parsing threads number their rows a run at a time: one shared lock for the run's
    /// keys this load numbered already, and the lock alone only when the run holds a new one.
    /// Taken for each row, even the shared lock was a third of the numbering's cost: the
    /// two threads' atomic operations on it bounced its cache line between the cores.
    pub fn number_all(&self, keys: &[&str]) -> Result<Vec<u32>, (usize, PersonNumberError)> {
        let mut numbers = vec![0u32; keys.len()];
        let mut unknown: Vec<(usize, KeyBytes, KeyPrefix)> = Vec::new();
        for (at, key) in keys.iter().enumerate() {
            let bytes = key_bytes(key).map_err(|e| (at, e))?;
            let prefix = prefix_of(&bytes);
            match self.stored_number(&prefix) {
                Some(n) => numbers[at] = n,
                None => unknown.push((at, bytes, prefix)),
            }
        }
        if unknown.is_empty() {
            return Ok(numbers);
        }
        {
            let inner = self.read();
            unknown.retain(|(at, _, prefix)| match inner.given.find(prefix) {
                Some(position) => {
                    numbers[*at] = inner.first + position as u32;
                    false
                }
                None => true,
            });
        }
        if unknown.is_empty() {
            return Ok(numbers);
        }
        let mut inner = self.lock();
        for (at, bytes, prefix) in unknown {
            // Numbered by another thread between the two locks, or earlier in this run.
            if let Some(position) = inner.given.find(&prefix) {
                numbers[at] = inner.first + position as u32;
                continue;
            }
            let n = inner.next();
            if n > i32::MAX as u32 {
                return Err((at, PersonNumberError::Exhausted));
            }
            inner.given.push(bytes);
            numbers[at] = n;
        }
        Ok(numbers)
    }

    /// The number `key` already has, without giving one.
    pub fn get(&self, key: &str) -> Option<u32> {
        let prefix = prefix_of(&key_bytes(key).ok()?);
        self.stored_number(&prefix).or_else(|| {
            let inner = self.read();
            inner
                .given
                .find(&prefix)
                .map(|position| inner.first + position as u32)
        })
    }

    /// The numbers given since the previous call (or since the stored ones were read).
    pub fn take_new(&self) -> NewNumbers {
        let mut inner = self.lock();
        let first = inner.new_from;
        let keys = inner
            .given
            .share((first - inner.first) as usize, usize::MAX);
        inner.new_from = inner.next();
        NewNumbers { first, keys }
    }

    /// Tells the numbering that the table holds the numbers before `end` (those of the
    /// [`NewNumbers`] [`PersonNumbers::take_new`] handed out, once written: `end` is their
    /// [`NewNumbers::end`]). Their keys are then kept as their first 128 bits alone, all a
    /// lookup needs: the keys a registry's first load numbers (forty million for a nation)
    /// took 32 bytes each for the rest of the load. Numbers not yet handed out stay whole.
    pub fn written_before(&self, end: u32) {
        let mut inner = self.lock();
        let end = end.min(inner.new_from);
        let written = end.saturating_sub(inner.first) as usize;
        inner.given.written_before(written);
    }

    /// Persons numbered so far.
    pub fn len(&self) -> usize {
        self.stored.iter().map(SortedNumbers::len).sum::<usize>() + self.read().given.len()
    }

    /// Whether nobody is numbered yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> String {
        // Distinct in the first 128 bits, like real HMAC outputs.
        format!("{i:032x}{:032x}", u64::MAX - u64::from(i))
    }

    #[test]
    fn numbers_follow_first_appearance_and_never_change() {
        let numbers = PersonNumbers::new();
        assert_eq!(numbers.number(&key(7)), Ok(0));
        assert_eq!(numbers.number(&key(3)), Ok(1));
        assert_eq!(
            numbers.number(&key(7)),
            Ok(0),
            "a known key keeps its number"
        );
        assert_eq!(
            numbers.number(&key(7).to_uppercase()),
            Ok(0),
            "hex case does not matter"
        );
        let pairs = |new: NewNumbers| new.pairs().collect::<Vec<_>>();
        assert_eq!(pairs(numbers.take_new()), vec![(key(7), 0), (key(3), 1)]);
        assert_eq!(numbers.number(&key(9)), Ok(2));
        let new = numbers.take_new();
        assert_eq!((new.first, pairs(new)), (2, vec![(key(9), 2)]));
        let none = numbers.take_new();
        assert_eq!((none.first, none.len()), (3, 0));
    }

    #[test]
    fn new_numbers_become_table_rows() {
        let numbers = PersonNumbers::new();
        numbers.number(&key(5)).expect("test value");
        numbers.number(&key(6)).expect("test value");
        let batch = numbers.take_new().to_batch().expect("test value");
        assert_eq!(batch.schema(), person_number_schema());
        let keys = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("test value");
        let ns = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int32Array>()
            .expect("test value");
        assert_eq!(keys.value(1), key(6));
        assert_eq!(ns.values().to_vec(), vec![0, 1]);
    }

    #[test]
    fn many_new_numbers_are_written_in_bounded_batches() {
        let stored = [(key(0), 41)];
        let numbers = PersonNumbers::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)))
            .expect("test value");
        let count = NEW_NUMBERS_BATCH_ROWS as u32 + 3;
        for i in 1..=count {
            // Upper case in the partner's file, lower case in the table.
            numbers.number(&key(i).to_uppercase()).expect("test value");
        }
        let new = Arc::new(numbers.take_new());
        assert_eq!(new.len(), count as usize);
        let batches: Vec<RecordBatch> =
            new.batches().collect::<Result<_, _>>().expect("test value");
        assert_eq!(
            batches
                .iter()
                .map(RecordBatch::num_rows)
                .collect::<Vec<_>>(),
            vec![NEW_NUMBERS_BATCH_ROWS, 3]
        );
        let mut expected = 1u32;
        for batch in &batches {
            let keys = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("test value");
            let ns = batch
                .column(1)
                .as_any()
                .downcast_ref::<Int32Array>()
                .expect("test value");
            for row in 0..batch.num_rows() {
                assert_eq!(keys.value(row), key(expected), "row {row}");
                assert_eq!(
                    ns.value(row),
                    41 + expected as i32,
                    "numbers follow the highest"
                );
                expected += 1;
            }
        }
        assert_eq!(expected, count + 1);
    }

    #[test]
    fn threads_numbering_at_once_give_each_key_one_number_and_no_gap() {
        let stored = [(key(0), 9)];
        let numbers = PersonNumbers::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)))
            .expect("test value");
        // Four threads number overlapping ranges of keys, each taking the new ones at times
        // as a group commit does while others still parse.
        let taken = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for t in 0..4u32 {
                let (numbers, taken) = (&numbers, &taken);
                scope.spawn(move || {
                    for i in 0..3_000u32 {
                        let k = uniform_key((i * 7 + t * 1_000) % 6_000);
                        numbers.number(&k).expect("test value");
                        if i % 997 == 0 {
                            let new = numbers.take_new();
                            lock_taken(taken).extend(new.pairs());
                        }
                    }
                });
            }
        });
        let pairs = taken_densely(&numbers, &taken, 10..10 + 6_000);
        let keys: std::collections::HashSet<&String> = pairs.iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 6_000, "each key numbered once");
        for (k, n) in &pairs {
            assert_eq!(numbers.get(k), Some(*n));
        }
        assert_eq!(numbers.len(), 6_001);
    }

    #[test]
    fn threads_numbering_runs_at_once_agree_with_numbering_key_by_key() {
        let stored = [(key(0), 9)];
        let numbers = PersonNumbers::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)))
            .expect("test value");
        // Four threads number runs of overlapping keys (a key repeated within a run, as a
        // survey record's items repeat their person; the stored key among them), taking the
        // new numbers at times as a group commit does while others still parse.
        let taken = Mutex::new(Vec::new());
        let given: Mutex<Vec<(String, u32)>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for t in 0..4u32 {
                let (numbers, taken, given) = (&numbers, &taken, &given);
                scope.spawn(move || {
                    for run in 0..60u32 {
                        let keys: Vec<String> = (0..50u32)
                            .map(|i| match i {
                                7 => key(0),
                                _ => uniform_key((run * 37 + i / 2 + t * 500) % 2_000),
                            })
                            .collect();
                        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                        let got = numbers.number_all(&refs).expect("test value");
                        lock_taken(given).extend(keys.into_iter().zip(got));
                        if run % 17 == 0 {
                            let new = numbers.take_new();
                            lock_taken(taken).extend(new.pairs());
                        }
                    }
                });
            }
        });
        taken_densely(&numbers, &taken, 10..10 + 2_000);
        for (k, n) in lock_taken(&given).iter() {
            assert_eq!(
                numbers.get(k),
                Some(*n),
                "the number a run was given is the key's"
            );
            assert_eq!(numbers.number(k), Ok(*n));
        }
        assert_eq!(numbers.get(&key(0)), Some(9), "the stored number stays");
        let bad = [key(1), "not a key".to_string()];
        let refs: Vec<&str> = bad.iter().map(String::as_str).collect();
        assert_eq!(
            numbers.number_all(&refs).map_err(|(at, _)| at),
            Err(1),
            "the position of the key at fault"
        );
    }

    /// Every (key, number) taken during a test and the numbers still to take, in number
    /// order, checked to be exactly `expected`: dense, each number once.
    fn taken_densely(
        numbers: &PersonNumbers,
        taken: &Mutex<Vec<(String, u32)>>,
        expected: std::ops::Range<u32>,
    ) -> Vec<(String, u32)> {
        let mut pairs = lock_taken(taken).clone();
        pairs.extend(numbers.take_new().pairs());
        pairs.sort_by_key(|(_, n)| *n);
        let given: Vec<u32> = pairs.iter().map(|(_, n)| *n).collect();
        assert_eq!(given, expected.collect::<Vec<_>>(), "dense, once each");
        pairs
    }

    fn lock_taken(
        taken: &Mutex<Vec<(String, u32)>>,
    ) -> std::sync::MutexGuard<'_, Vec<(String, u32)>> {
        taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[test]
    fn stored_numbers_are_kept_and_new_ones_follow_the_highest() {
        let stored = [(key(1), 0), (key(2), 5), (key(3), 2)];
        let numbers = PersonNumbers::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)))
            .expect("test value");
        assert_eq!(numbers.get(&key(2)), Some(5));
        assert_eq!(numbers.number(&key(3)), Ok(2));
        assert_eq!(
            numbers.number(&key(4)),
            Ok(6),
            "after the highest stored number"
        );
        assert_eq!(numbers.take_new().first, 6);
        assert_eq!(numbers.len(), 4);
    }

    /// A key like an HMAC output: uniform bits.
    pub(super) fn uniform_key(i: u32) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(i.to_be_bytes()))
    }

    #[test]
    fn keys_decode_as_the_hex_crate_does_and_every_other_byte_is_refused() {
        for i in 0..2_000u32 {
            let key = uniform_key(i);
            let expected = hex::decode(&key).expect("test value");
            assert_eq!(key_bytes(&key).map(|b| b.to_vec()), Ok(expected.clone()));
            assert_eq!(
                key_bytes(&key.to_uppercase()).map(|b| b.to_vec()),
                Ok(expected)
            );
        }
        let base = uniform_key(7);
        for byte in 0..=255u8 {
            let hex_digit = byte.is_ascii_hexdigit();
            for at in [0, 31, 32, 63] {
                let mut bytes = base.clone().into_bytes();
                bytes[at] = byte;
                // Bytes past 0x7F are not text on their own: checked as raw bytes.
                let Ok(key) = String::from_utf8(bytes) else {
                    continue;
                };
                assert_eq!(
                    key_bytes(&key).is_ok(),
                    hex_digit,
                    "byte {byte:#04x} at {at}"
                );
            }
        }
    }

    #[test]
    fn a_large_stored_numbering_finds_every_key_through_its_directory() {
        // Numbers in no particular order of the keys, as loads give them.
        let stored: Vec<(String, i32)> = (0..20_000u32)
            .map(|i| (uniform_key(i), ((i * 7_919) % 20_000) as i32))
            .collect();
        // Two keys sharing their first 64 bits (one bucket), differing after.
        let twin_a = format!("{}{}", "ab".repeat(8), "01".repeat(24));
        let twin_b = format!("{}{}", "ab".repeat(8), "02".repeat(24));
        // The first and last keys there can be: the first and last segments' edges.
        let (lowest, highest) = ("0".repeat(64), "F".repeat(64));
        let numbers =
            PersonNumbers::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)).chain([
                (twin_a.as_str(), 20_000),
                (twin_b.as_str(), 20_001),
                (lowest.as_str(), 30_000),
                (highest.as_str(), 30_001),
            ]))
            .expect("a consistent numbering");
        assert_eq!(numbers.get(&lowest), Some(30_000));
        assert_eq!(numbers.get(&highest.to_lowercase()), Some(30_001));
        assert!(
            SEGMENT_BITS + numbers.stored[0].bits > 8,
            "buckets: 2^({SEGMENT_BITS} + {})",
            numbers.stored[0].bits
        );
        for (key, number) in &stored {
            assert_eq!(numbers.get(key), Some(*number as u32), "{key}");
            assert_eq!(numbers.number(&key.to_uppercase()), Ok(*number as u32));
        }
        assert_eq!(numbers.get(&twin_a), Some(20_000));
        assert_eq!(numbers.get(&twin_b), Some(20_001));
        // Absent keys, in the buckets of stored ones or not, are new.
        for i in 20_000..21_000u32 {
            assert_eq!(numbers.get(&uniform_key(i)), None);
        }
        let twin_c = format!("{}{}", "ab".repeat(8), "03".repeat(24));
        assert_eq!(
            numbers.number(&twin_c),
            Ok(30_002),
            "after the highest stored"
        );
        assert_eq!(numbers.number(&uniform_key(20_000)), Ok(30_003));
        assert_eq!(
            numbers.number(&twin_c),
            Ok(30_002),
            "found again, unlocked path"
        );
        assert_eq!(numbers.len(), 20_006);
        let new = numbers.take_new();
        assert_eq!((new.first, new.len()), (30_002, 2));
    }

    #[test]
    fn an_inconsistent_table_or_a_raw_value_is_refused() {
        let refused = |pairs: &[(String, i32)], what: &str| match PersonNumbers::from_stored(
            pairs.iter().map(|(k, n)| (k.as_str(), *n)),
        ) {
            Err(PersonNumberError::Inconsistent { message }) => {
                assert!(message.contains(what), "{message}")
            }
            other => panic!("{what}: {:?}", other.map(|n| n.len())),
        };
        refused(
            &[(key(1), 0), (key(1), 1)],
            "one key holds the numbers 0 and 1",
        );
        refused(
            &[(key(1), 0), (key(2), 0)],
            "the number 0 is given to two keys",
        );
        refused(&[(key(1), 70), (key(1), 70)], "stored twice");
        refused(&[(key(1), -3)], "negative");
        let numbers = PersonNumbers::new();
        let err = numbers.number("1234567890AB").expect_err("refused");
        assert_eq!(err, PersonNumberError::NotAPseudonym { length: 12 });
        assert!(
            !err.to_string().contains("1234"),
            "no character of the value is shown: {err}"
        );
        assert!(numbers.number(&"g".repeat(64)).is_err());
        // A stray character past the 128 bits the map keeps is refused too, and so is a
        // multi-byte character of the same byte length.
        let mut late = key(5);
        late.replace_range(50..51, "z");
        assert!(numbers.number(&late).is_err(), "{late}");
        let mut wide = key(5);
        wide.replace_range(60..62, "é");
        assert_eq!(wide.len(), 64);
        assert_eq!(
            numbers.number(&wide),
            Err(PersonNumberError::NotAPseudonym { length: 63 })
        );
        assert!(numbers.is_empty());
    }

    #[test]
    fn numbers_written_keep_their_numbers_with_their_keys_prefixes_alone() {
        let stored: Vec<(String, i32)> = (0..100).map(|i| (uniform_key(i), i as i32)).collect();
        let numbers = PersonNumbers::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)))
            .expect("test value");
        // More than a block of keys (65,536): the first block is forgotten once written.
        let first_load: Vec<String> = (100..70_100).map(uniform_key).collect();
        let keys: Vec<&str> = first_load.iter().map(String::as_str).collect();
        let given = numbers.number_all(&keys).expect("test value");
        assert_eq!(given, (100..70_100).collect::<Vec<u32>>());
        let new = Arc::new(numbers.take_new());
        let end = new.end();
        assert_eq!(end, 70_100);
        // Given while the table is written: handed out at the next commit, kept whole.
        let meanwhile: Vec<String> = (70_100..70_110).map(uniform_key).collect();
        for key in &meanwhile {
            numbers.number(key).expect("test value");
        }
        let rows: usize = new
            .clone()
            .batches()
            .map(|b| b.expect("test value").num_rows())
            .sum();
        assert_eq!(rows, 70_000);
        drop(new);
        numbers.written_before(end);
        assert_eq!(
            numbers.read().given.whole(),
            70_010 - 65_536,
            "the first block keeps prefixes alone"
        );
        // Every key keeps its number; a key seen again gets no new one.
        for (i, key) in first_load.iter().enumerate().step_by(331) {
            assert_eq!(numbers.get(key), Some(100 + i as u32));
            assert_eq!(numbers.number(&key.to_uppercase()), Ok(100 + i as u32));
        }
        assert_eq!(numbers.number(&uniform_key(5)), Ok(5));
        assert_eq!(numbers.number(&uniform_key(70_200)), Ok(70_110));
        // The next numbers handed out are whole: the table receives their keys.
        let next = numbers.take_new();
        assert_eq!(next.first, 70_100);
        let pairs: Vec<(String, u32)> = next.pairs().collect();
        let expected: Vec<(String, u32)> = (70_100..70_110)
            .chain([70_200])
            .map(uniform_key)
            .zip(70_100..)
            .collect();
        assert_eq!(pairs, expected);
        // An end beyond the numbers handed out forgets none of those not handed out.
        numbers.number(&uniform_key(80_000)).expect("test value");
        numbers.written_before(u32::MAX);
        let last = numbers.take_new();
        assert_eq!(
            last.pairs().collect::<Vec<_>>(),
            vec![(uniform_key(80_000), 70_111)]
        );
        // The numbering's copy holds every number, forgotten keys included.
        let bytes: Vec<u8> = numbers.encode("copy").flatten().collect();
        let (read, _) = StoredNumbers::from_encoded(bytes::Bytes::from(bytes)).expect("test value");
        let read = read.finish().expect("test value");
        assert_eq!(read.len(), 70_112);
        for (i, key) in first_load.iter().enumerate().step_by(97) {
            assert_eq!(read.get(key), Some(100 + i as u32));
        }
        assert_eq!(read.get(&uniform_key(80_000)), Some(70_111));
    }
}
