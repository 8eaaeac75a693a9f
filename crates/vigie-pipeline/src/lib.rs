//! One pipeline run: ingest new extracts from the landing zone into the warehouse (then,
//! as later steps land, compute indicators and write outputs). `vigie run`, `vigie ingest`
//! and the scheduler all call this crate; none holds pipeline logic of its own.

mod commit;
mod compute;
mod error;
mod guard;
mod ingest;
mod landing;
mod migrate;
mod progress;
mod reports;
mod staging;
mod stored;
#[cfg(test)]
mod test_support;
mod worklist;

pub use compute::{ComputeOverrides, compute};
pub use error::PipelineError;
pub use ingest::{
    DEFAULT_SPILL_ROWS, FileReport, IngestOptions, IngestReport, ingest, outstanding_held,
};
pub use landing::{Landing, LandingFile};
pub use migrate::number_persons;
pub use progress::{NoProgress, Progress};
pub use reports::write_reports;
pub use vigie_indicators::ComputeReport;
pub use worklist::{
    IdentifierSource, WORKLIST_EXPORT_AUDIT, WorklistExport, WorklistExportRequest, export_worklist,
};
