//! Files of the warehouse's cache read in place: mapped into memory, not copied.
//!
//! A weekly load begins by reading the person numbering's copy (300 MB at province scale,
//! see `numbering_copy`). Read into a buffer, every page of that buffer is fresh memory the
//! kernel zeroes on first touch, then the bytes are copied from the page cache: 0.35–0.68 s
//! on the standard machine, about a quarter of a province's weekly load. Mapped (and
//! populated at once), the page cache's pages are the bytes: 0.014 s (docs/benchmarks.md).
//!
//! This is the workspace's one use of `unsafe` (the lint is denied everywhere else).

#![allow(unsafe_code)]

use std::fs::File;
use std::io;

use bytes::Bytes;

/// The whole content of `file`, which the listing said holds `listed_len` bytes.
///
/// # Errors
/// The file cannot be mapped, or its length is not the one listed (it changed in between).
pub(crate) fn map_whole(file: &File, listed_len: u64) -> io::Result<Bytes> {
    if listed_len == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: a mapping is sound while no one changes the file under it. The files mapped
    // here are the warehouse cache's objects, which vigie never changes in place: an entry is
    // written to a staging file and renamed over the old one (object_store's local `put`
    // and multipart upload both do so), and stale entries are unlinked; either way a
    // mapping keeps the file it was made from, whole. Only another program writing into
    // the cache folder in place would break this (the folder is vigie's own, documented as
    // such in `cache`); the callers' checksums and Parquet footers are a second line then,
    // not a guarantee, and a truncation would stop the process (SIGBUS).
    let map = unsafe { memmap2::MmapOptions::new().populate().map(file)? };
    if map.len() as u64 != listed_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} bytes mapped where {listed_len} were listed: the file changed while read",
                map.len()
            ),
        ));
    }
    Ok(Bytes::from_owner(map))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::map_whole;

    #[test]
    fn a_file_is_mapped_whole_and_an_empty_one_is_empty() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("entry.bin");
        let content: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(&path, &content).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let bytes = map_whole(&file, content.len() as u64).expect("map");
        assert_eq!(bytes.as_ref(), content.as_slice());
        // Slices share the mapping (as the numbering's segments do).
        assert_eq!(bytes.slice(4..8).as_ref(), 1u32.to_le_bytes().as_slice());

        let empty = dir.path().join("empty.bin");
        std::fs::write(&empty, b"").expect("write");
        let file = std::fs::File::open(&empty).expect("open");
        assert!(map_whole(&file, 0).expect("map").is_empty());
    }

    #[test]
    fn a_length_other_than_the_listed_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("entry.bin");
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(b"0123456789").expect("write");
        drop(f);
        let file = std::fs::File::open(&path).expect("open");
        let err = map_whole(&file, 20).expect_err("grew or shrank since listed");
        assert!(
            err.to_string().contains("10 bytes mapped where 20"),
            "{err}"
        );
    }

    #[test]
    fn a_mapping_keeps_the_file_it_was_made_from_when_the_entry_is_replaced() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("entry.bin");
        std::fs::write(&path, b"first version").expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let first = map_whole(&file, 13).expect("map");
        // Replaced as the cache replaces an entry (a new file renamed over it), then deleted.
        let staged = dir.path().join("entry.bin#1");
        std::fs::write(&staged, b"SECOND VERSION!").expect("write");
        std::fs::rename(&staged, &path).expect("rename");
        assert_eq!(first.as_ref(), b"first version");
        std::fs::remove_file(&path).expect("delete");
        assert_eq!(first.as_ref(), b"first version");
    }
}
