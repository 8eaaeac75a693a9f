//! One pass over a large CSV file, so that it is then read in parts by byte ranges instead
//! of whole.
//!
//! A file read whole is held in memory at once: a national registry (40M records) is
//! 1.45 GB of bytes held while it is parsed. Read by ranges, only the parts being parsed are
//! held (a part is at most about [`MAX_PART_FACTOR`] times the part size). What a parser
//! needs of the whole file before it can start on parts is gathered in one pass over its
//! bytes as they stream in, in blocks ([`Scanner`]):
//! - its content hash (the manifest's: a file whose content was already decided is skipped);
//! - where its parts start (line starts) and at which line, so that line numbers in the
//!   quarantine stay exact;
//! - whether its bytes are CSV text without the faults that reject a file whole before any
//!   record is read (a container or UTF-16, a NUL byte, a second byte-order mark): such a
//!   file is read whole, so that its rejection is reported exactly as always;
//! - a checksum of each part: the parts are read again from the store, and a part whose
//!   bytes differ from those scanned (the file was rewritten in between) stops the load of
//!   the file, which stays pending, instead of loading bytes the content hash does not
//!   describe.

use std::ops::Range;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::hostile::check_csv_bytes;

/// Where the bytes of a file read by ranges come from.
pub trait RangeSource: Sync {
    /// The bytes of `range` (file offsets). `Err` is an environmental failure, said in a
    /// sentence naming the file: the file stays pending.
    fn read_range(&self, range: Range<u64>) -> Result<Bytes, String>;
}

impl RangeSource for Bytes {
    fn read_range(&self, range: Range<u64>) -> Result<Bytes, String> {
        let (start, end) = (range.start as usize, range.end as usize);
        if start > end || end > self.len() {
            return Err(format!(
                "bytes {start}..{end} asked of a file of {} bytes: the file changed while it was read",
                self.len()
            ));
        }
        Ok(self.slice(start..end))
    }
}

/// A part of a file read by ranges is at most about this many times the part size (it ends
/// at a line break): a national registry splits into about forty parts rather than eight of
/// 180 MB each.
pub const MAX_PART_FACTOR: usize = 4;

/// At most this many parts for a file of ordinary size (more only to keep parts small).
const MAX_PARTS: usize = 8;

/// Bytes at the start of a file kept for the container, encoding and header checks.
const HEAD_BYTES: usize = 1 << 20;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A part of a scanned file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScannedPart {
    /// Its bytes, as file offsets (the first part starts at 0, with any byte-order mark).
    pub(crate) range: Range<u64>,
    /// The line of its first byte.
    pub(crate) first_line: u64,
    /// CRC-32 of its bytes.
    pub(crate) crc: u32,
}

/// What one pass over a file found (see the module docs).
#[derive(Debug)]
pub struct Scan {
    /// Bytes in the file.
    pub len: u64,
    /// Hex SHA-256 of the content, when asked for.
    pub sha256: Option<String>,
    /// Length of the leading byte-order mark (0 or 3).
    pub(crate) bom: usize,
    /// The first line (the header, with its line break), when it ends within the head.
    pub(crate) header: Option<Vec<u8>>,
    /// The parts, in file order, covering the whole file.
    pub(crate) parts: Vec<ScannedPart>,
    /// The bytes hold a fault that rejects the file whole: it is read whole.
    pub(crate) read_whole: bool,
}

/// How many parts a file of `len` bytes splits into for parts of `part_bytes`.
fn parts_wanted(len: u64, part_bytes: usize) -> usize {
    let part = part_bytes.max(1) as u64;
    let ordinary = (len / part).clamp(1, MAX_PARTS as u64);
    let bounded = len.div_ceil(part * MAX_PART_FACTOR as u64);
    usize::try_from(ordinary.max(bounded)).unwrap_or(usize::MAX)
}

/// Scans a file fed to it block by block, in order (see the module docs).
pub struct Scanner {
    len: u64,
    /// Offset of the next byte fed.
    pos: u64,
    /// Line breaks before `pos`.
    newlines: u64,
    hasher: Option<Sha256>,
    head: Vec<u8>,
    /// Offset just after the first line break, once seen.
    header_end: Option<u64>,
    /// Offsets from which the next part's start is looked for (the first line break at or
    /// after each), in order; `next_target` indexes the first still looked for.
    targets: Vec<u64>,
    next_target: usize,
    /// Parts closed so far, and where the open one started, with its line.
    parts: Vec<ScannedPart>,
    open: (u64, u64),
    crc: crc32fast::Hasher,
    /// The last two bytes fed, for a byte-order mark split between blocks.
    tail: [u8; 2],
    fault: bool,
}

