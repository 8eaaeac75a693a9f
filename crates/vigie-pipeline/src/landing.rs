//! The landing zone on object_store: a local directory by default, or a cloud bucket.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt};
use vigie_ingest::scan::{RangeSource, Scan, Scanner};

use crate::error::PipelineError;

/// A landing zone (cheap to clone: the store is shared).
#[derive(Clone)]
pub struct Landing {
    store: Arc<dyn ObjectStore>,
    prefix: StorePath,
    location: String,
}

/// One file in the landing zone.
#[derive(Debug, Clone)]
pub struct LandingFile {
    /// Key relative to the landing root, `/`-separated.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, as the store reports it.
    pub modified: chrono::DateTime<chrono::Utc>,
    location: StorePath,
}

impl Landing {
    /// Opens a landing zone from a local path or a URL (`file://`, `s3://`, `gs://`, `az://`;
    /// cloud schemes need the `cloud` feature and the usual provider environment variables).
    pub fn open(location: &str) -> Result<Self, PipelineError> {
        let err = |message: String| PipelineError::Landing {
            location: location.to_string(),
            message,
        };
        if location.contains("://") {
            let url =
                url::Url::parse(location).map_err(|e| err(format!("not a valid URL: {e}")))?;
            let (store, prefix) = object_store::parse_url(&url).map_err(|e| {
                err(format!(
                    "{e} (cloud landing zones need vigie built with `--features cloud`)"
                ))
            })?;
            Ok(Landing {
                store: Arc::from(store),
                prefix,
                location: location.to_string(),
            })
        } else {
            let path = std::path::Path::new(location);
            if !path.is_dir() {
                return Err(err(
                    "no such directory: create it or fix the pipeline's `landing`".into(),
                ));
            }
            let store = LocalFileSystem::new_with_prefix(path).map_err(|e| err(e.to_string()))?;
            Ok(Landing {
                store: Arc::new(store),
                prefix: StorePath::default(),
                location: location.to_string(),
            })
        }
    }

    /// The location as configured.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Every file, sorted by key.
    pub async fn list(&self) -> Result<Vec<LandingFile>, PipelineError> {
        let prefix = (!self.prefix.as_ref().is_empty()).then_some(&self.prefix);
        let metas: Vec<_> =
            self.store
                .list(prefix)
                .try_collect()
                .await
                .map_err(|e| PipelineError::Landing {
                    location: self.location.clone(),
                    message: e.to_string(),
                })?;
        let strip = self.prefix.as_ref();
        let mut files: Vec<LandingFile> = metas
            .into_iter()
            .map(|m| {
                let full = m.location.as_ref();
                let key = full
                    .strip_prefix(strip)
                    .unwrap_or(full)
                    .trim_start_matches('/')
                    .to_string();
                LandingFile {
                    key,
                    size: m.size,
                    modified: m.last_modified,
                    location: m.location,
                }
            })
            .collect();
        files.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(files)
    }

    /// Reads a whole file. A file whose length is not the one listed is still being
    /// written: an error, the file stays pending (as a scanned one, see [`Self::scan`]); read
    /// as it was, a file growing during the load was loaded as far as it had got, or rejected
    /// whole for the half record it ended with.
    pub async fn read(&self, file: &LandingFile) -> Result<Bytes, PipelineError> {
        let get = self
            .store
            .get(&file.location)
            .await
            .map_err(|e| self.error(file, e.to_string()))?;
        let bytes = get
            .bytes()
            .await
            .map_err(|e| self.error(file, e.to_string()))?;
        if bytes.len() as u64 != file.size {
            return Err(self.error(file, still_written(file.size, bytes.len() as u64)));
        }
        Ok(bytes)
    }

    /// Scans a file as it streams in, without holding it (see [`vigie_ingest::scan`]): its
    /// content hash, where its parts start, whether it must be read whole. A file whose
    /// length is not the one listed is still being written: an error, the file stays pending.
    pub async fn scan(&self, file: &LandingFile, part_bytes: usize) -> Result<Scan, PipelineError> {
        let get = self
            .store
            .get(&file.location)
            .await
            .map_err(|e| self.error(file, e.to_string()))?;
        let mut scanner = Scanner::new(file.size, part_bytes).with_hash();
        let scanner = match get.payload {
            // A local file is read on a blocking thread, in large blocks (the store's stream
            // of a local file goes 8 KiB at a time).
            GetResultPayload::File(mut local, _) => {
                let scanned = tokio::task::spawn_blocking(move || {
                    let mut block = vec![0u8; SCAN_BLOCK];
                    loop {
                        match local.read(&mut block) {
                            Ok(0) => break Ok(scanner),
                            Ok(n) => scanner.feed(&block[..n]),
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e.to_string()),
                        }
                    }
                })
                .await
                .map_err(|e| {
                    self.error(
                        file,
                        format!("the scan crashed (please report this bug): {e}"),
                    )
                })?;
                scanned.map_err(|e| self.error(file, e))?
            }
            GetResultPayload::Stream(mut stream) => {
                while let Some(chunk) = stream
                    .try_next()
                    .await
                    .map_err(|e| self.error(file, e.to_string()))?
                {
                    scanner.feed(&chunk);
                }
                scanner
            }
        };
        scanner.finish().map_err(|e| self.error(file, e))
    }

    /// A file's bytes by ranges, for a parser on a blocking thread (see
    /// [`vigie_ingest::scan::RangeSource`]). Call from within the runtime.
    pub fn ranges(&self, file: &LandingFile) -> LandingRanges {
        LandingRanges {
            store: self.store.clone(),
            location: file.location.clone(),
            label: self.label(file),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Where `file` is, as errors name it.
    fn label(&self, file: &LandingFile) -> String {
        format!("{}/{}", self.location, file.key)
    }

    fn error(&self, file: &LandingFile, message: String) -> PipelineError {
        PipelineError::Landing {
            location: self.label(file),
            message,
        }
    }
}

/// Why a file whose length changed between its listing and its reading is left pending.
fn still_written(listed: u64, read: u64) -> String {
    format!(
        "the file had {listed} bytes when it was listed and {read} when it was read: it is probably still being written, and is read again at the next run / le fichier avait {listed} octets à son inventaire et {read} à sa lecture : il est sans doute encore en cours d'écriture, et sera relu à la prochaine exécution"
    )
}

/// Bytes per block of a local file scanned.
const SCAN_BLOCK: usize = 8 << 20;

/// A landing file's bytes by ranges (see [`Landing::ranges`]).
pub struct LandingRanges {
    store: Arc<dyn ObjectStore>,
    location: StorePath,
    label: String,
    runtime: tokio::runtime::Handle,
}

impl RangeSource for LandingRanges {
    fn read_range(&self, range: std::ops::Range<u64>) -> Result<Bytes, String> {
        // Called from blocking threads (the parser's), never from the runtime's own.
        self.runtime
            .block_on(self.store.get_range(&self.location, range))
            .map_err(|e| format!("landing zone {}: {e}", self.label))
    }
}

#[cfg(test)]
mod tests;
