//! Derived data a run could rebuild but need not: one Parquet object per name under
//! `cache/<name>/<digest>.parquet`, where the digest covers everything the data were built
//! from (the caller's *identity*: the statements that built it and the versions of the
//! tables they read). Another identity is another object, so a stale entry is never read:
//! it is only left behind, and the next write of the same name deletes it.
//!
//! A cache is an optimisation, never a source of truth: an entry that cannot be read or
//! decoded is reported (warning) and rebuilt, and an entry that cannot be written only
//! costs the next run the same work. The objects are written whole (`put`: a rename on a
//! local disk, one request on an object store), so a reader never sees half of one, and two
//! processes writing the same identity write the same bytes.
//!
//! No table of the warehouse lives here: maintenance, which finds tables by their
//! `_delta_log`, leaves the folder alone, and deleting it loses nothing.
//!
//! On a local disk the entries are read mapped into memory, not copied (`mapped`): sound
//! because nothing changes an entry in place — vigie replaces it by a rename, and no other
//! program is to write in the folder (deleting it, or an entry, is safe at any time).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use crate::Warehouse;
use crate::error::WarehouseError;

/// The folder of the cache inside the warehouse.
pub const CACHE_PREFIX: &str = "cache";

/// Where a cached entry lives: with the published and internal data, or under
/// [`crate::RESTRICTED_PREFIX`] for an entry derived from a restricted table (the person
/// numbering's copy holds the pseudonymous keys' first 128 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheArea {
    /// `<warehouse>/cache/`.
    Open,
    /// `<warehouse>/restricted/cache/`.
    Restricted,
}

/// The key-value metadata entry holding an entry's identity, checked on reading (a digest
/// collision, or an object copied under another name, is then a miss, not wrong data).
const IDENTITY_KEY: &str = "vigie.cache.identity";

/// Where one cached entry lives.
struct Entry {
    store: Arc<dyn ObjectStore>,
    folder: StorePath,
    object: StorePath,
}

impl Warehouse {
    fn cache_entry(
        &self,
        area: CacheArea,
        name: &str,
        identity: &str,
        extension: &str,
    ) -> Result<Entry, WarehouseError> {
        let (store, root) = crate::lock::lease_store(self.root())?;
        let digest = hex::encode(Sha256::digest(identity.as_bytes()));
        let base = match area {
            CacheArea::Open => root.clone(),
            CacheArea::Restricted => root.clone().join(crate::RESTRICTED_PREFIX),
        };
        let folder = base.join(CACHE_PREFIX).join(name);
        let object = folder.clone().join(format!("{digest}.{extension}"));
        Ok(Entry {
            store: Arc::from(store),
            folder,
            object,
        })
    }

    /// The batches cached under `name` for `identity`, if an entry was written for exactly
    /// that identity and reads back whole (a damaged entry is a miss, with a warning).
    pub async fn read_cached(&self, name: &str, identity: &str) -> Option<Vec<RecordBatch>> {
        let (bytes, object) = self
            .read_cached_bytes(CacheArea::Open, name, identity, "parquet")
            .await?;
        match decode(bytes, identity) {
            Ok(Some(batches)) => Some(batches),
            Ok(None) => miss(name, &object, "it was written for other inputs"),
            Err(e) => miss(name, &object, &e),
        }
    }

