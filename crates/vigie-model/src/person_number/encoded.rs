//! The stored numbering as bytes: what the warehouse keeps beside the `person_number` table
//! so that a load does not rebuild it from the table's text keys.
//!
//! Reading a province's 15M (key, number) pairs from the table meant decompressing a
//! gigabyte of hexadecimal text, decoding every key and sorting the prefixes again: 2.6 s of
//! a 5.4 s weekly load. Encoded, the numbering is its sorted entries as fixed records, read
//! in one piece and searched where they lie.
//!
//! Layout (integers little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 8 | `VIGIEPN1` |
//! | 4 | label length `L` |
//! | `L` | label (UTF-8: what the writer wants back, e.g. which table files it covers) |
//! | 8 | entry count `N` |
//! | 20 × `N` | entries in ascending key order: the key's first 64 bits, the next 64, the number (u32) |
//! | 4 | CRC-32 of every byte before it |
//!
//! The checksum guards against a damaged copy: a changed bit in an entry would otherwise give
//! a person another's number, or a second one. Order and uniqueness are checked again on
//! reading, and numbers against the range of the `person_number` column.

use super::{
    Entries, KeyPrefix, PersonNumberError, PersonNumbers, SEGMENTS, Segment, SharedKeys,
    SortedNumbers, StoredEntry, accumulate, count_in_directory, directory_bits, segment_of,
};

const MAGIC: &[u8; 8] = b"VIGIEPN1";

/// Bytes of one entry.
pub(super) const RECORD_BYTES: usize = 20;

/// Segments encoded per chunk: chunks of about 20 MB at a province's 15M entries, so that
/// writing a numbering never holds a second copy of it whole.
const SEGMENTS_PER_CHUNK: usize = 16;

fn damaged(message: impl Into<String>) -> PersonNumberError {
    PersonNumberError::Damaged {
        message: message.into(),
    }
}

/// The entry of a 20-byte record.
pub(super) fn decode_record(record: &[u8]) -> Option<StoredEntry> {
    let word = |from: usize| -> Option<u64> {
        Some(u64::from_le_bytes(
            record.get(from..from + 8)?.try_into().ok()?,
        ))
    };
    let number = u32::from_le_bytes(record.get(16..20)?.try_into().ok()?);
    Some(StoredEntry {
        prefix: KeyPrefix {
            high: word(0)?,
            low: word(8)?,
        },
        number,
    })
}

fn encode_record(entry: &StoredEntry, out: &mut Vec<u8>) {
    let (high, low, number) = (entry.prefix.high, entry.prefix.low, entry.number);
    out.extend_from_slice(&high.to_le_bytes());
    out.extend_from_slice(&low.to_le_bytes());
    out.extend_from_slice(&number.to_le_bytes());
}

/// An encoded numbering, read back.
pub(super) struct Decoded {
    pub(super) numbers: SortedNumbers,
    /// The number after the highest (0 when empty).
    pub(super) next: u32,
    pub(super) label: String,
}

