//! Progress reporting hooks, so the CLI can draw bars without the pipeline knowing how.

/// Receives progress; the default does nothing.
pub trait Progress: Send + Sync {
    /// A step with `total` units starts.
    fn start(&self, _label: &str, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// The step is finished.
    fn finish(&self) {}
}

/// No progress display.
pub struct NoProgress;
impl Progress for NoProgress {}
