//! Exact duplicate records: a partner re-sending the same record, in the same file or in a
//! later one. A record's fingerprint is a 128-bit keyed hash of every canonical value of
//! every row it produced (an unpivoted survey response produces several rows), combined
//! so that the order of its rows does not matter: the fingerprint of a record already in
//! the warehouse, rebuilt from its stored rows grouped by file and line, is the same as
//! the fingerprint it had when it was parsed.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int32Type, Int64Type};
#[cfg(test)]
use siphasher::sip128::Hasher128;
use siphasher::sip128::SipHasher13;
use vigie_model::{Entity, FieldType};

use crate::value::Value;

/// A record's fingerprint.
pub type Fingerprint = u128;

/// Fingerprints are already uniformly distributed: hash maps keyed by them need no hashing.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = (n as u64) ^ ((n >> 64) as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(n);
    }
}

/// A map keyed by fingerprints.
pub type FingerprintMap<V> = HashMap<Fingerprint, V, BuildHasherDefault<PassThrough>>;

/// The first 96 bits of a fingerprint, as a key of [`SeenRecords`]: 12 bytes, aligned on
/// 4, so that an entry with its line takes 16 bytes instead of 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed(4))]
struct SeenKey {
    high: u64,
    low: u32,
}

impl SeenKey {
    fn of(fingerprint: Fingerprint) -> Self {
        SeenKey {
            high: (fingerprint >> 64) as u64,
            low: (fingerprint >> 32) as u32,
        }
    }
}

/// The records accepted so far in one file, or in one part of a file read in parts (whose
/// records are then handed on sorted: [`SeenRecords::into_run`]): the first line of each,
/// by fingerprint.
///
/// A file holds one entry per record (millions for a registry), so an entry is kept small:
/// 96 bits of the fingerprint and a 32-bit line (lines beyond 2³² go to a second map, never
/// used in practice). Two distinct records of one file share 96
/// bits with probability below n²/2⁹⁷ — about 1e-14 for forty million records —, far below
/// the odds of a hardware fault; the check against records already loaded keeps all 128.
#[derive(Default, Clone)]
pub struct SeenRecords {
    lines: HashMap<SeenKey, u32, BuildHasherDefault<PassThrough>>,
    far_lines: HashMap<SeenKey, u64, BuildHasherDefault<PassThrough>>,
}

impl SeenRecords {
    /// The line of the record with this fingerprint, if one was seen.
    pub fn first_line(&self, fingerprint: Fingerprint) -> Option<u64> {
        self.line_of(&SeenKey::of(fingerprint))
    }

    fn line_of(&self, key: &SeenKey) -> Option<u64> {
        self.lines
            .get(key)
            .map(|&l| u64::from(l))
            .or_else(|| self.far_lines.get(key).copied())
    }

    /// Records the record with this fingerprint at `line` (the caller checked it is new).
    pub fn insert(&mut self, fingerprint: Fingerprint, line: u64) {
        self.insert_key(SeenKey::of(fingerprint), line);
    }

    fn insert_key(&mut self, key: SeenKey, line: u64) {
        match u32::try_from(line) {
            Ok(l) => {
                self.lines.insert(key, l);
            }
            Err(_) => {
                self.far_lines.insert(key, line);
            }
        }
    }

    /// Records seen.
    pub fn len(&self) -> usize {
        self.lines.len() + self.far_lines.len()
    }

    /// Whether no record was seen.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records seen, sorted by fingerprint: how a part of a file read in parts hands
    /// them on (see [`repeats_across`]). 16 bytes a record instead of the map's 17 a slot
    /// at up to twice the records; written to a file in `spill_dir` (given) when there are
    /// at least `spill_from`, so that the parts read so far hold no memory for them.
    ///
    /// # Errors
    /// The spill file cannot be written.
    pub fn into_run(self, spill_dir: Option<&Path>, spill_from: usize) -> io::Result<SeenRun> {
        let mut near: Vec<SeenLine> = Vec::with_capacity(self.lines.len());
        near.extend(
            self.lines
                .into_iter()
                .map(|(key, line)| SeenLine { key, line }),
        );
        near.sort_unstable_by_key(|e| e.key);
        let mut far: Vec<(SeenKey, u64)> = self.far_lines.into_iter().collect();
        far.sort_unstable_by_key(|e| e.0);
        let near = match spill_dir {
            Some(dir) if near.len() >= spill_from => NearLines::spill(&near, dir)?,
            _ => NearLines::Held(near),
        };
        Ok(SeenRun { near, far })
    }
}