/// Reads an encoded numbering, checking its checksum, its order and its numbers.
pub(super) fn decode(bytes: bytes::Bytes) -> Result<Decoded, PersonNumberError> {
    let total = bytes.len();
    let body_len = total
        .checked_sub(4)
        .ok_or_else(|| damaged(format!("{total} bytes, too short")))?;
    if bytes.get(..8) != Some(MAGIC.as_slice()) {
        return Err(damaged(
            "not an encoded person numbering (no VIGIEPN1 mark)",
        ));
    }
    let read_u32 = |at: usize| -> Result<u32, PersonNumberError> {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| damaged(format!("cut short at byte {at}")))
    };
    let expected_crc = read_u32(body_len)?;
    let crc = crc32fast::hash(&bytes[..body_len]);
    if crc != expected_crc {
        return Err(damaged(format!(
            "checksum {crc:08x} where {expected_crc:08x} was written"
        )));
    }
    let label_len = read_u32(8)? as usize;
    let label_end = 12usize
        .checked_add(label_len)
        .filter(|&end| end <= body_len)
        .ok_or_else(|| damaged("a label longer than the copy"))?;
    let label = std::str::from_utf8(&bytes[12..label_end])
        .map_err(|_| damaged("a label that is not UTF-8"))?
        .to_string();
    let count = bytes
        .get(label_end..label_end + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| damaged("cut short before the entry count"))?;
    let records_from = label_end + 8;
    let count = usize::try_from(count).map_err(|_| damaged("an impossible entry count"))?;
    if count
        .checked_mul(RECORD_BYTES)
        .and_then(|n| n.checked_add(records_from))
        != Some(body_len)
    {
        return Err(damaged(format!(
            "{count} entries announced in {total} bytes"
        )));
    }
    let records = bytes.slice(records_from..body_len);
    let bits = directory_bits(count);
    let mut segments = Vec::with_capacity(SEGMENTS);
    let mut starts = vec![0u32; (1usize << bits) + 1];
    let mut segment_from = 0usize;
    let mut previous: Option<KeyPrefix> = None;
    let mut next = 0u32;
    for (i, record) in records.chunks_exact(RECORD_BYTES).enumerate() {
        let entry = decode_record(record).ok_or_else(|| damaged("a cut entry"))?;
        if previous.is_some_and(|p| p >= entry.prefix) {
            return Err(damaged(format!(
                "entry {i} is out of key order or repeated"
            )));
        }
        previous = Some(entry.prefix);
        let number = entry.number;
        if i32::try_from(number).is_err() {
            return Err(damaged(format!("entry {i} holds the number {number}")));
        }
        next = next.max(number + 1);
        let high = entry.prefix.high;
        // Entries are in key order, so segments follow one another: close those before.
        while segments.len() < segment_of(high) {
            segments.push(close_segment(&records, segment_from, i, &mut starts));
            segment_from = i;
        }
        count_in_directory(&mut starts, high, bits);
    }
    while segments.len() < SEGMENTS {
        segments.push(close_segment(&records, segment_from, count, &mut starts));
        segment_from = count;
    }
    Ok(Decoded {
        numbers: SortedNumbers {
            segments,
            bits,
            len: count,
        },
        next,
        label,
    })
}

/// The segment of entries `from..to`, whose bucket counts are `counts` (reset for the next).
fn close_segment(records: &bytes::Bytes, from: usize, to: usize, counts: &mut Vec<u32>) -> Segment {
    let mut starts = std::mem::replace(counts, vec![0u32; counts.len()]);
    accumulate(&mut starts);
    Segment {
        entries: Entries::Encoded(records.slice(from * RECORD_BYTES..to * RECORD_BYTES)),
        starts,
    }
}

/// A numbering being encoded: the header, then the entries a few segments at a time, then
/// the checksum (see [`PersonNumbers::encode`]).
pub struct Encoding<'a> {
    layers: &'a [SortedNumbers],
    /// Keys this load gave numbers to and wrote to the table, from the number `first`.
    given: SharedKeys,
    first: u32,
    /// The positions in `given` of each segment's keys (4 bytes a key, where entries would
    /// take 20: a registry's first load gives forty million).
    given_by_segment: Vec<Vec<u32>>,
    entries: u64,
    header: Option<Vec<u8>>,
    next_segment: usize,
    crc: Option<crc32fast::Hasher>,
}

impl Encoding<'_> {
    /// The entries the encoding holds.
    pub fn entries(&self) -> u64 {
        self.entries
    }
}

impl Iterator for Encoding<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        use rayon::iter::{IntoParallelIterator, ParallelIterator};
        if let Some(header) = self.header.take() {
            if let Some(crc) = self.crc.as_mut() {
                crc.update(&header);
            }
            return Some(header);
        }
        if self.next_segment < SEGMENTS {
            let from = self.next_segment;
            let to = (from + SEGMENTS_PER_CHUNK).min(SEGMENTS);
            self.next_segment = to;
            let (layers, given, first) = (self.layers, &self.given, self.first);
            let given_by_segment = &self.given_by_segment;
            // Sorted in parallel, a segment each: a registry's first load gives millions.
            let parts: Vec<Vec<u8>> = (from..to)
                .into_par_iter()
                .map(|segment| {
                    let mut entries: Vec<StoredEntry> = layers
                        .iter()
                        .flat_map(|layer| layer.segment_entries(segment))
                        .chain(
                            given_by_segment
                                .get(segment)
                                .into_iter()
                                .flatten()
                                .filter_map(|&p| {
                                    Some(StoredEntry {
                                        prefix: given.prefix(p as usize)?,
                                        number: first + p,
                                    })
                                }),
                        )
                        .collect();
                    entries.sort_unstable_by_key(|e| e.prefix);
                    let mut out = Vec::with_capacity(entries.len() * RECORD_BYTES);
                    for e in &entries {
                        encode_record(e, &mut out);
                    }
                    out
                })
                .collect();
            let chunk = parts.concat();
            if let Some(crc) = self.crc.as_mut() {
                crc.update(&chunk);
            }
            return Some(chunk);
        }
        self.crc
            .take()
            .map(|crc| crc.finalize().to_le_bytes().to_vec())
    }
}

