//! The landing zone on object_store: a local directory by default, or a cloud bucket.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};

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

    /// Reads a whole file.
    pub async fn read(&self, file: &LandingFile) -> Result<Bytes, PipelineError> {
        let get = self
            .store
            .get(&file.location)
            .await
            .map_err(|e| PipelineError::Landing {
                location: format!("{}/{}", self.location, file.key),
                message: e.to_string(),
            })?;
        get.bytes().await.map_err(|e| PipelineError::Landing {
            location: format!("{}/{}", self.location, file.key),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
