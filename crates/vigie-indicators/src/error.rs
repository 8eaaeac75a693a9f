//! Indicator errors, sorted by who must act.

use vigie_model::ConfigError;

/// What went wrong computing indicators.
#[derive(Debug, thiserror::Error)]
pub enum IndicatorError {
    /// The catalogue is wrong: a query or its metadata (the user fixes the named file).
    #[error(transparent)]
    Catalogue(#[from] ConfigError),
    /// A query failed while running over the data.
    #[error("indicator {indicator}: {source}")]
    Query {
        /// The indicator.
        indicator: String,
        /// The cause.
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(#[from] Box<vigie_warehouse::WarehouseError>),
    /// Program evaluation failed.
    #[error("program evaluation: {0}")]
    Evaluation(#[from] vigie_evaluation::EvalError),
    /// The disclosure gate found a leak in an output (a bug: the output is withheld).
    #[error("disclosure check failed, output withheld: {0}")]
    Disclosure(#[from] vigie_disclosure::Leak),
    /// `indicator_results` holds a value this version does not know (written by another
    /// version, or altered by hand): nothing is guessed.
    #[error(
        "indicator_results.{column} holds \"{value}\", which this version of vigie does not know; \
         recompute the indicators (vigie compute) or use the version that wrote them"
    )]
    StoredValue {
        /// The column.
        column: String,
        /// The value found.
        value: String,
    },
    /// A catalogue query's result cannot be used by its method (a missing or mistyped
    /// column, a value out of range): the user fixes the named query.
    #[error("{0}")]
    Output(String),
    /// A bug: please report it.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl IndicatorError {
    /// Who must act; a wrapped error keeps its own kind.
    pub fn kind(&self) -> vigie_model::ErrorKind {
        use vigie_model::ErrorKind;
        match self {
            IndicatorError::Catalogue(c) => c.kind(),
            // A catalogue query failing over the data: the user's query, unless storage failed.
            IndicatorError::Query { source, .. } => {
                vigie_warehouse::datafusion_kind(source, ErrorKind::User)
            }
            IndicatorError::Output(_) => ErrorKind::User,
            // The stored results were written by another version or altered: a recompute
            // (or the right version) fixes them.
            IndicatorError::StoredValue { .. } => ErrorKind::Data,
            IndicatorError::Warehouse(w) => w.kind(),
            IndicatorError::Evaluation(e) => e.kind(),
            IndicatorError::Disclosure(_) | IndicatorError::Internal(_) => ErrorKind::Bug,
        }
    }
}

impl From<vigie_warehouse::WarehouseError> for IndicatorError {
    fn from(e: vigie_warehouse::WarehouseError) -> Self {
        IndicatorError::Warehouse(Box::new(e))
    }
}

impl From<arrow::error::ArrowError> for IndicatorError {
    fn from(e: arrow::error::ArrowError) -> Self {
        IndicatorError::Internal(format!("arrow: {e}"))
    }
}
