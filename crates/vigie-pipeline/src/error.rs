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
    /// Rendering a declared report failed.
    #[error("report: {0}")]
    Report(Box<vigie_report::ReportError>),
    /// A report destination (`outputs.reports[].to`) cannot be used as written.
    #[error("report destination {to}: {message}")]
    Destination {
        /// The destination as written.
        to: String,
        /// What is wrong.
        message: String,
    },
    /// The machine failed: a local directory or file could not be created or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A bug: please report it.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl PipelineError {
    /// Who must act; a wrapped error keeps its own kind.
    pub fn kind(&self) -> vigie_model::ErrorKind {
        use vigie_model::ErrorKind;
        match self {
            PipelineError::Config(c) => c.kind(),
            PipelineError::Key(k) => k.kind(),
            PipelineError::Landing { .. } | PipelineError::Io { .. } => ErrorKind::Environment,
            PipelineError::Warehouse(w) => w.kind(),
            PipelineError::Indicators(i) => i.kind(),
            PipelineError::Report(r) => r.kind(),
            PipelineError::Destination { .. } => ErrorKind::User,
            PipelineError::Internal(_) => ErrorKind::Bug,
        }
    }
}

impl From<vigie_report::ReportError> for PipelineError {
    fn from(e: vigie_report::ReportError) -> Self {
        PipelineError::Report(Box::new(e))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::{ConfigProblem, ErrorKind};

    #[test]
    fn the_kind_survives_the_conversions() {
        let problem = ConfigProblem {
            file: "queries/x.yaml".into(),
            line: Some(2),
            key: "name".into(),
            message: "missing field `en`".into(),
        };
        let catalogue =
            vigie_indicators::IndicatorError::Catalogue(ConfigError::Invalid(vec![problem]));
        assert_eq!(PipelineError::from(catalogue).kind(), ErrorKind::User);
        let busy = vigie_warehouse::WarehouseError::Busy {
            location: "w".into(),
            holder: None,
        };
        let wrapped = vigie_indicators::IndicatorError::from(busy);
        assert_eq!(PipelineError::from(wrapped).kind(), ErrorKind::Environment);
        let report =
            vigie_report::ReportError::from(vigie_indicators::IndicatorError::Internal("x".into()));
        assert_eq!(PipelineError::from(report).kind(), ErrorKind::Bug);
        assert_eq!(
            PipelineError::Key(vigie_model::pseudonym::KeyError::MissingEnv("K".into())).kind(),
            ErrorKind::User
        );
    }
}