/// A record seen at a line below 2³², kept in a [`SeenRun`].
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct SeenLine {
    key: SeenKey,
    line: u32,
}

/// The records one part of a file accepted, sorted by fingerprint.
pub struct SeenRun {
    near: NearLines,
    far: Vec<(SeenKey, u64)>,
}

/// A run's records at lines below 2³², in memory or in a file.
///
/// A national registry's parts accepted forty million records: 0.64 GB of sorted runs,
/// held until the last part was read, at the moment the load's memory peaked (the
/// numbering of the registry's new persons growing beside them). Spilled, a run costs
/// nothing until its records are compared, a bucket at a time.
enum NearLines {
    Held(Vec<SeenLine>),
    /// [`SEEN_LINE_BYTES`] a record, sorted; `starts[b]` is the first record of bucket `b`
    /// (the records whose fingerprint's first byte is `b`), `starts[256]` the count.
    Spilled {
        file: Mutex<File>,
        starts: Vec<usize>,
    },
}

/// Bytes of a spilled [`SeenLine`]: the key's two words and the line, little-endian.
const SEEN_LINE_BYTES: usize = 16;

impl NearLines {
    fn spill(sorted: &[SeenLine], dir: &Path) -> io::Result<Self> {
        let mut file = std::io::BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(dir)?);
        for e in sorted {
            let (high, low, line) = (e.key.high, e.key.low, e.line);
            file.write_all(&high.to_le_bytes())?;
            file.write_all(&low.to_le_bytes())?;
            file.write_all(&line.to_le_bytes())?;
        }
        let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
        let starts = (0..=256u16)
            .map(|b| sorted.partition_point(|e| u16::from(first_byte(&e.key)) < b))
            .collect();
        Ok(NearLines::Spilled {
            file: Mutex::new(file),
            starts,
        })
    }

    /// Appends the records of `bucket`, with their lines.
    fn extend_bucket(&self, bucket: u8, out: &mut Vec<(SeenKey, u64)>) -> io::Result<()> {
        match self {
            NearLines::Held(sorted) => {
                let records = slice_of(sorted, bucket, |e| e.key);
                out.extend(records.iter().map(|e| (e.key, u64::from(e.line))));
                Ok(())
            }
            NearLines::Spilled { file, starts } => {
                let b = usize::from(bucket);
                let (from, to) = match (starts.get(b), starts.get(b + 1)) {
                    (Some(&from), Some(&to)) if from <= to => (from, to),
                    _ => return Ok(()),
                };
                let mut bytes = vec![0u8; (to - from) * SEEN_LINE_BYTES];
                {
                    // Another bucket's reader may hold it: the reads are short.
                    let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
                    file.seek(SeekFrom::Start((from * SEEN_LINE_BYTES) as u64))?;
                    file.read_exact(&mut bytes)?;
                }
                out.extend(bytes.chunks_exact(SEEN_LINE_BYTES).map(|r| {
                    let word = |at: usize, width: usize| {
                        let mut w = [0u8; 8];
                        w[..width].copy_from_slice(&r[at..at + width]);
                        u64::from_le_bytes(w)
                    };
                    let key = SeenKey {
                        high: word(0, 8),
                        low: word(8, 4) as u32,
                    };
                    (key, word(12, 4))
                }));
                Ok(())
            }
        }
    }
}

impl SeenRun {
    /// Appends the records of this run whose fingerprint's first byte is `bucket`, with
    /// their lines.
    fn extend_bucket(&self, bucket: u8, out: &mut Vec<(SeenKey, u64)>) -> io::Result<()> {
        self.near.extend_bucket(bucket, out)?;
        out.extend(slice_of(&self.far, bucket, |e| e.0).iter().copied());
        Ok(())
    }
}

/// The first byte of a key: its bucket.
fn first_byte(key: &SeenKey) -> u8 {
    (key.high >> 56) as u8
}