impl Scanner {
    /// A scanner of a file of `len` bytes, to be read in parts of about `part_bytes`.
    pub fn new(len: u64, part_bytes: usize) -> Self {
        let wanted = parts_wanted(len, part_bytes) as u64;
        let targets = (1..wanted)
            .map(|i| {
                let target = u128::from(len) * u128::from(i) / u128::from(wanted);
                u64::try_from(target).unwrap_or(u64::MAX).max(1) - 1
            })
            .collect();
        Scanner {
            len,
            pos: 0,
            newlines: 0,
            hasher: None,
            head: Vec::new(),
            header_end: None,
            targets,
            next_target: 0,
            parts: Vec::new(),
            open: (0, 1),
            crc: crc32fast::Hasher::new(),
            tail: [0; 2],
            fault: false,
        }
    }

    /// Also computes the content's SHA-256.
    pub fn with_hash(mut self) -> Self {
        self.hasher = Some(Sha256::new());
        self
    }

    /// Takes the next block of the file.
    pub fn feed(&mut self, block: &[u8]) {
        if block.is_empty() {
            return;
        }
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(block);
        }
        self.check(block);
        if self.header_end.is_none()
            && let Some(i) = memchr::memchr(b'\n', block)
        {
            self.header_end = Some(self.pos + i as u64 + 1);
        }
        let mut counted = 0usize;
        let mut crc_from = 0usize;
        let end = self.pos + block.len() as u64;
        while let Some(&target) = self.targets.get(self.next_target) {
            if target >= end {
                break;
            }
            let from = target.saturating_sub(self.pos) as usize;
            let from = from.max(counted);
            let Some(at) = memchr::memchr(b'\n', &block[from..]).map(|i| from + i) else {
                break;
            };
            self.newlines += count_newlines(&block[counted..=at]);
            counted = at + 1;
            let start = self.pos + counted as u64;
            if start < self.len && start > self.open.0 {
                self.crc.update(&block[crc_from..counted]);
                crc_from = counted;
                self.close_part(start, self.newlines + 1);
            }
            while self
                .targets
                .get(self.next_target)
                .is_some_and(|&t| t < start)
            {
                self.next_target += 1;
            }
        }
        self.newlines += count_newlines(&block[counted..]);
        self.crc.update(&block[crc_from..]);
        self.pos = end;
    }

    fn close_part(&mut self, start: u64, line: u64) {
        let crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        let (from, first_line) = self.open;
        self.parts.push(ScannedPart {
            range: from..start,
            first_line,
            crc,
        });
        self.open = (start, line);
    }

    /// The checks of [`check_csv_bytes`], made as the blocks go by: the head whole, then NUL
    /// bytes and byte-order marks past the start.
    fn check(&mut self, block: &[u8]) {
        if self.fault {
            return;
        }
        let head_room = HEAD_BYTES.saturating_sub(self.head.len()).min(block.len());
        if head_room > 0 {
            self.head.extend_from_slice(&block[..head_room]);
            if self.head.len() == HEAD_BYTES {
                self.fault |= check_csv_bytes(&self.head).is_err();
            }
        }
        let beyond = &block[head_room..];
        if !beyond.is_empty() {
            // A mark split across the seam before `beyond`: the two bytes before it, then
            // its first two.
            let before = match head_room {
                0 => self.tail,
                1 => [self.tail[1], block[0]],
                n => [block[n - 2], block[n - 1]],
            };
            let n = beyond.len().min(2);
            let mut seam = [before[0], before[1], 0, 0];
            seam[2..2 + n].copy_from_slice(&beyond[..n]);
            self.fault |= memchr::memchr(0, beyond).is_some()
                || memchr::memmem::find(&seam[..2 + n], BOM).is_some()
                || memchr::memmem::find(beyond, BOM).is_some();
        }
        self.tail = match block.len() {
            1 => [self.tail[1], block[0]],
            n => [block[n - 2], block[n - 1]],
        };
    }

    /// The scan of the whole file. `Err`: the bytes fed were not the file's length (it
    /// changed while it was read).
    pub fn finish(mut self) -> Result<Scan, String> {
        if self.pos != self.len {
            return Err(format!(
                "the file had {} bytes when it was listed and {} when it was read: it is probably still being written, and is read again at the next run",
                self.len, self.pos
            ));
        }
        if self.head.len() < HEAD_BYTES && !self.fault {
            self.fault |= check_csv_bytes(&self.head).is_err();
        }
        let (from, first_line) = self.open;
        let crc = self.crc.finalize();
        self.parts.push(ScannedPart {
            range: from..self.len,
            first_line,
            crc,
        });
        let bom = if self.head.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        let header = self
            .header_end
            .filter(|&end| end <= self.head.len() as u64)
            .map(|end| self.head[bom.min(end as usize)..end as usize].to_vec());
        Ok(Scan {
            len: self.len,
            sha256: self.hasher.map(|h| hex::encode(h.finalize())),
            bom,
            header,
            parts: self.parts,
            read_whole: self.fault,
        })
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Scans bytes already in memory.
pub(crate) fn scan_bytes(data: &[u8], part_bytes: usize) -> Scan {
    let mut scanner = Scanner::new(data.len() as u64, part_bytes);
    scanner.feed(data);
    match scanner.finish() {
        Ok(scan) => scan,
        // Unreachable: the length given is the length fed.
        Err(_) => Scan {
            len: data.len() as u64,
            sha256: None,
            bom: 0,
            header: None,
            parts: Vec::new(),
            read_whole: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan of `data` fed in blocks of `block` bytes.
    fn scan_in_blocks(data: &[u8], part_bytes: usize, block: usize) -> Scan {
        let mut scanner = Scanner::new(data.len() as u64, part_bytes).with_hash();
        for chunk in data.chunks(block) {
            scanner.feed(chunk);
        }
        scanner.finish().expect("whole file fed")
    }

    fn lines(n: usize) -> Vec<u8> {
        let mut data = b"id,name\n".to_vec();
        for i in 0..n {
            data.extend_from_slice(format!("{i},name-{}\n", i * 7919 % 1000).as_bytes());
        }
        data
    }

    /// Independent of the scanner: the line of the byte at `offset` (1-based).
    fn line_at(data: &[u8], offset: u64) -> u64 {
        1 + data[..offset as usize]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
    }

    #[test]
    fn parts_cover_the_file_at_line_starts_whatever_the_blocks() {
        let data = lines(5_000);
        for block in [1, 2, 3, 7, 64, 4096, data.len()] {
            let scan = scan_in_blocks(&data, 1_000, block);
            assert!(
                scan.parts.len() > MAX_PARTS,
                "block {block}: {}",
                scan.parts.len()
            );
            assert_eq!(scan.parts[0].range.start, 0);
            assert_eq!(
                scan.parts.last().map(|p| p.range.end),
                Some(data.len() as u64)
            );
            for pair in scan.parts.windows(2) {
                assert_eq!(pair[0].range.end, pair[1].range.start);
                assert_eq!(data[pair[1].range.start as usize - 1], b'\n');
            }
            for part in &scan.parts {
                let bytes = &data[part.range.start as usize..part.range.end as usize];
                assert_eq!(
                    part.first_line,
                    line_at(&data, part.range.start),
                    "block {block}"
                );
                assert_eq!(part.crc, crc32fast::hash(bytes), "block {block}");
                assert!(bytes.len() <= MAX_PART_FACTOR * 1_000 + 32);
            }
            assert_eq!(
                scan.sha256.as_deref(),
                Some(hex::encode(Sha256::digest(&data)).as_str())
            );
            assert_eq!(scan.header.as_deref(), Some(b"id,name\n".as_slice()));
            assert!(!scan.read_whole);
        }
    }

    #[test]
    fn the_same_parts_whatever_the_blocks() {
        let data = lines(3_000);
        let whole = scan_in_blocks(&data, 1_000, data.len());
        for block in [1, 5, 333, 1_000] {
            assert_eq!(scan_in_blocks(&data, 1_000, block).parts, whole.parts);
        }
    }

    #[test]
    fn the_byte_order_mark_is_skipped_in_the_header_and_kept_in_the_first_part() {
        let mut data = BOM.to_vec();
        data.extend_from_slice(&lines(100));
        let scan = scan_in_blocks(&data, 200, 2);
        assert_eq!(scan.bom, 3);
        assert_eq!(scan.header.as_deref(), Some(b"id,name\n".as_slice()));
        assert_eq!(scan.parts[0].range.start, 0);
        assert!(!scan.read_whole);
    }

    #[test]
    fn faults_that_reject_a_file_whole_are_seen_anywhere_and_across_blocks() {
        let clean = lines(400_000);
        assert!(clean.len() > 2 * HEAD_BYTES);
        let far = clean.len() - 100;
        let mut nul = clean.clone();
        nul[far] = 0;
        let mut second_bom = clean.clone();
        second_bom.splice(far..far, BOM.iter().copied());
        let mut zipped = clean.clone();
        zipped.splice(0..0, b"PK\x03\x04".iter().copied());
        for (name, data) in [("nul", &nul), ("bom", &second_bom), ("zip", &zipped)] {
            assert!(check_csv_bytes(data).is_err(), "{name}");
            for block in [1 << 16, far - 1, far, far + 1, far + 2, data.len()] {
                assert!(
                    scan_in_blocks(data, 1 << 20, block).read_whole,
                    "{name}, block {block}"
                );
            }
        }
        for block in [1 << 16, far + 1, clean.len()] {
            assert!(!scan_in_blocks(&clean, 1 << 20, block).read_whole);
        }
    }

    #[test]
    fn a_file_shorter_or_longer_than_listed_is_not_scanned() {
        let data = lines(10);
        let mut short = Scanner::new(data.len() as u64 + 1, 10);
        short.feed(&data);
        assert!(
            short
                .finish()
                .expect_err("a file shorter than listed")
                .contains("still being written")
        );
        let mut long = Scanner::new(data.len() as u64 - 1, 10);
        long.feed(&data);
        assert!(long.finish().is_err());
    }

    #[test]
    fn a_file_without_line_breaks_is_one_part_without_a_header() {
        let data = vec![b'x'; 10_000];
        let scan = scan_in_blocks(&data, 100, 77);
        assert_eq!(scan.parts.len(), 1);
        assert!(scan.header.is_none());
    }
}