impl PersonNumbers {
    /// The numbering as [`super::StoredNumbers::from_encoded`] reads it, in chunks: every
    /// stored entry, and the numbers this load gave that [`PersonNumbers::take_new`] handed
    /// out (those not taken yet are not in the table, so not in the copy either). `label`
    /// is given back on reading. Each chunk is a few segments: the whole is never held twice.
    pub fn encode<'a>(&'a self, label: &str) -> Encoding<'a> {
        let (given, first) = {
            let inner = self.read();
            (inner.taken(), inner.first)
        };
        let mut given_by_segment: Vec<Vec<u32>> = (0..SEGMENTS).map(|_| Vec::new()).collect();
        for p in 0..given.len() {
            if let Some(prefix) = given.prefix(p) {
                given_by_segment[segment_of(prefix.high)].push(p as u32);
            }
        }
        let stored: usize = self.stored.iter().map(SortedNumbers::len).sum();
        let entries = (stored + given.len()) as u64;
        let mut header = Vec::with_capacity(24 + label.len());
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(label.len() as u32).to_le_bytes());
        header.extend_from_slice(label.as_bytes());
        header.extend_from_slice(&entries.to_le_bytes());
        Encoding {
            layers: &self.stored,
            given,
            first,
            given_by_segment,
            entries,
            header: Some(header),
            next_segment: 0,
            crc: Some(crc32fast::Hasher::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{StoredNumbers, tests::uniform_key};
    use super::*;

    fn encoded(numbers: &PersonNumbers, label: &str) -> Vec<u8> {
        numbers.encode(label).flatten().collect()
    }

    /// `count` uniform keys numbered 0, 1, 2…
    fn numbered(count: u32) -> PersonNumbers {
        let pairs: Vec<(String, i32)> = (0..count).map(|i| (uniform_key(i), i as i32)).collect();
        PersonNumbers::from_stored(pairs.iter().map(|(k, n)| (k.as_str(), *n))).expect("consistent")
    }

    fn read(bytes: Vec<u8>) -> Result<(PersonNumbers, String), PersonNumberError> {
        let (stored, label) = StoredNumbers::from_encoded(bytes::Bytes::from(bytes))?;
        Ok((stored.finish()?, label))
    }

    #[test]
    fn an_encoded_numbering_reads_back_with_every_number_and_its_label() {
        let stored: Vec<(String, i32)> = (0..5_000u32)
            .map(|i| (uniform_key(i), ((i * 7_919) % 5_000) as i32))
            .collect();
        let numbers = PersonNumbers::from_stored(stored.iter().map(|(k, n)| (k.as_str(), *n)))
            .expect("consistent");
        // Numbers given by the load: two taken (written to the table), one not yet.
        let given: Vec<String> = (5_000..5_003).map(uniform_key).collect();
        assert_eq!(numbers.number(&given[0]), Ok(5_000));
        assert_eq!(numbers.number(&given[1]), Ok(5_001));
        assert_eq!(numbers.take_new().len(), 2);
        assert_eq!(numbers.number(&given[2]), Ok(5_002));
        let encoding = numbers.encode("files: a, b");
        assert_eq!(encoding.entries(), 5_002, "the untaken number is left out");
        let bytes: Vec<u8> = encoding.flatten().collect();
        assert_eq!(bytes.len(), 8 + 4 + 11 + 8 + 5_002 * RECORD_BYTES + 4);
        let (back, label) = read(bytes).expect("reads back");
        assert_eq!(label, "files: a, b");
        assert_eq!((back.len(), back.encoded_len()), (5_002, 5_002));
        for (key, number) in &stored {
            assert_eq!(back.get(key), Some(*number as u32), "{key}");
        }
        assert_eq!(back.get(&given[0]), Some(5_000));
        assert_eq!(back.get(&given[1]), Some(5_001));
        assert_eq!(back.get(&given[2]), None, "never written, so never read");
        assert_eq!(
            back.number(&given[2]),
            Ok(5_002),
            "given again after the highest"
        );
    }

    #[test]
    fn pairs_stored_after_the_copy_add_to_it_and_may_not_contradict_it() {
        let numbers = numbered(300);
        let bytes = encoded(&numbers, "");
        let with = |pairs: &[(String, i32)]| {
            let (mut stored, _) =
                StoredNumbers::from_encoded(bytes::Bytes::from(bytes.clone())).expect("reads");
            assert_eq!(stored.next(), 300);
            for (k, n) in pairs {
                stored.add(k, *n)?;
            }
            stored.finish()
        };
        let later = with(&[(uniform_key(300), 300), (uniform_key(301), 301)]).expect("adds");
        assert_eq!(later.get(&uniform_key(7)), Some(7));
        assert_eq!(later.get(&uniform_key(301)), Some(301));
        assert_eq!((later.len(), later.encoded_len()), (302, 300));
        assert_eq!(later.number(&uniform_key(999)), Ok(302));
        let inconsistent =
            |result: Result<PersonNumbers, PersonNumberError>, what: &str| match result {
                Err(PersonNumberError::Inconsistent { message }) => {
                    assert!(message.contains(what), "{message}")
                }
                other => panic!("{what}: {:?}", other.map(|n| n.len())),
            };
        // A key of the copy stored again since; a number of the copy given again.
        inconsistent(with(&[(uniform_key(5), 300)]), "numbers 5 and 300");
        inconsistent(with(&[(uniform_key(400), 5)]), "given to two keys");
    }

    #[test]
    fn a_damaged_copy_is_refused_whole() {
        let numbers = numbered(100);
        let good = encoded(&numbers, "v1");
        let refused = |bytes: Vec<u8>, what: &str| match read(bytes) {
            Err(PersonNumberError::Damaged { message }) => {
                assert!(message.contains(what), "{what}: {message}")
            }
            other => panic!("{what}: {:?}", other.map(|(n, _)| n.len())),
        };
        // One bit of one entry's number.
        let mut flipped = good.clone();
        flipped[8 + 4 + 2 + 8 + 50 * RECORD_BYTES + 16] ^= 1;
        refused(flipped, "checksum");
        refused(good[..good.len() - 30].to_vec(), "checksum");
        refused(b"PA".to_vec(), "too short");
        refused(vec![0; 64], "no VIGIEPN1");
        // Well-formed with a valid checksum, but out of order or repeated: entries swapped,
        // or one written twice.
        let reseal = |mut body: Vec<u8>| {
            let crc = crc32fast::hash(&body);
            body.extend_from_slice(&crc.to_le_bytes());
            body
        };
        let body = &good[..good.len() - 4];
        let first = 8 + 4 + 2 + 8;
        let mut swapped = body.to_vec();
        let (a, b) = (first, first + RECORD_BYTES);
        let entry_a = swapped[a..b].to_vec();
        swapped.copy_within(b..b + RECORD_BYTES, a);
        swapped[b..b + RECORD_BYTES].copy_from_slice(&entry_a);
        refused(reseal(swapped), "entry 1 is out of key order");
        let mut repeated = body.to_vec();
        repeated.copy_within(a..b, b);
        refused(reseal(repeated), "entry 1 is out of key order or repeated");
        let mut huge = body.to_vec();
        huge[first + 16..first + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        refused(reseal(huge), "holds the number 4294967295");
        let mut announced = body.to_vec();
        announced[first - 8..first].copy_from_slice(&101u64.to_le_bytes());
        refused(reseal(announced), "101 entries announced");
        assert!(read(good).is_ok(), "the copy itself reads");
    }

    #[test]
    fn an_empty_numbering_encodes_too() {
        let (back, label) = read(encoded(&PersonNumbers::new(), "none")).expect("reads");
        assert_eq!((back.len(), label.as_str()), (0, "none"));
        assert_eq!(back.number(&uniform_key(1)), Ok(0));
    }
}
