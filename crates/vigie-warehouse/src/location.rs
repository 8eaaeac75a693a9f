//! Resolving a configured location (path or URL) to a URL.

use std::path::Path;

use url::Url;

use crate::error::WarehouseError;

/// Resolves a path (relative to the working directory) or a `file://`, `s3://`, `gs://`,
/// `az://`/`abfss://` URL to a directory URL ending with `/`. Local directories are created
/// when `create` is set.
pub fn resolve_location(location: &str, create: bool) -> Result<Url, WarehouseError> {
    let err = |message: String| WarehouseError::Location {
        location: location.to_string(),
        message,
    };
    let url = if location.contains("://") {
        Url::parse(location).map_err(|e| err(format!("not a valid URL: {e}")))?
    } else {
        let path = Path::new(location);
        if create {
            std::fs::create_dir_all(path)
                .map_err(|e| err(format!("cannot create the directory: {e}")))?;
        }
        let abs =
            std::path::absolute(path).map_err(|e| err(format!("cannot resolve the path: {e}")))?;
        Url::from_directory_path(&abs).map_err(|_| err("not an absolute directory path".into()))?
    };
    match url.scheme() {
        "file" => {
            if create && let Ok(p) = url.to_file_path() {
                std::fs::create_dir_all(&p)
                    .map_err(|e| err(format!("cannot create the directory: {e}")))?;
            }
        }
        "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "azure" => {}
        other => {
            return Err(err(format!(
                "unsupported scheme \"{other}\": use a path, file://, s3://, gs:// or az://"
            )));
        }
    }
    let mut s = url.to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    Url::parse(&s).map_err(|e| err(e.to_string()))
}
