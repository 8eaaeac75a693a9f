//! Where a pipeline's indicator catalogue comes from: the catalogue built into the binary,
//! a directory, or the built-in one extended by a directory.

use std::fmt;
use std::path::PathBuf;

/// The origin of an indicator catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueSource {
    /// Whether the catalogue built into vigie is the base.
    pub embedded: bool,
    /// A directory of `<id>.yaml` / `<id>.sql` files: its indicators are added, and one with
    /// the id of a built-in indicator replaces it.
    pub directory: Option<PathBuf>,
}

impl CatalogueSource {
    /// The catalogue built into the binary, alone.
    pub fn embedded() -> Self {
        CatalogueSource {
            embedded: true,
            directory: None,
        }
    }

    /// A directory alone (tests, and pipelines with `indicators.embedded: false`).
    pub fn directory(dir: impl Into<PathBuf>) -> Self {
        CatalogueSource {
            embedded: false,
            directory: Some(dir.into()),
        }
    }
}

impl fmt::Display for CatalogueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.directory, self.embedded) {
            (None, _) => f.write_str("the built-in catalogue"),
            (Some(d), true) => write!(f, "the built-in catalogue extended by {}", d.display()),
            (Some(d), false) => write!(f, "{}", d.display()),
        }
    }
}
