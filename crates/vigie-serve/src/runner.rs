//! One run of one pipeline (ingest, then compute), as the scheduler and `vigie run` do it.

use vigie_model::config::LoadedPipeline;
use vigie_pipeline::{
    ComputeOverrides, ComputeReport, IngestOptions, IngestReport, NoProgress, compute, ingest,
};
use vigie_warehouse::FileStatus;

use crate::ServeError;

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The ingest.
    pub ingest: IngestReport,
    /// The compute step.
    pub compute: ComputeReport,
    /// Reports written.
    pub reports: Vec<String>,
}

impl RunOutcome {
    /// (files loaded, files rejected, rows read, rows rejected).
    pub fn counts(&self) -> (i64, i64, i64, i64) {
        let f = &self.ingest.files;
        let with = |status| f.iter().filter(|r| r.status == status).count() as i64;
        (
            with(FileStatus::Loaded),
            with(FileStatus::Rejected),
            f.iter().map(|r| r.rows_read as i64).sum(),
            f.iter().map(|r| r.rows_rejected as i64).sum(),
        )
    }
}

/// Runs a pipeline once: new extracts in, indicators recomputed.
pub async fn run_pipeline(pipeline: &LoadedPipeline) -> Result<RunOutcome, ServeError> {
    let options = IngestOptions::for_pipeline(pipeline, &NoProgress);
    let ingest = ingest(pipeline, &options).await?;
    let compute = compute(pipeline, &ComputeOverrides::default()).await?;
    let reports = vigie_pipeline::write_reports(pipeline, None).await?;
    Ok(RunOutcome {
        ingest,
        compute,
        reports,
    })
}