/// The part of `sorted` whose keys' first byte is `bucket`.
fn slice_of<T>(sorted: &[T], bucket: u8, key: impl Fn(&T) -> SeenKey) -> &[T] {
    let from = sorted.partition_point(|e| first_byte(&key(e)) < bucket);
    let to = sorted.partition_point(|e| first_byte(&key(e)) <= bucket);
    sorted.get(from..to).unwrap_or_default()
}

/// The records of the runs of one file's parts that repeat a record of an earlier line, as
/// (line, the earliest line with the same record), ordered by line. Each run holds a record
/// once (a part rejects its own repeats as it reads).
///
/// The runs are compared a fingerprint byte at a time (uniform fingerprints make each
/// bucket a 256th of the file), in parallel: nothing the size of the file is built.
///
/// # Errors
/// A spilled run cannot be read back.
pub fn repeats_across(runs: &[SeenRun]) -> io::Result<Vec<(u64, u64)>> {
    use rayon::iter::{IntoParallelIterator, ParallelIterator};
    let found: Vec<io::Result<Vec<(u64, u64)>>> = (0..=u8::MAX)
        .into_par_iter()
        .map(|bucket| {
            let mut records: Vec<(SeenKey, u64)> = Vec::new();
            for run in runs {
                run.extend_bucket(bucket, &mut records)?;
            }
            records.sort_unstable_by_key(|&(key, line)| (key, line));
            let mut found = Vec::new();
            let mut first: Option<(SeenKey, u64)> = None;
            for (key, line) in records {
                match first {
                    Some((k, earliest)) if k == key => found.push((line, earliest)),
                    _ => first = Some((key, line)),
                }
            }
            Ok(found)
        })
        .collect();
    let mut repeats = Vec::new();
    for bucket in found {
        repeats.extend(bucket?);
    }
    repeats.sort_unstable();
    Ok(repeats)
}

/// Where the first copy of a record already in the warehouse came from.
#[derive(Debug, Clone)]
pub struct FirstCopy {
    /// Its landing file.
    pub file: Arc<str>,
    /// Its line there.
    pub line: u64,
}

/// Fingerprints of the records of one source already in the warehouse.
pub type LoadedRecords = FingerprintMap<FirstCopy>;

