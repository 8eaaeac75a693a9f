//! Warehouse errors, sorted by who must act.

/// What went wrong in the warehouse.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The configured location is wrong (user fixes the pipeline's `warehouse`).
    #[error("warehouse location {location}: {message}")]
    Location {
        /// The location as given.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a Delta table failed (storage, permissions, a concurrent writer).
    #[error("Delta table {table}: {source}")]
    Delta {
        /// The table URL.
        table: String,
        /// The cause.
        #[source]
        source: deltalake::DeltaTableError,
    },
    /// A query over the warehouse failed.
    #[error("query failed: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// Arrow data could not be assembled.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A bug: please report it.
    #[error("internal error (please report): {0}")]
    Internal(String),
}