    /// The bytes of the object cached under `name` for `identity` (with that extension),
    /// and where it lives: for entries in a format of their own, which the caller checks
    /// (and reports with [`cache_miss`] when it cannot use them).
    pub async fn read_cached_bytes(
        &self,
        area: CacheArea,
        name: &str,
        identity: &str,
        extension: &str,
    ) -> Option<(bytes::Bytes, StorePath)> {
        let entry = match self.cache_entry(area, name, identity, extension) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!(cache = name, "cache not usable / cache inutilisable : {e}");
                return None;
            }
        };
        let read = match entry.store.get(&entry.object).await {
            // A local warehouse's file: mapped, not copied (see `mapped`).
            Ok(got) => match &got.payload {
                GetResultPayload::File(file, _) => {
                    crate::mapped::map_whole(file, got.meta.size).map_err(|e| e.to_string())
                }
                GetResultPayload::Stream(_) => got.bytes().await.map_err(|e| e.to_string()),
            },
            Err(object_store::Error::NotFound { .. }) => return None,
            Err(e) => Err(e.to_string()),
        };
        match read {
            Ok(bytes) => Some((bytes, entry.object)),
            Err(e) => miss(name, &entry.object, &e),
        }
    }

    /// Caches the bytes `chunks` yield under `name` for `identity` (with that extension),
    /// written as they come (a multipart upload on an object store, a file renamed into
    /// place on a local disk: readers never see part of it), then deletes the entries of
    /// `name` for other identities.
    pub async fn write_cached_chunks(
        &self,
        area: CacheArea,
        name: &str,
        identity: &str,
        extension: &str,
        chunks: impl Iterator<Item = Vec<u8>>,
    ) -> Result<(), WarehouseError> {
        use tokio::io::AsyncWriteExt;
        let entry = self.cache_entry(area, name, identity, extension)?;
        let err = cache_error(&entry);
        let mut writer =
            object_store::buffered::BufWriter::new(entry.store.clone(), entry.object.clone());
        for chunk in chunks {
            if let Err(e) = writer.write_all(&chunk).await {
                let _ = writer.abort().await;
                return Err(err(e.to_string()));
            }
        }
        writer.shutdown().await.map_err(|e| err(e.to_string()))?;
        delete_stale(&entry).await
    }

    /// Caches `batches` under `name` for `identity`, and deletes the entries of `name` for
    /// other identities (stale once this one exists). Failing costs only a rebuild next
    /// time: the caller may log the error and go on.
    pub async fn write_cached(
        &self,
        name: &str,
        identity: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(), WarehouseError> {
        let entry = self.cache_entry(CacheArea::Open, name, identity, "parquet")?;
        let err = cache_error(&entry);
        let mut props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::ZSTD(Default::default()));
        props = props.set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            IDENTITY_KEY.to_string(),
            identity.to_string(),
        )]));
        let mut buffer = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buffer, schema, Some(props.build()))
            .map_err(|e| err(e.to_string()))?;
        for batch in batches {
            writer.write(batch).map_err(|e| err(e.to_string()))?;
        }
        writer.close().map_err(|e| err(e.to_string()))?;
        entry
            .store
            .put(&entry.object, PutPayload::from(buffer))
            .await
            .map_err(|e| err(e.to_string()))?;
        delete_stale(&entry).await
    }
}

/// The error of a failed write of `entry`.
fn cache_error(entry: &Entry) -> impl Fn(String) -> WarehouseError + use<> {
    let location = entry.object.to_string();
    move |message: String| WarehouseError::Cache {
        location: location.clone(),
        message,
    }
}

/// Deletes the entries of `entry`'s name other than `entry` (stale once it is written).
async fn delete_stale(entry: &Entry) -> Result<(), WarehouseError> {
    let err = cache_error(entry);
    let stale: Vec<StorePath> = entry
        .store
        .list(Some(&entry.folder))
        .map_ok(|meta| meta.location)
        .try_filter(|path| std::future::ready(*path != entry.object))
        .try_collect()
        .await
        .map_err(|e| err(e.to_string()))?;
    for path in stale {
        // Another process may have deleted it first.
        match entry.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(err(format!("deleting the stale entry {path}: {e}"))),
        }
    }
    Ok(())
}

/// Reports a cached entry that cannot be used (it is rebuilt instead).
pub(crate) fn cache_miss(name: &str, object: &StorePath, why: &str) {
    miss::<()>(name, object, why);
}

fn miss<T>(name: &str, object: &StorePath, why: &str) -> Option<T> {
    tracing::warn!(
        cache = name,
        "cached entry {object} not used, rebuilt instead: {why} / entrée de cache {object} \
         non utilisée, recalculée : {why}"
    );
    None
}