/// The fingerprint of one row, from its canonical values.
///
/// The row is laid out as bytes first and hashed in one call: fed value by value (the
/// hasher's bookkeeping for every call), fingerprinting was 3.5% of a province load's CPU
/// samples, 2.4% now. The bytes are those the value-by-value form fed (little-endian
/// integers), so the fingerprint is the same.
pub fn row_fingerprint(entity: Entity, values: &[Value]) -> Fingerprint {
    thread_local! {
        static ROW: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    ROW.with_borrow_mut(|row| {
        row.clear();
        canonical_bytes(entity, values, row);
        SipHasher13::new_with_keys(FINGERPRINT_KEYS.0, FINGERPRINT_KEYS.1)
            .hash(row)
            .as_u128()
    })
}

/// The keys of the fingerprint's hash (fixed: fingerprints are rebuilt from stored rows).
const FINGERPRINT_KEYS: (u64, u64) = (0x7669_6769_6520_6475, 0x706c_6963_6174_6573);

/// A row's canonical values as the bytes its fingerprint hashes: the table, then each
/// value's type tag and content (text with its length, so that values cannot run into
/// each other).
fn canonical_bytes(entity: Entity, values: &[Value], out: &mut Vec<u8>) {
    out.extend_from_slice(entity.table_name().as_bytes());
    for v in values {
        match v {
            Value::Null => out.push(0),
            // Owned or shared, the same text is the same value.
            Value::Str(_) | Value::Shared(_) => {
                let s = v.as_str().unwrap_or_default();
                out.push(1);
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Int(n) => {
                out.push(2);
                out.extend_from_slice(&n.to_le_bytes());
            }
            Value::Float(x) => {
                out.push(3);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            Value::Date(d) => {
                out.push(4);
                out.extend_from_slice(&d.to_le_bytes());
            }
            Value::DateTime(t) => {
                out.push(5);
                out.extend_from_slice(&t.to_le_bytes());
            }
        }
    }
}

/// Combines the rows of one record, whatever their order.
pub fn combine(record: Fingerprint, row: Fingerprint) -> Fingerprint {
    record.wrapping_add(row)
}

/// Adds the fingerprints of the records in `batch` (rows of `entity` as stored in the
/// warehouse, with `_file` and `_line`) to `records`, keyed by (file, line).
pub fn add_stored_rows(
    entity: Entity,
    batch: &RecordBatch,
    records: &mut HashMap<(Arc<str>, u64), Fingerprint>,
    files: &mut HashMap<String, Arc<str>>,
) -> Result<(), String> {
    let schema = entity.schema();
    let mut columns = Vec::with_capacity(entity.fields().len());
    for def in entity.fields() {
        let array = batch
            .column_by_name(def.name)
            .ok_or_else(|| format!("{} lacks column {}", entity.table_name(), def.name))?;
        let target = schema
            .field_with_name(def.name)
            .map_err(|e| e.to_string())?
            .data_type()
            .clone();
        columns.push((def.ty, cast(array, &target)?));
    }
    let file = cast(
        batch
            .column_by_name("_file")
            .ok_or_else(|| format!("{} lacks _file", entity.table_name()))?,
        &DataType::Utf8,
    )?;
    let line = cast(
        batch
            .column_by_name("_line")
            .ok_or_else(|| format!("{} lacks _line", entity.table_name()))?,
        &DataType::Int64,
    )?;
    let file = file.as_string::<i32>();
    let line = line.as_primitive::<Int64Type>();
    let mut values = Vec::with_capacity(columns.len());
    for i in 0..batch.num_rows() {
        values.clear();
        for (ty, col) in &columns {
            values.push(value_at(*ty, col.as_ref(), i));
        }
        let name = file.value(i);
        let shared = match files.get(name) {
            Some(s) => s.clone(),
            None => {
                let s: Arc<str> = Arc::from(name);
                files.insert(name.to_string(), s.clone());
                s
            }
        };
        let slot = records
            .entry((shared, line.value(i).max(0) as u64))
            .or_insert(0);
        *slot = combine(*slot, row_fingerprint(entity, &values));
    }
    Ok(())
}

fn cast(array: &arrow::array::ArrayRef, to: &DataType) -> Result<arrow::array::ArrayRef, String> {
    arrow::compute::cast(array, to).map_err(|e| e.to_string())
}

fn value_at(ty: FieldType, col: &dyn Array, i: usize) -> Value {
    if col.is_null(i) {
        return Value::Null;
    }
    match ty {
        FieldType::PersonKey | FieldType::Text => col
            .as_string_opt::<i32>()
            .map(|a| Value::Str(a.value(i).to_string()))
            .unwrap_or(Value::Null),
        FieldType::Int => col
            .as_primitive_opt::<Int32Type>()
            .map(|a| Value::Int(a.value(i)))
            .unwrap_or(Value::Null),
        FieldType::Float => col
            .as_primitive_opt::<Float64Type>()
            .map(|a| Value::Float(a.value(i)))
            .unwrap_or(Value::Null),
        FieldType::Date => col
            .as_primitive_opt::<Date32Type>()
            .map(|a| Value::Date(a.value(i)))
            .unwrap_or(Value::Null),
        FieldType::DateTime => col
            .as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()
            .map(|a| Value::DateTime(a.value(i)))
            .unwrap_or(Value::Null),
    }
}

/// Turns fingerprints keyed by (file, line) into first copies keyed by fingerprint (the
/// earliest file and line win, so messages are stable).
pub fn first_copies(records: HashMap<(Arc<str>, u64), Fingerprint>) -> LoadedRecords {
    let mut out = LoadedRecords::default();
    for ((file, line), fp) in records {
        let replace = match out.get(&fp) {
            None => true,
            Some(c) => (file.as_ref(), line) < (c.file.as_ref(), c.line),
        };
        if replace {
            out.insert(fp, FirstCopy { file, line });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_the_same_whatever_the_order_of_its_rows() {
        let a = row_fingerprint(
            Entity::SurveyResponse,
            &[Value::Str("Q1".into()), Value::Int(4)],
        );
        let b = row_fingerprint(
            Entity::SurveyResponse,
            &[Value::Str("Q2".into()), Value::Int(3)],
        );
        assert_eq!(combine(combine(0, a), b), combine(combine(0, b), a));
        assert_ne!(a, b);
    }

    #[test]
    fn seen_records_keep_the_first_line_of_each_record() {
        let fp = |i: u128| (i << 100) | (i << 40) | 0xdead_beef;
        let mut seen = SeenRecords::default();
        assert!(seen.is_empty());
        seen.insert(fp(1), 2);
        seen.insert(fp(2), 3);
        // A line beyond 32 bits (a file of more than four billion lines) is kept exactly.
        seen.insert(fp(3), u64::from(u32::MAX) + 7);
        assert_eq!(seen.first_line(fp(1)), Some(2));
        assert_eq!(seen.first_line(fp(3)), Some(u64::from(u32::MAX) + 7));
        assert_eq!(seen.first_line(fp(4)), None);
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn records_of_later_parts_repeating_earlier_lines_are_found_with_the_earliest() {
        let fp = |i: u128| (i << 100) | (i << 40) | 0xdead_beef;
        // In the last bucket (first byte 0xFF): buckets are compared one at a time.
        let last = (0xFFu128 << 120) | (7 << 40);
        let far = |n: u64| u64::from(u32::MAX) + n;
        let mut first = SeenRecords::default();
        first.insert(fp(1), 2);
        first.insert(fp(2), 3);
        first.insert(last, 4);
        let mut second = SeenRecords::default();
        second.insert(fp(2), 10);
        second.insert(fp(3), 11);
        second.insert(last, far(1));
        second.insert(fp(5), far(9));
        // A third part repeating both earlier parts, and a line beyond 32 bits repeated.
        let mut third = SeenRecords::default();
        third.insert(fp(2), far(20));
        third.insert(fp(5), far(21));
        third.insert(fp(6), far(22));
        third.insert(fp(3) ^ (1 << 32), far(23));
        let expected = vec![(10, 3), (far(1), 4), (far(20), 3), (far(21), far(9))];
        let parts = [first, second, third];
        // Held in memory, or spilled to files (every run, or those of two records or more:
        // the first two; the third's records are all beyond 32 bits, always held).
        let dir = tempfile::tempdir().expect("test value");
        for spill_from in [usize::MAX, 0, 2] {
            let runs: Vec<SeenRun> = parts
                .iter()
                .map(|p| p.clone().into_run(Some(dir.path()), spill_from))
                .collect::<Result<_, _>>()
                .expect("test value");
            let spilled = runs
                .iter()
                .filter(|r| matches!(r.near, NearLines::Spilled { .. }))
                .count();
            assert_eq!(
                spilled,
                match spill_from {
                    usize::MAX => 0,
                    0 => 3,
                    _ => 2,
                }
            );
            assert_eq!(repeats_across(&runs).expect("test value"), expected);
            assert_eq!(repeats_across(&runs[..1]).expect("test value"), vec![]);
        }
        assert_eq!(repeats_across(&[]).expect("test value"), vec![]);
    }

    #[test]
    fn spilled_runs_find_the_repeats_held_runs_find() {
        // Many records over every bucket, runs of different sizes, repeats within reach of
        // every earlier run: the spilled comparison gives exactly the held one.
        let fp = |i: u64| {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (u128::from(h) << 64) | u128::from(h.rotate_left(17))
        };
        let sizes = [5_000u64, 1, 0, 12_345, 777];
        let mut parts = Vec::new();
        let mut line = 0u64;
        for (p, &size) in sizes.iter().enumerate() {
            let mut seen = SeenRecords::default();
            for r in 0..size {
                line += 1;
                // One record in seven repeats one of the first 3,000 records.
                let id = if r % 7 == 3 {
                    r % 3_000
                } else {
                    10_000 * (p as u64 + 1) + r
                };
                if seen.first_line(fp(id)).is_none() {
                    seen.insert(fp(id), line);
                }
            }
            parts.push(seen);
        }
        let dir = tempfile::tempdir().expect("test value");
        let runs = |spill_from: usize| -> Vec<SeenRun> {
            parts
                .iter()
                .map(|p| p.clone().into_run(Some(dir.path()), spill_from))
                .collect::<Result<_, _>>()
                .expect("test value")
        };
        let held = repeats_across(&runs(usize::MAX)).expect("test value");
        assert!(held.len() > 1_000, "repeats found: {}", held.len());
        assert_eq!(repeats_across(&runs(0)).expect("test value"), held);
        assert_eq!(repeats_across(&runs(1_000)).expect("test value"), held);
    }

    #[test]
    fn seen_records_tell_apart_fingerprints_differing_in_any_kept_bit() {
        let base: u128 = 0x0123_4567_89ab_cdef_0fed_cba9_8765_4321;
        let mut seen = SeenRecords::default();
        seen.insert(base, 1);
        for bit in 32..128 {
            assert_eq!(seen.first_line(base ^ (1u128 << bit)), None, "bit {bit}");
        }
        assert_eq!(seen.first_line(base), Some(1));
    }

    #[test]
    fn shared_and_owned_text_are_the_same_value() {
        // A survey record's values are shared between its items at ingest, owned when read
        // back from the warehouse for the duplicate check: both must give one fingerprint.
        let e = Entity::SurveyResponse;
        let owned = [Value::Str("R-1".into()), Value::Str(String::new())];
        let shared = [Value::Shared("R-1".into()), Value::Shared("".into())];
        assert_eq!(row_fingerprint(e, &owned), row_fingerprint(e, &shared));
        assert_ne!(
            row_fingerprint(e, &[Value::Shared("R-1".into())]),
            row_fingerprint(e, &[Value::Shared("R-2".into())])
        );
    }

    #[test]
    fn null_empty_and_zero_differ() {
        let e = Entity::EdVisit;
        let fps = [
            row_fingerprint(e, &[Value::Null]),
            row_fingerprint(e, &[Value::Str(String::new())]),
            row_fingerprint(e, &[Value::Int(0)]),
            row_fingerprint(e, &[Value::Date(0)]),
            row_fingerprint(e, &[Value::Float(0.0)]),
            row_fingerprint(e, &[Value::Str("a".into()), Value::Str("b".into())]),
            row_fingerprint(e, &[Value::Str("ab".into()), Value::Str(String::new())]),
        ];
        for i in 0..fps.len() {
            for j in 0..i {
                assert_ne!(fps[i], fps[j], "{i} vs {j}");
            }
        }
        assert_ne!(
            row_fingerprint(Entity::EdVisit, &[Value::Int(1)]),
            row_fingerprint(Entity::Admission, &[Value::Int(1)])
        );
    }

    /// The fingerprint as it was defined before it was hashed in one call: value by value.
    fn fed_value_by_value(entity: Entity, values: &[Value]) -> Fingerprint {
        let mut h = SipHasher13::new_with_keys(FINGERPRINT_KEYS.0, FINGERPRINT_KEYS.1);
        h.write(entity.table_name().as_bytes());
        for v in values {
            match v {
                Value::Null => h.write_u8(0),
                Value::Str(_) | Value::Shared(_) => {
                    let s = v.as_str().unwrap_or_default();
                    h.write_u8(1);
                    h.write_usize(s.len());
                    h.write(s.as_bytes());
                }
                Value::Int(n) => {
                    h.write_u8(2);
                    h.write_i32(*n);
                }
                Value::Float(x) => {
                    h.write_u8(3);
                    h.write_u64(x.to_bits());
                }
                Value::Date(d) => {
                    h.write_u8(4);
                    h.write_i32(*d);
                }
                Value::DateTime(t) => {
                    h.write_u8(5);
                    h.write_i64(*t);
                }
            }
        }
        h.finish128().as_u128()
    }

    #[test]
    fn hashing_the_row_at_once_gives_the_value_by_value_fingerprint() {
        let rows: Vec<Vec<Value>> = vec![
            vec![],
            vec![Value::Null],
            vec![
                Value::Str("4b1d0c0ffee".into()),
                Value::Int(-7),
                Value::Date(19_000),
                Value::DateTime(-1_700_000_000_000_000),
                Value::Float(2.5),
                Value::Null,
                Value::Shared("a longer text that spans several eight-byte words".into()),
            ],
            vec![
                Value::Str("é".into()),
                Value::Int(i32::MAX),
                Value::Str(String::new()),
            ],
        ];
        for entity in [Entity::EdVisit, Entity::SurveyResponse] {
            for row in &rows {
                assert_eq!(
                    row_fingerprint(entity, row),
                    fed_value_by_value(entity, row),
                    "{row:?}"
                );
            }
        }
    }
}
