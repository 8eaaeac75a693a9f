//! Warehouse errors, sorted by who must act.

use vigie_model::ErrorKind;

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
    /// Another vigie process holds the warehouse's writer lock (wait, or check that process).
    #[error("{}", crate::lock::busy_message(location, holder.as_deref()))]
    Busy {
        /// The warehouse.
        location: String,
        /// Who holds it, if it could be read.
        holder: Option<Box<crate::lock::WriterHolder>>,
    },
    /// This process no longer holds the writer lock it took: it must not commit.
    #[error(
        "the writer lock on warehouse {location} was lost: {reason}. Nothing more may be \
         committed by this process: stop it, and run it again once the warehouse is free"
    )]
    LockLost {
        /// The warehouse.
        location: String,
        /// Why.
        reason: String,
    },
    /// The local lock file could not be created, locked or written.
    #[error("writer lock file {path}: {source}")]
    LockFile {
        /// The lock file (or the warehouse directory).
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The lease object on an object store could not be read or written.
    #[error("writer lease on warehouse {location}: {source}")]
    LockStore {
        /// The warehouse.
        location: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// The writer lease cannot work here (a store without conditional writes, a foreign
    /// object in its place, unusable settings).
    #[error("writer lease on warehouse {location}: {message}")]
    Lease {
        /// The warehouse.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The warehouse's tables could not be listed.
    #[error("cannot list the tables of warehouse {location}: {source}")]
    Listing {
        /// The warehouse.
        location: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// A vacuum retention too short for the readers and writers that may still need the
    /// files it would delete.
    #[error(
        "a retention of {hours} hour(s) is shorter than the {minimum_hours} hours that readers \
         and a waiting load may still need: use at least {minimum_hours} hours, or force it \
         when nothing else reads this warehouse / rétention trop courte : au moins \
         {minimum_hours} h, ou la forcer si rien d'autre ne lit l'entrepôt"
    )]
    RetentionTooShort {
        /// The retention asked for, in hours.
        hours: u64,
        /// The shortest accepted without forcing, in hours.
        minimum_hours: u64,
    },
    /// The person numbering stored in the warehouse is unusable (see the message).
    #[error("{0}")]
    PersonNumbers(#[from] vigie_model::PersonNumberError),
    /// A local staging file could not be written (disk full, permissions).
    #[error("staging file {path}: {message}")]
    Staging {
        /// The file or directory.
        path: String,
        /// What failed.
        message: String,
    },
    /// A cache entry could not be written or its stale siblings deleted (only the next
    /// run's time is lost).
    #[error("cache entry {location}: {message}")]
    Cache {
        /// The entry.
        location: String,
        /// What failed.
        message: String,
    },
    /// A bug: please report it.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl WarehouseError {
    /// Whether another process holds the warehouse (the caller may wait and retry).
    pub fn is_busy(&self) -> bool {
        matches!(self, WarehouseError::Busy { .. })
    }

    /// Who must act: the storage and the writer lock are the environment's; a wrong
    /// location or lease setting is the user's.
    pub fn kind(&self) -> ErrorKind {
        match self {
            WarehouseError::Location { .. }
            | WarehouseError::Lease { .. }
            | WarehouseError::RetentionTooShort { .. } => ErrorKind::User,
            WarehouseError::Delta { .. }
            | WarehouseError::Busy { .. }
            | WarehouseError::LockLost { .. }
            | WarehouseError::LockFile { .. }
            | WarehouseError::LockStore { .. }
            | WarehouseError::Listing { .. }
            | WarehouseError::Staging { .. }
            | WarehouseError::Cache { .. } => ErrorKind::Environment,
            WarehouseError::PersonNumbers(_) => ErrorKind::Data,
            WarehouseError::Query(e) => datafusion_kind(e, ErrorKind::Bug),
            WarehouseError::Arrow(_) | WarehouseError::Internal(_) => ErrorKind::Bug,
        }
    }
}

/// The kind of a query failure: reading storage or running out of memory is the
/// environment's; anything else is `otherwise` (a bug for vigie's own queries, the user's
/// for a catalogue query).
pub fn datafusion_kind(e: &datafusion::error::DataFusionError, otherwise: ErrorKind) -> ErrorKind {
    use datafusion::error::DataFusionError as D;
    match e.find_root() {
        D::ObjectStore(_) | D::IoError(_) | D::ResourcesExhausted(_) => ErrorKind::Environment,
        _ => otherwise,
    }
}