/// The batches of a cached object, None when it was written for another identity.
fn decode<R: parquet::file::reader::ChunkReader + 'static>(
    bytes: R,
    identity: &str,
) -> Result<Option<Vec<RecordBatch>>, String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| e.to_string())?;
    let written_for = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|kv| kv.key == IDENTITY_KEY))
        .and_then(|kv| kv.value.as_deref());
    if written_for != Some(identity) {
        return Ok(None);
    }
    let reader = builder.build().map_err(|e| e.to_string())?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
        .map(Some)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringViewArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    use super::CACHE_PREFIX;
    use crate::Warehouse;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("team", DataType::Utf8View, true),
            Field::new("persons", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringViewArray::from(vec![Some("T01"), None])),
                Arc::new(Int64Array::from(vec![7, 3])),
            ],
        )
        .expect("batch")
    }

    fn entries(dir: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(dir.join(CACHE_PREFIX).join("groups"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn an_entry_is_read_back_only_for_its_identity_and_replaces_the_stale_one() {
        let dir = tempfile::tempdir().expect("tmp");
        let wh = Warehouse::open(&dir.path().display().to_string()).expect("warehouse");
        let b = batch();
        assert!(
            wh.read_cached("groups", "v1").await.is_none(),
            "empty cache"
        );
        wh.write_cached("groups", "v1", b.schema(), std::slice::from_ref(&b))
            .await
            .expect("write");
        let got = wh.read_cached("groups", "v1").await.expect("hit");
        assert_eq!(
            got,
            vec![b.clone()],
            "the same rows and types (string views kept)"
        );
        assert!(
            wh.read_cached("groups", "v2").await.is_none(),
            "other inputs"
        );
        assert_eq!(entries(dir.path()).len(), 1);

        wh.write_cached("groups", "v2", b.schema(), &[])
            .await
            .expect("write");
        assert_eq!(entries(dir.path()).len(), 1, "the stale entry deleted");
        assert!(wh.read_cached("groups", "v1").await.is_none());
        let empty = wh.read_cached("groups", "v2").await.expect("hit");
        assert_eq!(empty.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    }

    #[tokio::test]
    async fn a_damaged_or_misplaced_entry_is_a_miss() {
        let dir = tempfile::tempdir().expect("tmp");
        let wh = Warehouse::open(&dir.path().display().to_string()).expect("warehouse");
        let b = batch();
        wh.write_cached("groups", "v1", b.schema(), std::slice::from_ref(&b))
            .await
            .expect("write");
        let folder = dir.path().join(CACHE_PREFIX).join("groups");
        let name = entries(dir.path()).pop().expect("one entry");
        let bytes = std::fs::read(folder.join(&name)).expect("entry");
        // Cut short, as a copy interrupted by a full disk would leave it.
        std::fs::write(folder.join(&name), &bytes[..bytes.len() / 2]).expect("damage");
        assert!(wh.read_cached("groups", "v1").await.is_none(), "damaged");
        // A whole entry for v1 under v2's name (its digest) is not v2's.
        wh.write_cached("groups", "v2", b.schema(), &[])
            .await
            .expect("write");
        let v2 = entries(dir.path()).pop().expect("one entry");
        std::fs::write(folder.join(&v2), &bytes).expect("misplace");
        assert!(wh.read_cached("groups", "v2").await.is_none(), "misplaced");
        assert!(wh.read_cached("groups", "v1").await.is_none());
        // Emptied (a zero-length file maps to no bytes), then a file of text: misses too.
        std::fs::write(folder.join(&v2), b"").expect("empty");
        assert!(wh.read_cached("groups", "v2").await.is_none(), "empty");
        std::fs::write(folder.join(&v2), b"PAR1 not a parquet file PAR1").expect("text");
        assert!(
            wh.read_cached("groups", "v2").await.is_none(),
            "not Parquet"
        );
    }

    /// A local warehouse's entry is read in place: while its bytes are held, the process maps
    /// the entry's file (seen in the kernel's list of the process's mappings), and the bytes
    /// stay those read when the entry is replaced meanwhile.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_local_entry_is_mapped_not_copied() {
        use super::CacheArea;
        let dir = tempfile::tempdir().expect("tmp");
        let wh = Warehouse::open(&dir.path().display().to_string()).expect("warehouse");
        let content: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
        wh.write_cached_chunks(
            CacheArea::Restricted,
            "copy",
            "v1",
            "bin",
            std::iter::once(content.clone()),
        )
        .await
        .expect("write");
        let (bytes, object) = wh
            .read_cached_bytes(CacheArea::Restricted, "copy", "v1", "bin")
            .await
            .expect("hit");
        assert_eq!(bytes.as_ref(), content.as_slice());
        let file_name = object.filename().expect("a file name").to_string();
        let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
        assert!(
            maps.lines().any(|l| l.ends_with(&file_name)),
            "{file_name} not mapped"
        );
        wh.write_cached_chunks(
            CacheArea::Restricted,
            "copy",
            "v1",
            "bin",
            std::iter::once(vec![7u8; 16]),
        )
        .await
        .expect("rewrite");
        assert_eq!(bytes.as_ref(), content.as_slice(), "the bytes first read");
        let (again, _) = wh
            .read_cached_bytes(CacheArea::Restricted, "copy", "v1", "bin")
            .await
            .expect("hit");
        assert_eq!(again.as_ref(), [7u8; 16].as_slice());
    }
}
