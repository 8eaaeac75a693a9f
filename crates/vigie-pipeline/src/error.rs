//! Pipeline errors, sorted by who must act.

use vigie_model::ConfigError;

/// Why a pipeline step failed. A single bad file is not an error: it is rejected, recorded
/// in the manifest, and the other files load.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration is wrong (the user fixes the named file, line and key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The pseudonymisation key is missing or unusable.
    #[error(transparent)]
    Key(#[from] vigie_model::pseudonym::KeyError),
    /// The landing zone cannot be listed or read.
    #[error("landing zone {location}: {message}")]
    Landing {
        /// Where.
        location: String,
        /// What failed.
        message: String,
    },
    /// The warehouse failed (boxed: Delta errors are large).
    #[error(transparent)]
    Warehouse(Box<vigie_warehouse::WarehouseError>),
    /// Computing indicators failed.
    #[error(transparent)]
    Indicators(Box<vigie_indicators::IndicatorError>),
    /// A bug: please report it.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl From<vigie_warehouse::WarehouseError> for PipelineError {
    fn from(e: vigie_warehouse::WarehouseError) -> Self {
        PipelineError::Warehouse(Box::new(e))
    }
}

impl From<vigie_indicators::IndicatorError> for PipelineError {
    fn from(e: vigie_indicators::IndicatorError) -> Self {
        match e {
            vigie_indicators::IndicatorError::Catalogue(c) => PipelineError::Config(c),
            other => PipelineError::Indicators(Box::new(other)),
        }
    }
}
